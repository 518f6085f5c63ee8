"""The shared shell of the imbalanced DataModules: tensor-resident datasets, loaders, batch augmentation.

:class:`ImageDataModule` serves any number of classes C; :class:`BinaryImageDataModule` fixes C = 2 with the
critical class 1. Subclasses only say how to build the three splits (``build_splits``). Batches leave the
DataLoader as uint8 images and are augmented and normalised on the device, in ``on_after_batch_transfer``, so no
worker processes and no per-sample PIL work are needed.
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from almlit.data.class_counts import BINARY_CLASS_NAMES, check_splits
from almlit.data.imbalance import check_imbalance_ratio
from almlit.data.indexed import Batch, TensorImageDataset
from almlit.data.loaders import SamplerFactory, TensorDataModule
from almlit.data.transforms import BatchAugment

# The channels of raw images, in order, by their number.
CHANNEL_NAMES = {1: ["gray"], 3: ["red", "green", "blue"]}


class DatasetSplits(NamedTuple):
    """The three datasets of a task and the size of the multiplier bank they need.

    Attributes:
        train: training images; their ids are < ``num_train_samples``.
        validation: held-out training images.
        test: test images.
        num_train_samples: 1 + the largest training sample id possible (the size of the source training split).
        calibration: images held out of training and validation to choose operating points on, or None (the
            validation images are used).
    """

    train: TensorImageDataset
    validation: TensorImageDataset
    test: TensorImageDataset
    num_train_samples: int
    calibration: TensorImageDataset | None = None


def check_class_ids(name: str, classes: Sequence[int], num_classes: int) -> tuple[int, ...]:
    """Check a ``data.<name>`` list of class ids: not empty, each in [0, num_classes), none repeated.

    Args:
        name: the setting, e.g. ``"critical_classes"``, as the error message names it.
        classes: the class ids.
        num_classes: number of classes of the data set.

    Returns:
        The class ids as a tuple of ints.

    Raises:
        ValueError: naming ``data.<name>`` and its value.
    """
    if isinstance(classes, (int, str)) or not hasattr(classes, "__iter__"):
        raise ValueError(f"data.{name} must be a list of class ids, e.g. data.{name}=[{classes}], got {classes!r}")
    classes = tuple(classes)
    if not classes:
        raise ValueError(f"data.{name} must not be empty")
    outside = [class_id for class_id in classes if not 0 <= class_id < num_classes]
    if outside:
        raise ValueError(f"data.{name} must hold class ids in 0..{num_classes - 1}, got {list(classes)}")
    if len(set(classes)) != len(classes):
        raise ValueError(f"data.{name} must not repeat a class, got {list(classes)}")
    return classes


def check_split_arguments(
    negative_classes: Sequence[int],
    positive_classes: Sequence[int],
    num_classes: int,
    imbalance_ratio: float,
    val_per_class: int,
    majority_fraction: float,
    calibration_per_class: int = 0,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Check the arguments of a binary imbalanced split before any file is read.

    Args:
        negative_classes: original classes forming the negative class.
        positive_classes: original classes forming the positive class.
        num_classes: number of classes of the source data set; ids must lie in [0, num_classes).
        imbalance_ratio: imb, negatives per positive.
        val_per_class: validation images held out per class.
        majority_fraction: share of each negative class kept for training.
        calibration_per_class: calibration images held out per class (0: none, the validation images calibrate).

    Returns:
        The two class lists as tuples of ints.

    Raises:
        ValueError: naming the offending ``data.*`` setting and its value.
    """
    checked = {
        name: check_class_ids(name, classes, num_classes)
        for name, classes in (("negative_classes", negative_classes), ("positive_classes", positive_classes))
    }
    shared = sorted(set(checked["negative_classes"]) & set(checked["positive_classes"]))
    if shared:
        raise ValueError(
            f"data.negative_classes {list(checked['negative_classes'])} and data.positive_classes"
            f" {list(checked['positive_classes'])} must be disjoint, both hold {shared}"
        )
    check_imbalance_ratio(imbalance_ratio)
    if val_per_class < 1:
        raise ValueError(f"data.val_per_class must be >= 1, got {val_per_class}")
    if (
        isinstance(calibration_per_class, bool)
        or not isinstance(calibration_per_class, int)
        or calibration_per_class < 0
    ):
        raise ValueError(f"data.calibration_per_class must be an integer >= 0, got {calibration_per_class!r}")
    if not 0 < majority_fraction <= 1:
        raise ValueError(f"data.majority_fraction must be in (0, 1], got {majority_fraction}")
    return checked["negative_classes"], checked["positive_classes"]


