"""Binary imbalanced handwritten digits: scikit-learn's 8x8 ``load_digits`` images, shipped with the package.

A small, offline stand-in for binary CIFAR, for quick runs and end-to-end tests. All 1797 images form one
source array; a sample's id is its index in it, so ``num_train_samples`` is 1797 and test ids never coincide
with training ids.
"""

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from almlit.data.base import BinaryImageDataModule, DatasetSplits, binary_dataset, check_split_arguments
from almlit.data.class_counts import check_hold_out
from almlit.data.imbalance import hold_out_calibration, hold_out_per_class, split_binary_imbalanced
from almlit.data.loaders import SamplerFactory

NUM_DIGITS = 10
# The test hold-out uses this seed whatever split_seed is, so every split is scored on the same test images.
TEST_SPLIT_SEED = 0
# Mean and (population) standard deviation of all 1797 load_digits images after the uint8 scaling below,
# divided by 255: np.round(load_digits().images * 255 / 16).astype(np.uint8) / 255 -> .mean(), .std().
DIGITS_FILE = "digits.csv.gz"  # what load_digits reads, in the package sklearn.datasets.data
DIGITS_MEAN = (0.3053,)
DIGITS_STD = (0.3759,)


def load_digit_images() -> tuple[np.ndarray, np.ndarray]:
    """All scikit-learn digits as uint8 images [1797, 1, 8, 8] (0..16 scaled to 0..255) and int64 labels."""
    digits = load_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)[:, None]
    return images, digits.target.astype(np.int64)


class BinaryDigits(BinaryImageDataModule):
    """Digits merged into a negative (majority) and a positive (critical, minority) class.

    ``test_per_class`` images of every digit form the fixed test set; of the rest, ``calibration_per_class`` per
    selected digit form the calibration split (the same images for every seed), ``val_per_class`` per
    selected digit go to validation, and the training set keeps floor(majority_fraction * n) images of each
    negative digit and floor(n_neg / imb) positives, seeded by ``split_seed``.

    Args:
        imbalance_ratio: imb, negatives per positive in the training set (1:imb).
        positive_classes: digits labelled 1.
        negative_classes: digits labelled 0; ``None`` means every digit not in ``positive_classes``.
        val_per_class: images per selected digit held out for validation.
        test_per_class: images per digit in the test set.
        calibration_per_class: images per selected digit held out to choose operating points on (0: none, the
            validation images are used).
        majority_fraction: share of each negative digit's remaining images kept.
        split_seed: seed of the validation hold-out and of both subsamplings.
        batch_size: training batch size.
        eval_batch_size: validation and test batch size.
        crop_padding: zero padding of the training random crop.
        hflip: mirror training images; off by default since a mirrored digit is a different symbol.
        seed: seed of the batch order and augmentation (each epoch draws from (seed, epoch)).
        sampler: training order, the ``sampler`` group (see :class:`~almlit.data.loaders.TensorDataModule`).
            None shuffles.
    """

    def __init__(
        self,
        imbalance_ratio: float,
        positive_classes: Sequence[int] = (8,),
        negative_classes: Sequence[int] | None = None,
        val_per_class: int = 25,
        test_per_class: int = 50,
        calibration_per_class: int = 0,
        majority_fraction: float = 1.0,
        split_seed: int = 0,
        batch_size: int = 64,
        eval_batch_size: int = 1024,
        crop_padding: int = 1,
        hflip: bool = False,
        seed: int = 0,
        sampler: SamplerFactory | None = None,
    ) -> None:
        super().__init__(DIGITS_MEAN, DIGITS_STD, crop_padding, hflip, batch_size, eval_batch_size, seed, sampler)
        if negative_classes is None:
            negative_classes = [digit for digit in range(NUM_DIGITS) if digit not in positive_classes]
        self.negative_classes, self.positive_classes = check_split_arguments(
            negative_classes,
            positive_classes,
            NUM_DIGITS,
            imbalance_ratio,
            val_per_class,
            majority_fraction,
            calibration_per_class,
        )
        if test_per_class < 1:
            raise ValueError(f"data.test_per_class must be >= 1, got {test_per_class}")
        self.imbalance_ratio = imbalance_ratio
        self.val_per_class = val_per_class
        self.test_per_class = test_per_class
        self.calibration_per_class = calibration_per_class
        self.majority_fraction = majority_fraction
        self.split_seed = split_seed

    def source_files(self) -> dict[str, Path]:
        """The file ``load_digits`` reads (the run's data fingerprint covers it)."""
        return {DIGITS_FILE: Path(str(resources.files("sklearn.datasets.data") / DIGITS_FILE))}

    @property
    def description(self) -> str:
        """``"scikit-learn digits"``, as messages name the data set."""
        return "scikit-learn digits"

    def build_splits(self) -> DatasetSplits:
        images, labels = load_digit_images()
        check_hold_out(labels, range(NUM_DIGITS), self.test_per_class, self.description, "data.test_per_class")
        test_pool, pool = hold_out_per_class(
            labels, range(NUM_DIGITS), self.test_per_class, np.random.default_rng(TEST_SPLIT_SEED)
        )
        selected = [*self.negative_classes, *self.positive_classes]
        test_indices = test_pool[np.isin(labels[test_pool], selected)]
        where = f"{self.description} after the test hold-out"
        if self.calibration_per_class:
            check_hold_out(labels[pool], selected, self.calibration_per_class, where, "data.calibration_per_class")
        calibration_indices, pool = hold_out_calibration(labels, pool, selected, self.calibration_per_class)
        if self.calibration_per_class:
            where = f"{self.description} after the test and calibration hold-outs"
        check_hold_out(labels[pool], selected, self.val_per_class, where)
        train_positions, validation_positions = split_binary_imbalanced(
            labels[pool],
            self.negative_classes,
            self.positive_classes,
            self.imbalance_ratio,
            self.val_per_class,
            self.majority_fraction,
            self.split_seed,
        )
        return DatasetSplits(
            train=binary_dataset(images, labels, pool[train_positions], self.positive_classes),
            validation=binary_dataset(images, labels, pool[validation_positions], self.positive_classes),
            test=binary_dataset(images, labels, test_indices, self.positive_classes),
            num_train_samples=len(labels),
            calibration=binary_dataset(images, labels, calibration_indices, self.positive_classes)
            if self.calibration_per_class
            else None,
        )
