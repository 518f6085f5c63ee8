"""A resumed run stops where the uninterrupted one stopped (how a run resumes: :mod:`almlit.runs.resume`)."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping


def early_stopping_fired(callback: EarlyStopping, epochs_done: int) -> bool:
    """Whether ``callback``'s restored state says it stopped the run at the end of its epoch ``epochs_done`` (the
    epoch the checkpoint ends), so a run resumed from that checkpoint must not train on."""
    return callback.wait_count >= callback.patience and callback.stopped_epoch == epochs_done - 1


class KeepEarlyStop(L.Callback):
    """A run resumed from the checkpoint of the epoch where early stopping fired stops again at once.

    ``Trainer.should_stop`` is not in the checkpoint, only the :class:`EarlyStopping` state; without this a run killed
    between that checkpoint and its ``COMPLETE`` marker would train one epoch more than the uninterrupted run.
    """

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Lightning sets Trainer.callbacks (in its callback connector) without declaring the attribute
        for callback in trainer.callbacks:  # type: ignore[attr-defined]
            if isinstance(callback, EarlyStopping) and early_stopping_fired(callback, trainer.current_epoch):
                trainer.should_stop = True