def image_dataset(
    images: np.ndarray, labels: np.ndarray, indices: np.ndarray, id_offset: int = 0
) -> TensorImageDataset:
    """Select source images and their labels as a dataset.

    Args:
        images: uint8 source images [N, C, H, W].
        labels: the label of every source image [N].
        indices: which source images to take; image ``indices[k]`` gets sample id ``indices[k] + id_offset``.
        id_offset: added to the indices to form the sample ids.
    """
    return TensorImageDataset(
        torch.from_numpy(np.ascontiguousarray(images[indices])),
        torch.from_numpy(labels[indices].astype(np.int64)),
        torch.from_numpy(indices.astype(np.int64) + id_offset),
    )


def binary_dataset(
    images: np.ndarray, labels: np.ndarray, indices: np.ndarray, positive_classes: Sequence[int], id_offset: int = 0
) -> TensorImageDataset:
    """Select source images as a binary dataset: positive classes -> 1, all others -> 0.

    Args:
        images: uint8 source images [N, C, H, W].
        labels: original classes of the source images [N].
        indices: which source images to take; image ``indices[k]`` gets sample id ``indices[k] + id_offset``.
        positive_classes: original classes labelled 1.
        id_offset: added to the indices to form the sample ids.
    """
    return image_dataset(images, np.isin(labels, positive_classes), indices, id_offset)


