"""Stopping a run at a batch boundary when the machine is taken away (SIGTERM) or SLURM warns that the time limit is
near (SIGUSR1); what happens next (requeue, resume from the last epoch end) is :mod:`almlit.runs.preemption`."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

import lightning as L

from almlit.runs.preemption import Preempted, signal_number


class StopOnSignal(L.Callback):
    """Raise :class:`Preempted` at the end of the batch during which one of ``signals`` arrived.

    Args:
        signals: names of the signals to stop on.
    """

    def __init__(self, signals: tuple[str, ...] = ("SIGTERM", "SIGUSR1")) -> None:
        self.signals = tuple(signal_number(name) for name in signals)
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in self.signals:
            self._previous[signum] = signal.signal(signum, self._record)

    def _record(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum

    def _stop_if_signalled(self) -> None:
        if self.received is not None:
            raise Preempted(self.received)

    def on_train_batch_end(self, *args: Any) -> None:
        self._stop_if_signalled()

    def on_validation_batch_end(self, *args: Any) -> None:
        self._stop_if_signalled()

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
