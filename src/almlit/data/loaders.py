"""The shell every almlit DataModule shares: tensor datasets on the training device, epoch-seeded loaders.

Subclasses provide ``train_dataset``, ``val_dataset``, ``test_dataset`` and, after ``setup_inference()``, the data
that ``python -m almlit.predict`` scores, ``inference_dataset`` (:class:`TensorImageDataset`),
``critical_classes`` and their batch transform; this class serves them: the whole dataset is moved once to the
Trainer's device, a batch is one indexing operation per tensor (no worker processes), the training order (the
``sampler`` group, :mod:`almlit.data.samplers`) and the augmentation are drawn from ``(seed, epoch)`` so that a run
resumed at an epoch boundary replays exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader

from almlit.data.distributed import RankBlockSampler, process_rank, rank_shard
from almlit.data.epoch_seeding import AUGMENT_STREAM, epoch_generator
from almlit.data.indexed import TensorImageDataset, collate_batch
from almlit.data.samplers import EpochSampler, EpochShuffleSampler

SamplerFactory = Callable[..., EpochSampler]


class TensorDataModule(LightningDataModule):
    """Loaders over tensor-resident datasets.

    Args:
        batch_size: training batch size of one process; a DDP run over W processes trains on global batches of
            ``W * batch_size`` (see :mod:`almlit.data.distributed`).
        eval_batch_size: validation and test batch size (of one process).
        seed: seed of the batch order and the augmentation, drawn afresh from ``(seed, epoch)`` every epoch.
        sampler: the training order: the ``sampler`` group, a ``_partial_``
            :class:`~almlit.data.samplers.EpochSampler` that receives the training labels, ``seed``, ``batch_size``
            and ``critical_classes``; ``None`` shuffles.
    """

    train_dataset: TensorImageDataset
    val_dataset: TensorImageDataset
    test_dataset: TensorImageDataset
    inference_dataset: TensorImageDataset
    critical_classes: tuple[int, ...]

    def __init__(self, batch_size: int, eval_batch_size: int, seed: int, sampler: SamplerFactory | None = None) -> None:
        super().__init__()
        for name, size in (("batch_size", batch_size), ("eval_batch_size", eval_batch_size)):
            if size < 1:
                raise ValueError(f"data.{name} must be >= 1, got {size}")
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.seed = seed
        self.sampler = EpochShuffleSampler if sampler is None else sampler
        self._augment_generator: torch.Generator | None = None
        self._augment_key: tuple[torch.device, int] | None = None

    def train_dataloader(self) -> DataLoader:
        """Training batches in the sampler's order, fixed by ``(seed, epoch)``."""
        sampler = self.training_sampler(self.train_dataset.labels)
        dataset = self._on_training_device(self.train_dataset)
        sampler = rank_shard(sampler, self.batch_size, self.trainer)  # this process's share of every global batch
        return DataLoader(dataset, batch_size=self.batch_size, sampler=sampler, collate_fn=collate_batch)

    def training_sampler(self, labels: torch.Tensor) -> EpochSampler:
        """The configured sampler over the training labels (the global order of every epoch)."""
        return self.sampler(
            labels=labels,
            seed=self.seed,
            batch_size=self.batch_size * process_rank(self.trainer)[1],  # the global batch: per process x processes
            critical_classes=tuple(self.critical_classes),
        )

    def val_dataloader(self) -> DataLoader:
        """Validation batches of ``eval_batch_size``, in dataset order."""
        return self._evaluation_loader(self.val_dataset)

    def test_dataloader(self) -> DataLoader:
        """Test batches of ``eval_batch_size``, in the order of ``test_sample_ids``."""
        return self._evaluation_loader(self.test_dataset)

    @property
    def calibration_split(self) -> str:
        """Which split operating points are chosen on; ``"validation"`` unless a subclass holds out a calibration
        split."""
        return "validation"

    @property
    def calibration_dataset(self) -> TensorImageDataset:
        """The images operating points are chosen on (never trained on): the validation images by default."""
        return self.val_dataset

    def predict_dataloader(self) -> DataLoader:
        """Batches of :attr:`calibration_dataset` in dataset order, scored by ``trainer.predict`` after the test."""
        return self._evaluation_loader(self.calibration_dataset)

    def _evaluation_loader(self, dataset: TensorImageDataset) -> DataLoader:
        """Batches of ``eval_batch_size`` in dataset order; with several processes, one block per process."""
        dataset = self._on_training_device(dataset)
        blocks = RankBlockSampler(len(dataset), *process_rank(self.trainer))  # one process: all of it
        return DataLoader(dataset, batch_size=self.eval_batch_size, sampler=blocks, collate_fn=collate_batch)

    def setup_inference(self) -> None:
        """Read the data that ``python -m almlit.predict`` scores, :attr:`inference_dataset` (here: the test split)."""
        self.setup("test")

    def inference_loader(self) -> DataLoader:
        """Batches of ``eval_batch_size`` of :attr:`inference_dataset`, in dataset order (after
        :meth:`setup_inference`); the DataModule's ``on_after_batch_transfer`` normalises them."""
        return self._evaluation_loader(self.inference_dataset)

    def inference_columns(self) -> dict[str, list[str]]:
        """Columns that name the samples of ``inference_dataset`` beyond their sample id (MRI: ``subject_id``)."""
        return {}

    @property
    def test_sample_ids(self) -> torch.Tensor:
        """Sample ids of the test set, in test-loader order (to save scores next to them)."""
        return self.test_dataset.sample_ids

    @property
    def training_batch(self) -> bool:
        """Whether the batch being transferred is a training batch (a Trainer is attached and training)."""
        return self.trainer is not None and self.trainer.training

    def augmentation_generator(self, device: torch.device) -> torch.Generator:
        """The current epoch's augmentation generator on ``device``, created at the epoch's first batch."""
        epoch = self.trainer.current_epoch
        if self._augment_key != (device, epoch):
            self._augment_generator = epoch_generator(self.seed, epoch, AUGMENT_STREAM, device)
            self._augment_key = (device, epoch)
        return self._augment_generator

    def _on_training_device(self, dataset: TensorImageDataset) -> TensorImageDataset:
        """Keep the whole dataset on the Trainer's device (moved once), so batches never cross the bus."""
        if self.trainer is not None and hasattr(self.trainer, "strategy"):
            dataset.to(self.trainer.strategy.root_device)
        return dataset
