"""A test-only callback that signals its own process at a chosen global step, once: a kill or a preemption."""

import os
import signal
from pathlib import Path

import lightning as L


class SignalAtStep(L.Callback):
    """Send the signal ``name`` to this process after training step ``step``, unless ``marker`` exists.

    The marker is created first, so the same command run again trains through: the restart must resume, not be
    killed again.
    """

    def __init__(self, step: int, name: str, marker: str) -> None:
        self.step = step
        self.signum = getattr(signal, name)
        self.marker = Path(marker)

    def on_train_batch_end(self, trainer: L.Trainer, *args) -> None:
        if trainer.global_step == self.step and not self.marker.exists():
            self.marker.touch()
            os.kill(os.getpid(), self.signum)
