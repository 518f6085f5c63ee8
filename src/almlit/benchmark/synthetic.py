"""Random-pixel CIFAR for benchmarking where the files are absent: the real split sizes, ids and batches.

Throughput does not depend on pixel values, only on how many images of which shape flow through, so a
benchmark on random pixels measures what a real run would, provided the splits have the real sizes. They do:
the splits are drawn by the same code (:func:`almlit.data.imbalance.split_binary_imbalanced`) from labels laid
out like CIFAR's (50000 training and 10000 test images, the same number of each class).
"""

from __future__ import annotations

import numpy as np
import torch
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig

from almlit.data import BinaryCIFAR, BinaryImageDataModule
from almlit.data.base import DatasetSplits, binary_dataset
from almlit.data.cifar_files import IMAGE_SHAPE, cifar_files_present, cifar_layout
from almlit.data.imbalance import split_binary_imbalanced

CIFAR_TRAIN_IMAGES = 50000
CIFAR_TEST_IMAGES = 10000


def balanced_labels(num_classes: int, num_images: int) -> np.ndarray:
    """Labels of a CIFAR-like split: ``num_images / num_classes`` images of every class, classes interleaved."""
    return np.tile(np.arange(num_classes, dtype=np.int64), num_images // num_classes)


class SyntheticCIFAR(BinaryCIFAR):
    """:class:`~almlit.data.BinaryCIFAR` with random pixels: same arguments, split sizes, sample ids and batches.

    Nothing is read or downloaded. The pixels of every selected image are uniform random bytes drawn from
    ``split_seed``.
    """

    def prepare_data(self) -> None:
        """Nothing to download."""

    def build_splits(self) -> DatasetSplits:
        layout = cifar_layout(self.variant)
        train_labels = balanced_labels(layout.num_classes, CIFAR_TRAIN_IMAGES)
        test_labels = balanced_labels(layout.num_classes, CIFAR_TEST_IMAGES)
        train_indices, validation_indices = split_binary_imbalanced(
            train_labels,
            self.negative_classes,
            self.positive_classes,
            self.imbalance_ratio,
            self.val_per_class,
            self.majority_fraction,
            self.split_seed,
        )
        test_indices = np.flatnonzero(np.isin(test_labels, [*self.negative_classes, *self.positive_classes]))
        # np.zeros maps untouched pages lazily, so only the selected images ever take memory
        train_images = np.zeros((len(train_labels), *IMAGE_SHAPE), dtype=np.uint8)
        test_images = np.zeros((len(test_labels), *IMAGE_SHAPE), dtype=np.uint8)
        splits = DatasetSplits(
            train=binary_dataset(train_images, train_labels, train_indices, self.positive_classes),
            validation=binary_dataset(train_images, train_labels, validation_indices, self.positive_classes),
            test=binary_dataset(
                test_images, test_labels, test_indices, self.positive_classes, id_offset=len(train_labels)
            ),
            num_train_samples=len(train_labels),
        )
        generator = torch.Generator().manual_seed(self.split_seed)
        for dataset in splits[:3]:
            dataset.images.random_(0, 256, generator=generator)
        return splits


def wants_synthetic(data_config: DictConfig, synthetic: str) -> bool:
    """Whether to benchmark on random pixels.

    Args:
        data_config: the ``data`` node of the composed config.
        synthetic: ``"true"``, ``"false"``, or ``"auto"``: synthetic exactly when the data is CIFAR and its files
            are absent under ``data.root``.

    Raises:
        ValueError: ``synthetic="true"`` for data other than CIFAR.
    """
    is_cifar = issubclass(get_class(data_config._target_), BinaryCIFAR)
    if synthetic == "true" and not is_cifar:
        raise ValueError(
            f"bench.synthetic=true replaces CIFAR files with random pixels, but data is {data_config._target_};"
            " use bench.synthetic=auto or false"
        )
    if synthetic == "auto":
        return is_cifar and not cifar_files_present(data_config.root, data_config.variant)
    return synthetic == "true"


def build_datamodule(data_config: DictConfig, synthetic: bool, **overrides: object) -> BinaryImageDataModule:
    """Instantiate the configured DataModule, or its random-pixel twin, and set it up.

    Args:
        data_config: the ``data`` node of the composed config.
        synthetic: build :class:`SyntheticCIFAR` from the same arguments instead.
        overrides: arguments replacing the config's (e.g. ``batch_size``).
    """
    if synthetic:
        overrides["_target_"] = f"{SyntheticCIFAR.__module__}.{SyntheticCIFAR.__qualname__}"
    datamodule = instantiate(data_config, **overrides)
    datamodule.setup("fit")
    return datamodule
