"""PESGStages: the stage-wise schedule of PESG (Yuan et al., ICCV 2021), as a Lightning callback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import lightning as L

from almlit.optim.pesg import PESG


class PESGStages(L.Callback):
    """At the start of each milestone epoch, start a new PESG stage: ``optimizer.update_regularizer(decay_factor)``.

    The reference point of the proximal term becomes the current weights and the learning rate is divided by
    ``decay_factor`` (LibAUC's examples: x 1/10 at 50% and 75% of training). With a learning-rate scheduler, which
    owns the learning rate, ``decay_factor`` must be 1.

    Args:
        milestones: 0-based epochs at which a stage starts.
        decay_factor: >= 1, divides the learning rate at each milestone.
    """

    def __init__(self, milestones: Sequence[int] = (), decay_factor: float = 10.0) -> None:
        if not all(isinstance(epoch, int) and epoch > 0 for epoch in milestones):
            raise ValueError(f"milestones must be positive epoch numbers, got {list(milestones)}")
        if not decay_factor >= 1:
            raise ValueError(f"decay_factor must be >= 1, got {decay_factor}")
        self.milestones = sorted(set(milestones))
        self.decay_factor = decay_factor

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        optimizer = trainer.optimizers[0] if trainer.optimizers else None
        if self.milestones and not isinstance(optimizer, PESG):
            raise ValueError(f"PESG stages need optim=pesg, got the optimiser {type(optimizer).__name__}")
        if self.milestones and self.decay_factor != 1 and trainer.lr_scheduler_configs:
            raise ValueError(
                f"PESG stages divide the learning rate by {self.decay_factor}, but a scheduler sets it too; "
                "set callbacks.pesg_stages.decay_factor=1 or scheduler=null"
            )

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch in self.milestones:
            cast(PESG, trainer.optimizers[0]).update_regularizer(self.decay_factor)  # on_train_start checked it
