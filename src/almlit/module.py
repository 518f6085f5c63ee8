"""ALMClassifier: a LightningModule that trains any base loss under the ALM constraint (Eq. 5), and
:func:`build_module`, which builds it from a composed run config."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, cast

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import Tensor, nn

from almlit.alm import MultiplierBank, augmented_terms, positive_negative_pairs, positive_scores
from almlit.alm.coverage import PairCoverage, pairwise_objectives
from almlit.alm.distributed import gather_batch, world_size
from almlit.data.loaders import TensorDataModule
from almlit.metrics import BinaryRankMetrics, CriticalClassMetrics
from almlit.models.output_check import check_num_classes, check_output_shape, check_task, first_batch
from almlit.optim import build_optimizer

Batch = tuple[Tensor, Tensor, Tensor]


def channels_last_format(dims: int) -> torch.memory_format:
    """The channels-last layout of a batch with ``dims`` dimensions (4: images, 5: volumes)."""
    return torch.channels_last_3d if dims == 5 else torch.channels_last


class ALMClassifier(L.LightningModule):
    """Network + base loss ``F(theta)`` + optional constraint solved with the Augmented Lagrangian.

    The ALM state is two buffers, so both live in every checkpoint: ``penalty`` (mu) and
    ``bank.multipliers`` (one lambda per training sample id). The rule that grows mu, with its cap from
    ``penalty_init`` (mu0), is :class:`almlit.alm.penalty.PenaltyGrowth`, run by the callback
    :class:`almlit.callbacks.PenaltySchedule`. When a term of the objective needs positive-negative pairs (the
    constraint, a pairwise loss), ``pair_coverage`` counts the training batches that held one and the pairs that
    violated the margin (:class:`almlit.callbacks.PairCoverageReport` logs them once per epoch).

    Args:
        network: maps images to raw outputs ``[B, K]`` (K = 1, or 2 for the LDAM head).
        loss: base loss ``F``, called as ``loss(outputs, targets)``.
        optimizer: a partial optimiser (Hydra ``_partial_: true``) taking the parameter groups of the network and
            the loss (:func:`almlit.optim.parameter_groups`).
        constraint: ``None`` for the plain baseline, else a module returning per-sample violations.
        num_train_samples: size of the multiplier bank (number of training sample id slots).
        penalty_init: mu^(0).
        multiplier_init: lambda^(0).
        scheduler: optional partial learning-rate scheduler taking the optimiser.
        num_classes: 2 for binary data (one score per sample), else C (the network's C outputs are the scores).
        critical_classes: the critical classes (binary: the positive class 1).
        tpr_levels: binary: TPRs at which FPR is reported; multi-class: critical-class TPRs at which the error
            on non-critical classes is reported (the paper's Table 4).
        false_negatives: k values at which FPR@kFN is reported (binary).
        pauc_max_fpr: FPR bounds beta of the McClish-standardised partial AUC ``pauc@{100 beta}fpr`` (binary).
        tpauc: ``(alpha, beta)`` pairs of the two-way partial AUC ``tpauc@{100 alpha}tpr{100 beta}fpr`` (binary).
        channels_last: run the network in channels-last memory format (faster convolutions on GPUs and oneDNN).
        compile: compile the network with ``torch.compile``.
        input_dims: dimensions of an input batch: 4 for images ``[B, C, H, W]``, 5 for volumes ``[B, C, D, H, W]``.
    """

    penalty: Tensor

    def __init__(
        self,
        network: nn.Module,
        loss: nn.Module,
        optimizer: Callable[[list[dict[str, Any]]], torch.optim.Optimizer],
        constraint: nn.Module | None = None,
        num_train_samples: int = 1,
        penalty_init: float = 0.0,
        multiplier_init: float = 0.0,
        scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
        num_classes: int = 2,
        critical_classes: Sequence[int] = (1,),
        tpr_levels: Sequence[float] = (0.98, 0.95, 0.92, 0.90),
        false_negatives: Sequence[int] = (),
        pauc_max_fpr: Sequence[float] = (),
        tpauc: Sequence[Sequence[float]] = (),
        channels_last: bool = False,
        compile: bool = False,
        input_dims: int = 4,
    ) -> None:
        super().__init__()
        if not 0 <= penalty_init < float("inf"):
            raise ValueError(f"alm.penalty_init (mu0) must be finite and >= 0, got {penalty_init}")
        if not 0 <= multiplier_init < float("inf"):  # multipliers of inequality constraints are >= 0 (KKT)
            raise ValueError(f"alm.multiplier_init (lambda0) must be finite and >= 0, got {multiplier_init}")
        if constraint is not None and penalty_init == 0 and multiplier_init == 0:
            raise ValueError(
                "alm.penalty_init (mu0) = 0 with alm.multiplier_init (lambda0) = 0 keeps the constraint out of the "
                "loss all run (mu stays 0 when grown by rho, lambda grows by mu * q); use alm.penalty_init > 0 "
                "(paper grid 1e-7 .. 1e-3) or alm=none"
            )
        self.save_hyperparameters(ignore=["network", "loss", "constraint", "optimizer", "scheduler"])
        self.network = network
        self.loss = loss
        self.constraint = constraint
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.penalty_init = float(penalty_init)  # mu0, from which mu's cap is derived (almlit.alm.penalty)
        self.register_buffer("penalty", torch.tensor(self.penalty_init))
        self.bank = MultiplierBank(num_train_samples, multiplier_init) if constraint is not None else None
        self.pairwise_objectives = pairwise_objectives(loss, constraint)
        self.pair_coverage = PairCoverage(violations=constraint is not None) if self.pairwise_objectives else None
        self.val_metrics = self._make_metrics()
        self.test_metrics = self._make_metrics()
        self.test_records: list[Batch] = []
        self.predict_records: list[Batch] = []
        self.computed: dict[str, dict[str, float]] = {}  # stage -> the last epoch's metrics in float64
        self._compiled = False

    def forward(self, images: Tensor) -> Tensor:
        if self.hparams["channels_last"]:
            images = images.contiguous(memory_format=channels_last_format(images.dim()))
        return self.network(images)

    def configure_model(self) -> None:
        """Apply the speed options once the module is on its device."""
        if self.hparams["channels_last"]:
            self.network.to(memory_format=channels_last_format(self.hparams["input_dims"]))
        if self.hparams["compile"] and not self._compiled:
            self.network.compile()
            self._compiled = True

    @property
    def is_binary(self) -> bool:
        return self.hparams["num_classes"] == 2

    def _make_metrics(self) -> BinaryRankMetrics | CriticalClassMetrics:
        hparams = self.hparams
        if self.is_binary:
            return BinaryRankMetrics(
                hparams["tpr_levels"], hparams["false_negatives"], hparams["pauc_max_fpr"], hparams["tpauc"]
            )
        return CriticalClassMetrics(hparams["num_classes"], hparams["critical_classes"], hparams["tpr_levels"])

    def evaluation_scores(self, images: Tensor) -> Tensor:
        """Scores for the metrics, computed outside autocast so low precision cannot create ties.

        Binary: the critical-class score per sample ``[B]``; multi-class: all outputs ``[B, C]``.
        """
        with torch.autocast(self.device.type, enabled=False):
            outputs = self(images)
        return (positive_scores(outputs) if self.is_binary else outputs).double()

    def training_loss(self, batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        """Eq. 5 on one batch, then ``lambda_j <- lambda_j + mu * q_j`` for the batch's samples.

        The multipliers used in the loss are read before the update, and ``q_j`` comes from the same
        forward pass, i.e. from the parameters that this batch's loss uses (Algorithm 1). No value is
        read back to the host, so the step never waits for the device.

        In a distributed run the outputs, targets and sample ids of every process are gathered first
        (:func:`almlit.alm.distributed.gather_batch`): the pairwise constraint and loss see the global batch,
        every process applies the same multiplier update for all of its ids, and the gradient equals the
        single-process one. With one process nothing is gathered. The batch's pairs (and, with a constraint, its
        pairs that violate the margin) are added to ``pair_coverage`` on the device.

        Returns:
            The loss to minimise and its named terms (for logging).
        """
        images, targets, sample_ids = batch
        return self.objective(*gather_batch(self(images), targets, sample_ids))

    def objective(self, outputs: Tensor, targets: Tensor, sample_ids: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Eq. 5 on the network's outputs ``[B, K]`` for a batch, and the multiplier update, as in
        :meth:`training_loss` (which computes the outputs; a stacked run computes them for all of its members at once,
        :mod:`almlit.stacking`).

        Returns:
            The loss to minimise and its named terms (for logging).
        """
        base_loss = self.loss(outputs, targets)
        if self.constraint is None:
            if self.pair_coverage is not None:  # a pairwise loss on binary data: its positives are the 1s
                self.pair_coverage.update(positive_negative_pairs(targets.reshape(-1) == 1))
            return base_loss, {"base_loss": base_loss}
        violations = self.constraint(outputs, targets)
        assert self.bank is not None and self.pair_coverage is not None  # both exist whenever a constraint does
        self.pair_coverage.update(violations.num_pairs, violations.violated_pairs)
        penalty_term, multiplier_term = augmented_terms(
            violations.values, self.bank.lookup(sample_ids), self.penalty, violations.num_pairs
        )
        self.bank.update_(sample_ids, self.penalty * violations.values.detach())
        loss = base_loss + penalty_term + multiplier_term
        return loss, {"base_loss": base_loss, "penalty_term": penalty_term, "multiplier_term": multiplier_term}

    def training_step(self, batch: Batch, batch_idx: int) -> dict[str, Tensor]:
        """The loss to minimise, and its terms detached for callbacks (``NonFiniteLossCheck`` watches them)."""
        loss, terms = self.training_loss(batch)
        logged = {f"train/{name}": value for name, value in {"loss": loss, **terms}.items()}
        self.log_dict(logged, on_step=False, on_epoch=True)  # epoch means: no per-step host sync
        return {"loss": loss, **{name: value.detach() for name, value in terms.items()}}

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        images, targets, _ = batch
        self.val_metrics.update(self.evaluation_scores(images), targets)

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val", self.val_metrics)

    def on_test_epoch_start(self) -> None:
        self.test_records = []

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        images, targets, sample_ids = batch
        scores = self.evaluation_scores(images)
        self.test_metrics.update(scores, targets)
        self.test_records.append((scores.cpu(), targets.cpu(), sample_ids.cpu()))

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test", self.test_metrics)
        self.test_records = self._gathered(self.test_records)

    def on_predict_epoch_start(self) -> None:
        self.predict_records = []

    def predict_step(self, batch: Batch, batch_idx: int) -> Batch:
        """Score a batch of the predict loader (a run's calibration split: operating points are chosen on it).

        Returns:
            ``(scores, targets, sample_ids)`` on the CPU, also kept in ``predict_records``.
        """
        images, targets, sample_ids = batch
        record = (self.evaluation_scores(images).cpu(), targets.cpu(), sample_ids.cpu())
        self.predict_records.append(record)
        return record

    def on_predict_epoch_end(self) -> None:
        self.predict_records = self._gathered(self.predict_records)

    def _gathered(self, records: list[Batch]) -> list[Batch]:
        """Each process scored one block of the loader: keep all of it, in dataset order."""
        if world_size() == 1 or not records:
            return records
        gathered = gather_batch(*(part.to(self.device) for part in _concatenated(records)))
        return [cast("Batch", tuple(part.cpu() for part in gathered))]  # the 3 parts of a record

    def _log_metrics(self, stage: str, metric: BinaryRankMetrics | CriticalClassMetrics) -> None:
        """Log the stage's metrics (Lightning keeps float32) and keep their float64 values in :attr:`computed`."""
        computed = metric.compute()
        self.computed[stage] = {name: value.item() for name, value in computed.items()}
        values = {f"{stage}/{name}": value.float() for name, value in computed.items()}
        headline = f"{stage}/auc" if self.is_binary else f"{stage}/accuracy"
        self.log(headline, values.pop(headline), prog_bar=True)
        self.log_dict(values)
        metric.reset()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["val_metrics"] = self.computed.get("val", {})  # the float64 values behind the monitored one

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.computed["val"] = checkpoint.get("val_metrics", {})

    def test_scores(self) -> tuple[Tensor, Tensor, Tensor]:
        """Scores, labels and sample ids of the last test run, concatenated."""
        return _concatenated(self.test_records)

    def predicted_scores(self) -> tuple[Tensor, Tensor, Tensor]:
        """Scores, labels and sample ids of the last ``trainer.predict`` run, concatenated."""
        return _concatenated(self.predict_records)

    def configure_optimizers(self) -> Any:
        optimizer = build_optimizer(self.optimizer_factory, self.network, self.loss)  # the loss's own variables too
        if self.scheduler_factory is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": self.scheduler_factory(optimizer)}


def _concatenated(records: list[Batch]) -> tuple[Tensor, Tensor, Tensor]:
    """One ``(scores, targets, sample_ids)`` from a list of batches."""
    scores, targets, sample_ids = zip(*records, strict=True)
    return torch.cat(scores), torch.cat(targets), torch.cat(sample_ids)


def instantiate_with_data(config: DictConfig | None, **data_facts: Any) -> Any:
    """Instantiate a node; a ``_partial_`` node receives what only the set-up data knows (``data_facts``)."""
    built = instantiate(config)
    return built(**data_facts) if isinstance(built, functools.partial) else built


def build_module(cfg: DictConfig, datamodule: TensorDataModule) -> ALMClassifier:
    """The ALM module of a composed run config on set-up data: constraint, network (its output shape checked on a
    first batch), loss and optimiser from their nodes, the bank sized to the training set (``almlit.train``, the
    benchmarks).

    Raises:
        ValueError: a constraint that does not fit the data's classes, task settings that do not fit the data and
            loss (:func:`~almlit.models.output_check.check_task`), or a network whose outputs do not match
            ``num_outputs``.
    """
    constraint = instantiate_with_data(cfg.alm.constraint, critical_classes=tuple(datamodule.critical_classes))
    network = instantiate(cfg.model)  # before the loss, as ever: a seeded run draws the same initial weights
    loss = instantiate_with_data(cfg.loss, class_counts=datamodule.class_counts)
    normed_head = bool(cfg.model.get("normed_head", False))
    # data=cifar10_lt without its experiment is told to add it, before alm=binary is found unfit; alm=m1 on binary
    # data is told so before the outputs its loss would need
    check_num_classes(cfg.num_classes, datamodule.num_classes)
    if constraint is not None:
        constraint.check_compatible(datamodule.num_classes)
    check_task(cfg.num_classes, cfg.num_outputs, datamodule.num_classes, loss, normed_head)
    check_output_shape(network, first_batch(datamodule), cfg.num_outputs)
    return ALMClassifier(
        network=network,
        loss=loss,
        optimizer=instantiate(cfg.optim),
        constraint=constraint,
        num_train_samples=datamodule.num_train_samples,
        penalty_init=cfg.alm.penalty_init,
        multiplier_init=cfg.alm.multiplier_init,
        scheduler=instantiate(cfg.scheduler),
        num_classes=datamodule.num_classes,
        critical_classes=tuple(datamodule.critical_classes),
        tpr_levels=tuple(cfg.metrics.tpr_levels),
        false_negatives=tuple(cfg.metrics.false_negatives),
        pauc_max_fpr=tuple(cfg.metrics.pauc_max_fpr),
        tpauc=tuple(tuple(bounds) for bounds in cfg.metrics.tpauc),
        channels_last=cfg.module.channels_last,
        compile=cfg.module.compile,
        input_dims=1 + len(datamodule.input_shape),
    )
