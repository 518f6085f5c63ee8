"""A resumed run stops where the uninterrupted one stopped (how a run resumes: :mod:`almlit.runs.resume`)."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping


class KeepEarlyStop(L.Callback):
    """A run resumed from the checkpoint of the epoch where early stopping fired stops again at once.

    ``Trainer.should_stop`` is not in the checkpoint, only the :class:`EarlyStopping` state; without this a run killed
    between that checkpoint and its ``COMPLETE`` marker would train one epoch more than the uninterrupted run.
    """

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Lightning sets Trainer.callbacks (in its callback connector) without declaring the attribute
        for callback in trainer.callbacks:  # type: ignore[attr-defined]
            stopped = isinstance(callback, EarlyStopping) and callback.wait_count >= callback.patience
            if stopped and callback.stopped_epoch == trainer.current_epoch - 1:
                trainer.should_stop = True
