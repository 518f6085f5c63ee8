"""Deferred re-weighting (DRW, Cao et al. 2019): class-balanced loss weights from a chosen epoch on."""

from __future__ import annotations

from numbers import Integral

import lightning as L
import torch
from torch import Tensor

from almlit.losses import ClassCounts
from almlit.losses.class_weights import class_balanced_weights


class DeferredReweighting(L.Callback):
    """Sets the base loss's per-class ``weight`` to 1 before ``start_epoch`` and to class-balanced weights from it on.

    The class-balanced weights are (1 - beta) / (1 - beta^n_c) rescaled to sum to C (Cui et al. 2019), from the
    training class counts of ``trainer.datamodule``. LDAM-DRW is LDAM with this callback; it also serves CE and FL.
    The choice depends on the epoch number alone and is made at the start of every training epoch, so a resumed
    run uses the same weights as an uninterrupted one, and the callback has no state to checkpoint.

    Args:
        start_epoch: first epoch (0-based, as ``trainer.current_epoch``) trained with the class-balanced weights;
            Cao et al. use 160 of 200.
        beta: 0 <= beta < 1; Cao et al. use 0.9999.
    """

    def __init__(self, start_epoch: int = 160, beta: float = 0.9999) -> None:
        if not isinstance(start_epoch, Integral) or isinstance(start_epoch, bool) or start_epoch < 0:
            raise ValueError(f"callbacks.deferred_reweighting.start_epoch must be an int >= 0, got {start_epoch!r}")
        if not 0 <= beta < 1:
            raise ValueError(f"callbacks.deferred_reweighting.beta must satisfy 0 <= beta < 1, got {beta}")
        self.start_epoch: int = int(start_epoch)
        self.beta: float = float(beta)

    def weights(self, class_counts: ClassCounts, epoch: int) -> Tensor:
        """The per-class weights [C] for the 0-based ``epoch``."""
        if epoch < self.start_epoch:
            return torch.ones(len(class_counts))
        return class_balanced_weights(class_counts, self.beta, normalise=True)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loss = pl_module.loss
        if not hasattr(loss, "weight"):
            raise TypeError(
                "callbacks.deferred_reweighting needs a base loss with per-class weights (loss=ce|focal|ldam), "
                f"got {type(loss).__name__}"
            )
        datamodule = getattr(trainer, "datamodule", None)
        if datamodule is None:
            raise ValueError("callbacks.deferred_reweighting needs a data module that exposes class_counts")
        loss.weight = self.weights(datamodule.class_counts, trainer.current_epoch).to(pl_module.device)
