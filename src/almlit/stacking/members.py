"""A member of a stacked run: what it owns (network, optimiser, bank, mu schedule, early stopping, best state), built
exactly as ``almlit.train`` builds a run trained alone."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from omegaconf import DictConfig
from torch import Tensor

from almlit.callbacks import PenaltySchedule
from almlit.config import check_seed
from almlit.data.base import ImageDataModule
from almlit.data.fingerprint import data_fingerprint
from almlit.data.samplers import EpochSampler
from almlit.data.transforms import BatchAugment
from almlit.module import ALMClassifier, build_module


@dataclass
class BestState:
    """The member's best epoch so far by its own monitored metric, and the file that holds it."""

    epoch: int
    score: float  # as logged (float32), what the choice was made on
    path: str | None = None  # its checkpoint file, once written (almlit.stacking.checkpoints.write_epoch_end)


@dataclass
class StackMember:
    """Everything one member of a stack owns.

    Attributes:
        config: the member's resolved training config (``config.yaml`` of its run folder).
        run_dir: its run folder.
        module: its network, loss, constraint, multiplier bank and mu.
        optimizer: its own optimiser (its own momentum and weight decay).
        scheduler: its learning-rate schedule, stepped once per epoch, or ``None``.
        schedule: its mu schedule (``alm.schedule``), or ``None``.
        early_stopping: its early stopping (Lightning's callback, asked once per epoch).
        checkpoint: its best-checkpoint callback (the file name, the mode and the state of the best so far).
        last_checkpoint: its ``last_checkpoint`` callback (``checkpoints/last.ckpt``), or ``None`` when not configured.
        augment: its augmentation and normalisation.
        sampler: its training order, drawn from ``(seed, epoch)``.
        train_ids, train_labels, val_ids, val_labels: its splits as sample ids into the stack's shared images.
        fingerprint: the data fingerprint ``data_fingerprint.json`` records.
    """

    config: DictConfig
    run_dir: Path
    module: ALMClassifier
    optimizer: torch.optim.Optimizer
    scheduler: Any
    schedule: PenaltySchedule | None
    early_stopping: EarlyStopping
    checkpoint: ModelCheckpoint
    augment: BatchAugment
    sampler: EpochSampler
    train_ids: Tensor
    train_labels: Tensor
    val_ids: Tensor
    val_labels: Tensor
    fingerprint: Any
    last_checkpoint: ModelCheckpoint | None = None
    best: BestState | None = None
    stopped: bool = False
    failure: str | None = None  # the line its NaN or inf loss stopped it with
    epochs_trained: int = 0
    global_step: int = 0
    train_seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def seed(self) -> int:
        return int(self.config.data.seed)

    @property
    def monitor(self) -> str:
        return str(self.config.monitor)

    @property
    def max_epochs(self) -> int:
        """Its own ``trainer.max_epochs`` (members of a stack may differ in it)."""
        return int(self.config.trainer.max_epochs)

    def trains_in(self, epoch: int) -> bool:
        """Whether the member trains epoch ``epoch`` (0-based): not stopped or failed, at that epoch (a resumed member
        joins at its next one), within its ``max_epochs``."""
        return not self.stopped and self.failure is None and self.epochs_trained == epoch < self.max_epochs

    def keep_best(self, epoch: int, score: float) -> None:
        """Remember this epoch as the best (its checkpoint is written at the epoch's end)."""
        self.best = BestState(epoch, score)


def build_member(config: DictConfig, run_dir: Path) -> tuple[StackMember, ImageDataModule]:
    """Build a member as ``almlit.train.run`` builds a run: seed everything, set up the data, build the module (the
    same draws from the same seed give the same initial network), then its optimiser and callbacks.

    Returns:
        The member and its set-up data module (whose images the stack copies once into its shared tensor).

    Raises:
        ValueError: if the data is not an image data module (the stack indexes its images by sample id).
    """
    check_seed(config.seed)
    L.seed_everything(config.seed, workers=True, verbose=False)
    datamodule = instantiate(config.data)
    if not isinstance(datamodule, ImageDataModule):
        raise ValueError(f"stacked members need image data (data=digits, cifar10, ...), got {config.data._target_}")
    datamodule.prepare_data()
    datamodule.setup("fit")
    fingerprint = data_fingerprint(datamodule)
    module = build_module(config, datamodule)
    module.configure_model()
    optimizers: Any = module.configure_optimizers()
    optimizer, scheduler = (
        (optimizers["optimizer"], optimizers["lr_scheduler"]) if isinstance(optimizers, dict) else (optimizers, None)
    )
    callbacks = config.callbacks
    train = datamodule.train_dataset
    member = StackMember(
        config=config,
        run_dir=run_dir,
        module=module,
        optimizer=optimizer,
        scheduler=scheduler,
        schedule=None if config.alm.schedule is None else instantiate(config.alm.schedule),
        early_stopping=instantiate(callbacks.early_stopping)
        if callbacks.get("early_stopping") is not None  # callbacks.early_stopping=null: a patience never reached
        else EarlyStopping(
            config.monitor, patience=config.trainer.max_epochs + 1, mode=callbacks.model_checkpoint.mode
        ),
        checkpoint=instantiate(callbacks.model_checkpoint),
        last_checkpoint=None if callbacks.get("last_checkpoint") is None else instantiate(callbacks.last_checkpoint),
        augment=copy.deepcopy(datamodule.augment),
        sampler=datamodule.training_sampler(train.labels),
        train_ids=train.sample_ids,
        train_labels=train.labels,
        val_ids=datamodule.val_dataset.sample_ids,
        val_labels=datamodule.val_dataset.labels,
        fingerprint=fingerprint,
    )
    return member, datamodule