class ImageDataModule(TensorDataModule, ABC):
    """Image classification into C classes, some of them critical (under-represented, scored by the constraint).

    Batches reach the model as ``(images float32 [B, C, H, W] normalised, labels long [B] in 0..C-1,
    sample_ids long [B])``; training batches are randomly cropped and flipped first.

    Args:
        num_classes: C >= 2.
        critical_classes: the critical class ids, in 0..C-1.
        mean: per-channel normalisation mean (images scaled to [0, 1]).
        std: per-channel normalisation standard deviation.
        crop_padding: zero padding of the training random crop.
        hflip: whether training images are mirrored with probability 0.5.
        batch_size: training batch size.
        eval_batch_size: validation and test batch size.
        seed: seed of the batch order and the augmentation, drawn afresh from ``(seed, epoch)`` every epoch.
        sampler: training order, the ``sampler`` group (see :class:`~almlit.data.loaders.TensorDataModule`).
            None shuffles.
    """

    def __init__(
        self,
        num_classes: int,
        critical_classes: Sequence[int],
        mean: Sequence[float],
        std: Sequence[float],
        crop_padding: int,
        hflip: bool,
        batch_size: int = 64,
        eval_batch_size: int = 1024,
        seed: int = 0,
        sampler: SamplerFactory | None = None,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed, sampler)
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self._num_classes = num_classes
        self._critical_classes = check_class_ids("critical_classes", critical_classes, num_classes)
        self.augment = BatchAugment(mean, std, crop_padding=crop_padding, hflip=hflip)
        self._splits: DatasetSplits | None = None

    @abstractmethod
    def build_splits(self) -> DatasetSplits:
        """Read the source data and build the training, validation and test datasets."""

    @property
    def description(self) -> str:
        """The data set as messages name it, e.g. ``"CIFAR10 under data"``."""
        return type(self).__name__

    @property
    def class_names(self) -> tuple[str, ...]:
        """How messages name each class: ``"class c"``, marked ``(critical)`` for the critical ones."""
        return tuple(
            f"class {class_id}{' (critical)' if class_id in self.critical_classes else ''}"
            for class_id in range(self.num_classes)
        )

    def setup(self, stage: str | None = None) -> None:
        """Build the datasets once; later calls (e.g. the Trainer's after an explicit one) do nothing.

        Raises:
            ValueError: if a split lacks a class, before any training (see :func:`check_splits`).
        """
        if self._splits is None:
            splits = self.build_splits()
            labels = {
                name: split.labels
                for name, split in splits._asdict().items()
                if name != "num_train_samples" and split is not None  # no calibration split unless one is held out
            }
            check_splits(self.description, labels, self.class_names)
            self._splits = splits

    @property
    def splits(self) -> DatasetSplits:
        """The datasets, available after ``setup()``."""
        if self._splits is None:
            raise RuntimeError(f"{type(self).__name__}.setup() must run before its datasets are used")
        return self._splits

    @property
    def train_dataset(self) -> TensorImageDataset:
        """The training subset (ids into the source training split)."""
        return self.splits.train

    @property
    def val_dataset(self) -> TensorImageDataset:
        """The validation images held out of the source training split."""
        return self.splits.validation

    @property
    def test_dataset(self) -> TensorImageDataset:
        """The test images."""
        return self.splits.test

    @property
    def inference_dataset(self) -> TensorImageDataset:
        """What ``python -m almlit.predict`` scores: the test images, as training defined them."""
        return self.splits.test

    @property
    def calibration_split(self) -> str:
        """``"calibration"`` when a calibration split is held out, else ``"validation"``."""
        return "validation" if self.splits.calibration is None else "calibration"

    @property
    def calibration_dataset(self) -> TensorImageDataset:
        """The images operating points are chosen on: the calibration split, or the validation split."""
        return self.splits.validation if self.splits.calibration is None else self.splits.calibration

    @property
    def num_classes(self) -> int:
        """C, the number of classes; labels lie in 0..C-1."""
        return self._num_classes

    @property
    def num_outputs(self) -> int:
        """Network outputs: one logit for two classes, else one score per class."""
        return 1 if self.num_classes == 2 else self.num_classes

    @property
    def critical_classes(self) -> tuple[int, ...]:
        """The critical class ids."""
        return self._critical_classes

    @property
    def num_train_samples(self) -> int:
        """Size of the multiplier bank: 1 + the largest training sample id possible."""
        return self.splits.num_train_samples

    @property
    def class_counts(self) -> tuple[int, ...]:
        """``(n_0, ..., n_{C-1})``, training samples per class (binary: ``(n_negative, n_positive)``)."""
        return tuple(torch.bincount(self.train_dataset.labels, minlength=self.num_classes).tolist())

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        channels, height, width = self.train_dataset.images.shape[1:]
        return channels, height, width

    def preprocessing(self, input_shape: Sequence[int]) -> dict:
        """How raw images become the network's input, for a program without almlit (``preprocessing.json``).

        Args:
            input_shape: ``(C, H, W)`` of one image; one channel is gray, three are red, green, blue (CIFAR's planes).
        """
        return {
            "input_shape": list(input_shape),
            "layout": "NCHW: batch, channel, height, width",
            "channels": CHANNEL_NAMES.get(input_shape[0], [f"channel{c}" for c in range(input_shape[0])]),
            "raw_dtype": "uint8",
            "raw_range": [0, 255],
            "scale": 1 / 255,
            "mean": list(self.augment.mean),
            "std": list(self.augment.std),
            "input_dtype": "float32",
            "formula": "input[n, c] = (raw[n, c] * scale - mean[c]) / std[c]",
        }

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        """Augment (training only) and normalise the batch on its device."""
        images, labels, sample_ids = batch
        self.augment.to(images.device)
        if not self.training_batch:
            return self.augment(images, train=False), labels, sample_ids
        return (
            self.augment(images, train=True, generator=self.augmentation_generator(images.device)),
            labels,
            sample_ids,
        )


class BinaryImageDataModule(ImageDataModule, ABC):
    """Two classes: 0 = negative (majority), 1 = positive, the critical, under-represented class.

    Args:
        mean: per-channel normalisation mean (images scaled to [0, 1]).
        std: per-channel normalisation standard deviation.
        crop_padding: zero padding of the training random crop.
        hflip: whether training images are mirrored with probability 0.5.
        batch_size: training batch size.
        eval_batch_size: validation and test batch size.
        seed: seed of the batch order and the augmentation.
        sampler: training order, the ``sampler`` group (see :class:`~almlit.data.loaders.TensorDataModule`).
            None shuffles.
    """

    def __init__(
        self,
        mean: Sequence[float],
        std: Sequence[float],
        crop_padding: int,
        hflip: bool,
        batch_size: int = 64,
        eval_batch_size: int = 1024,
        seed: int = 0,
        sampler: SamplerFactory | None = None,
    ) -> None:
        super().__init__(2, (1,), mean, std, crop_padding, hflip, batch_size, eval_batch_size, seed, sampler)

    @property
    def class_names(self) -> tuple[str, ...]:
        """``("negative class (label 0)", "positive class (label 1)")``."""
        return BINARY_CLASS_NAMES
