"""ImageFolderData: a user's own 2D images (a folder per class or a manifest) as a binary or long-tailed task.

The images are decoded once (:mod:`almlit.data.images.decode`), held as one uint8 tensor on the training device
and augmented per batch on it, like CIFAR (:class:`~almlit.data.base.ImageDataModule`). Normalisation uses the
per-channel mean and standard deviation of the training split unless ``mean`` and ``std`` are given. A sample's
id is its position in the data set (the sorted files, or the manifest's rows), so ids are the same on every run,
split and fold; ``num_train_samples`` is the number of images.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
import torch

from almlit.data.base import DatasetSplits, ImageDataModule
from almlit.data.class_counts import check_splits
from almlit.data.fingerprint import files_by_name
from almlit.data.folds import assign_splits
from almlit.data.images.decode import DecodeSettings, channel_statistics, load_images
from almlit.data.images.layout import ImageRecord, class_ids, list_class_folders, read_image_manifest
from almlit.data.indexed import TensorImageDataset
from almlit.data.loaders import SamplerFactory
from almlit.data.transforms import BatchAugment


class ImageFolderData(ImageDataModule):
    """Images of a folder per class (``root``) or of a CSV manifest (``manifest``); see :mod:`~.layout`.

    Binary when ``positive_classes`` is given (those classes -> 1, the critical class; ``negative_classes`` -> 0),
    else multi-class with labels 0..C-1 in sorted class-name order and ``critical_classes`` scored by the
    constraint. Splits: :func:`~almlit.data.folds.assign_splits`.

    Batches reach the model as ``(images float32 [B, channels, H, W] normalised, labels long [B], sample_ids
    long [B])``.

    Args:
        root: the folder holding one sub-folder per class (ignored when ``manifest`` is given).
        manifest: a CSV manifest, or ``None`` for the folder layout.
        positive_classes: class names forming the positive class (binary task).
        negative_classes: class names forming the negative class; ``None``: every other class.
        critical_classes: class names of a multi-class task that the constraint protects.
        num_classes: the number of classes the run is configured for (``num_classes``); checked against the data.
        group_column: the manifest column naming each image's group (e.g. patient), or ``None``.
        folds: K of K-fold cross-validation, or ``None``.
        fold: the validation fold, 0..K-1.
        val_fraction: share held out for validation (without folds or a ``validation`` split in the manifest).
        test_fraction: share held out for testing (without a ``split`` column).
        channels: 1 (grayscale) or 3 (RGB).
        shape: ``[H, W]`` of every image, or ``None`` to keep the files' size (which must agree).
        intensity_max: the 16-bit value mapped to 255 (``None``: 65535).
        mean: per-channel normalisation mean of images in [0, 1], or ``None`` for the training split's.
        std: per-channel standard deviation, or ``None`` for the training split's.
        cache_dir: folder of the decoded-image cache, or ``None``.
        crop_padding: zero padding of the training random crop.
        hflip: mirror training images with probability 0.5.
        batch_size: training batch size.
        eval_batch_size: validation and test batch size.
        split_seed: seed of the validation hold-out or of the folds.
        seed: seed of the batch order and augmentation (each epoch draws from (seed, epoch)).
        sampler: training order, the ``sampler`` group (see :class:`~almlit.data.loaders.TensorDataModule`).

    Raises:
        FileNotFoundError: for a missing folder, manifest or image.
        ValueError: for bad class names, an empty class, a bad manifest, a class count that differs from
            ``num_classes``, or bad split settings (images are decoded in ``setup``, and their errors raised there).
    """

    def __init__(
        self,
        root: str | Path | None = None,
        manifest: str | Path | None = None,
        positive_classes: Sequence[str] | None = None,
        negative_classes: Sequence[str] | None = None,
        critical_classes: Sequence[str] | None = None,
        num_classes: int | None = None,
        group_column: str | None = None,
        folds: int | None = None,
        fold: int | None = None,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        channels: int = 3,
        shape: Sequence[int] | None = None,
        intensity_max: int | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        cache_dir: str | Path | None = None,
        crop_padding: int = 4,
        hflip: bool = True,
        batch_size: int = 64,
        eval_batch_size: int = 1024,
        split_seed: int = 0,
        seed: int = 0,
        sampler: SamplerFactory | None = None,
    ) -> None:
        if (positive_classes is None) == (critical_classes is None):
            raise ValueError(
                "data=images needs exactly one of data.positive_classes (a binary task) and data.critical_classes"
                f" (multi-class), got positive_classes={positive_classes} and critical_classes={critical_classes}"
            )
        self.records = read_records(root, manifest, group_column)
        self.manifest = None if manifest is None else Path(manifest)
        assert self.manifest is not None or root is not None  # read_records refuses neither being given
        self.folder = self.manifest.parent if self.manifest is not None else Path(root)  # type: ignore[arg-type]
        self.source = f"the manifest {manifest}" if manifest is not None else f"the image folder {root}"
        self.source_classes = sorted({record.class_name for record in self.records})
        source_labels = np.array([self.source_classes.index(record.class_name) for record in self.records])
        critical: tuple[int, ...]  # the critical class ids of the task
        if positive_classes is not None:
            positive_ids = class_ids("positive_classes", positive_classes, self.source_classes)
            if negative_classes is None:
                negative_classes = [name for index, name in enumerate(self.source_classes) if index not in positive_ids]
            negative_ids = class_ids("negative_classes", negative_classes, self.source_classes)
            shared = sorted(self.source_classes[index] for index in set(positive_ids) & set(negative_ids))
            if shared:
                raise ValueError(
                    f"data.negative_classes and data.positive_classes must be disjoint, both hold {shared}"
                )
            self.selected = np.flatnonzero(np.isin(source_labels, [*negative_ids, *positive_ids]))
            self.labels = np.isin(source_labels, positive_ids).astype(np.int64)
            self.task_names: tuple[str, ...] = (
                f"negative class {[self.source_classes[index] for index in negative_ids]} (label 0)",
                f"positive class {[self.source_classes[index] for index in positive_ids]} (label 1)",
            )
            task_classes, critical = 2, (1,)
        else:
            assert critical_classes is not None  # exactly one of the two is set (checked above)
            critical = class_ids("critical_classes", critical_classes, self.source_classes)
            task_classes = len(self.source_classes)
            if num_classes is not None and num_classes != task_classes:
                raise ValueError(
                    f"the data has {task_classes} classes {self.source_classes} but the run is set for"
                    f" num_classes={num_classes}; run with num_classes={task_classes}"
                )
            self.selected = np.arange(len(self.records))
            self.labels = source_labels
            self.task_names = tuple(
                f"class {name}{' (critical)' if index in critical else ''}"
                for index, name in enumerate(self.source_classes)
            )
        self.source_labels = source_labels
        self.normalisation = None if mean is None or std is None else (tuple(mean), tuple(std))
        super().__init__(
            task_classes,
            critical,
            *(((0.0,), (1.0,)) if self.normalisation is None else self.normalisation),
            crop_padding,
            hflip,
            batch_size,
            eval_batch_size,
            seed,
            sampler,
        )
        # DecodeSettings.__post_init__ checks the length of the shape
        self.settings = DecodeSettings(
            channels, None if shape is None else cast("tuple[int, int]", tuple(shape)), intensity_max
        )
        if self.normalisation is not None and not len(self.normalisation[0]) == len(self.normalisation[1]) == channels:
            raise ValueError(f"data.mean and data.std must give one value per channel ({channels}), got {mean}, {std}")
        self.folds, self.fold = folds, fold
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.split_seed = split_seed
        self.split_positions = self.assign()

    def assign(self) -> dict[str, np.ndarray]:
        """Record indices per split, each checked to hold every class before any image is decoded."""
        records = [self.records[index] for index in self.selected]
        declared = None if records[0].split is None else [record.split for record in records]
        groups = None if records[0].group is None else [record.group for record in records]
        positions = assign_splits(
            self.source_labels[self.selected],
            declared,
            groups,
            self.val_fraction,
            self.test_fraction,
            self.split_seed,
            self.folds,
            self.fold,
        )
        splits = {name: self.selected[members] for name, members in positions.items()}
        check_splits(
            self.description, {name: self.labels[members] for name, members in splits.items()}, self.class_names
        )
        return splits

    def source_files(self) -> dict[str, Path]:
        """The manifest, if any, and every image it or the folder lists, by path under their folder (the run's data
        fingerprint covers them)."""
        paths = [record.path for record in self.records]
        return files_by_name([self.manifest, *paths] if self.manifest is not None else paths, self.folder)

    @property
    def description(self) -> str:
        """The data set as messages name it: ``the image folder <root>`` or ``the manifest <path>``."""
        return self.source

    @property
    def class_names(self) -> tuple[str, ...]:
        """How messages name each class of the task (binary: which source classes form it)."""
        return self.task_names

    def build_splits(self) -> DatasetSplits:
        images = torch.from_numpy(
            load_images([self.records[index].path for index in self.selected], self.settings, self.cache_dir)
        )
        where = np.full(len(self.records), -1)
        where[self.selected] = np.arange(len(self.selected))
        datasets = {
            name: TensorImageDataset(
                images[torch.from_numpy(where[indices])],
                torch.from_numpy(self.labels[indices]),
                torch.from_numpy(indices.astype(np.int64)),
            )
            for name, indices in self.split_positions.items()
        }
        if self.normalisation is None:
            self.augment = BatchAugment(
                *channel_statistics(datasets["train"].images), self.augment.crop_padding, self.augment.hflip
            )
        return DatasetSplits(datasets["train"], datasets["validation"], datasets["test"], len(self.records))


def read_records(root: str | Path | None, manifest: str | Path | None, group_column: str | None) -> list[ImageRecord]:
    """The records of the manifest if given, else of the folder ``root``."""
    if manifest is not None:
        return read_image_manifest(Path(manifest), group_column)
    if group_column is not None:
        raise ValueError(f"data.group_column={group_column} needs data.manifest (a column of the manifest)")
    if root is None:
        raise ValueError("data=images needs data.root (a folder per class) or data.manifest (a CSV)")
    return list_class_folders(Path(root))
