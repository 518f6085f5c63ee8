"""ALMClassifier: a LightningModule that trains any base loss under the ALM constraint (Eq. 5)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from almlit.alm import MultiplierBank, augmented_terms, positive_scores
from almlit.metrics import BinaryRankMetrics

Batch = tuple[Tensor, Tensor, Tensor]


class ALMClassifier(L.LightningModule):
    """Network + base loss ``F(theta)`` + optional constraint solved with the Augmented Lagrangian.

    The ALM state is two buffers, so both live in every checkpoint: ``penalty`` (mu) and
    ``bank.multipliers`` (one lambda per training sample id). The policy that grows mu is a callback
    (:class:`almlit.callbacks.PenaltySchedule`).

    Args:
        network: maps images to raw outputs ``[B, K]`` (K = 1, or 2 for the LDAM head).
        loss: base loss ``F``, called as ``loss(outputs, targets)``.
        optimizer: a partial optimiser taking the parameters (Hydra ``_partial_: true``).
        constraint: ``None`` for the plain baseline, else a module returning per-sample violations.
        num_train_samples: size of the multiplier bank (number of training sample id slots).
        penalty_init: mu^(0).
        multiplier_init: lambda^(0).
        scheduler: optional partial learning-rate scheduler taking the optimiser.
        tpr_levels: TPRs at which FPR is reported.
        false_negatives: k values at which FPR@kFN is reported.
    """

    penalty: Tensor

    def __init__(
        self,
        network: nn.Module,
        loss: nn.Module,
        optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer],
        constraint: nn.Module | None = None,
        num_train_samples: int = 1,
        penalty_init: float = 0.0,
        multiplier_init: float = 0.0,
        scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
        tpr_levels: Sequence[float] = (0.98, 0.95, 0.92, 0.90),
        false_negatives: Sequence[int] = (),
    ) -> None:
        super().__init__()
        if penalty_init < 0:
            raise ValueError(f"alm.penalty_init (mu0) must be >= 0, got {penalty_init}")
        self.save_hyperparameters(ignore=["network", "loss", "constraint", "optimizer", "scheduler"])
        self.network = network
        self.loss = loss
        self.constraint = constraint
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.register_buffer("penalty", torch.tensor(float(penalty_init)))
        self.bank = MultiplierBank(num_train_samples, multiplier_init) if constraint is not None else None
        self.val_metrics = BinaryRankMetrics(tpr_levels, false_negatives)
        self.test_metrics = BinaryRankMetrics(tpr_levels, false_negatives)
        self.test_records: list[Batch] = []

    def forward(self, images: Tensor) -> Tensor:
        return self.network(images)

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        images, targets, sample_ids = batch
        outputs = self(images)
        base_loss = self.loss(outputs, targets)
        loss = base_loss
        if self.constraint is not None:
            violations = self.constraint(outputs, targets)
            penalty_term, multiplier_term = augmented_terms(
                violations.values, self.bank.lookup(sample_ids), self.penalty, violations.num_pairs
            )
            loss = base_loss + penalty_term + multiplier_term
            # lambda_j <- lambda_j + mu * q_j, with q_j from the parameters this batch's loss used.
            self.bank.update_(sample_ids, self.penalty * violations.values.detach())
            self.log_dict(
                {"train/penalty_term": penalty_term, "train/multiplier_term": multiplier_term},
                on_step=False,
                on_epoch=True,
            )
        self.log_dict({"train/loss": loss, "train/base_loss": base_loss}, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        images, targets, _ = batch
        self.val_metrics.update(positive_scores(self(images)), targets)

    def on_validation_epoch_end(self) -> None:
        self._log_rank_metrics("val", self.val_metrics)

    def on_test_epoch_start(self) -> None:
        self.test_records = []

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        images, targets, sample_ids = batch
        scores = positive_scores(self(images))
        self.test_metrics.update(scores, targets)
        self.test_records.append((scores.detach().double().cpu(), targets.cpu(), sample_ids.cpu()))

    def on_test_epoch_end(self) -> None:
        self._log_rank_metrics("test", self.test_metrics)

    def _log_rank_metrics(self, stage: str, metric: BinaryRankMetrics) -> None:
        values = {f"{stage}/{name}": value.float() for name, value in metric.compute().items()}
        self.log(f"{stage}/auc", values.pop(f"{stage}/auc"), prog_bar=True)
        self.log_dict(values)
        metric.reset()

    def test_scores(self) -> tuple[Tensor, Tensor, Tensor]:
        """Scores, labels and sample ids of the last test run, concatenated."""
        scores, targets, sample_ids = zip(*self.test_records, strict=True)
        return torch.cat(scores), torch.cat(targets), torch.cat(sample_ids)

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.network.parameters())
        if self.scheduler_factory is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": self.scheduler_factory(optimizer)}
