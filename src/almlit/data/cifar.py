"""Binary imbalanced CIFAR10 / CIFAR100 (Sangalli et al. 2021, section 5.1).

Sample ids: a training or validation image's id is its index in the source training split (the five CIFAR10
batches concatenated), so ids do not depend on the split seed and ``num_train_samples`` is 50000. A test
image's id is 50000 + its index in the test file, so every id names one image.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from almlit.data.base import BinaryImageDataModule, DatasetSplits, binary_dataset, check_split_arguments
from almlit.data.cifar_files import CIFARFiles, cifar_layout
from almlit.data.class_counts import check_hold_out
from almlit.data.imbalance import hold_out_calibration, split_binary_imbalanced
from almlit.data.loaders import SamplerFactory

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)


class BinaryCIFAR(CIFARFiles, BinaryImageDataModule):
    """Original CIFAR classes merged into a negative (majority) and a positive (critical, minority) class.

    For every selected class ``calibration_per_class`` training images (the same for every seed) are held out to
    choose operating points on, and ``val_per_class`` for validation; of the rest,
    floor(majority_fraction * n) images of each negative class are kept and floor(n_neg / imb) positives are
    drawn, all seeded by ``split_seed``. The test set is every test image of the selected classes.

    Args:
        root: folder holding (or receiving) ``cifar-10-batches-py/`` or ``cifar-100-python/``.
        variant: ``"cifar10"`` or ``"cifar100"``.
        negative_classes: original classes labelled 0, e.g. [72, 4, 95, 30, 55] (CIFAR100 aquatic mammals).
        positive_classes: original classes labelled 1, e.g. [73] (CIFAR100 shark).
        imbalance_ratio: imb, negatives per positive in the training set (1:imb).
        val_per_class: training images per selected class held out for validation.
        majority_fraction: share of each negative class's remaining images kept (0.9 gives 405 per CIFAR100
            class, so ensemble members see different negatives).
        split_seed: seed of the validation hold-out and of both subsamplings.
        calibration_per_class: training images per selected class held out for calibration (0: none, the
            validation images are used).
        download: fetch the data with torchvision in ``prepare_data`` when it is absent.
        batch_size: training batch size.
        eval_batch_size: validation and test batch size.
        crop_padding: zero padding of the training random crop.
        hflip: mirror training images with probability 0.5.
        seed: seed of the batch order and augmentation (each epoch draws from (seed, epoch)).
        sampler: training order, the ``sampler`` group (see :class:`~almlit.data.loaders.TensorDataModule`).
            None shuffles.
    """

    def __init__(
        self,
        root: str | Path,
        variant: str,
        negative_classes: Sequence[int],
        positive_classes: Sequence[int],
        imbalance_ratio: float,
        val_per_class: int,
        majority_fraction: float,
        split_seed: int,
        calibration_per_class: int = 0,
        download: bool = False,
        batch_size: int = 64,
        eval_batch_size: int = 1024,
        crop_padding: int = 4,
        hflip: bool = True,
        seed: int = 0,
        sampler: SamplerFactory | None = None,
    ) -> None:
        super().__init__(CIFAR_MEAN, CIFAR_STD, crop_padding, hflip, batch_size, eval_batch_size, seed, sampler)
        self.negative_classes, self.positive_classes = check_split_arguments(
            negative_classes,
            positive_classes,
            cifar_layout(variant).num_classes,
            imbalance_ratio,
            val_per_class,
            majority_fraction,
            calibration_per_class,
        )
        self.calibration_per_class = calibration_per_class
        self.root = Path(root)
        self.variant = variant
        self.imbalance_ratio = imbalance_ratio
        self.val_per_class = val_per_class
        self.majority_fraction = majority_fraction
        self.split_seed = split_seed
        self.download = download

    def build_splits(self) -> DatasetSplits:
        train_images, train_labels = self.load_split(train=True)
        selected = [*self.negative_classes, *self.positive_classes]
        where = f"{self.description}, training files"
        if self.calibration_per_class:
            check_hold_out(train_labels, selected, self.calibration_per_class, where, "data.calibration_per_class")
        pool = np.arange(len(train_labels))
        calibration_indices, pool = hold_out_calibration(train_labels, pool, selected, self.calibration_per_class)
        if self.calibration_per_class:
            where += " after the calibration hold-out"
        check_hold_out(train_labels[pool], selected, self.val_per_class, where)
        train_positions, validation_positions = split_binary_imbalanced(
            train_labels[pool],
            self.negative_classes,
            self.positive_classes,
            self.imbalance_ratio,
            self.val_per_class,
            self.majority_fraction,
            self.split_seed,
        )
        test_images, test_labels = self.load_split(train=False)
        test_indices = np.flatnonzero(np.isin(test_labels, selected))
        train_indices, validation_indices = pool[train_positions], pool[validation_positions]

        num_train_samples = len(train_labels)
        return DatasetSplits(
            train=binary_dataset(train_images, train_labels, train_indices, self.positive_classes),
            validation=binary_dataset(train_images, train_labels, validation_indices, self.positive_classes),
            test=binary_dataset(
                test_images, test_labels, test_indices, self.positive_classes, id_offset=num_train_samples
            ),
            num_train_samples=num_train_samples,
            calibration=binary_dataset(train_images, train_labels, calibration_indices, self.positive_classes)
            if self.calibration_per_class
            else None,
        )
