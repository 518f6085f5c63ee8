"""Long-tailed CIFAR10 / CIFAR100 (Sangalli et al. 2021, section 5.1, built as in Cao et al. 2019).

Labels are the original class ids 0..C-1, class 0 the largest and class C-1 the smallest. Sample ids follow
:mod:`almlit.data.cifar`: a training or validation image's id is its index in the source training split, a
test image's id is the size of that split + its index in the test file.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from almlit.data.base import DatasetSplits, ImageDataModule, image_dataset
from almlit.data.cifar import CIFAR_MEAN, CIFAR_STD
from almlit.data.cifar_files import CIFARFiles, cifar_layout
from almlit.data.class_counts import check_hold_out
from almlit.data.imbalance import check_imbalance_ratio, check_long_tail_profile, split_long_tailed
from almlit.data.loaders import SamplerFactory


class LongTailCIFAR(CIFARFiles, ImageDataModule):
    """CIFAR with a long-tailed training set, a balanced validation set and the full, balanced test set.

    ``val_per_class`` training images of every class are held out for validation. Of the remaining images,
    class c keeps n_c = floor(n_max * imb^(-c / (C - 1))) (``profile="exponential"``) or n_max for the first
    half of the classes and floor(n_max / imb) for the rest (``profile="step"``), n_max being the images left
    per class (5000 - val_per_class on CIFAR10, 500 - val_per_class on CIFAR100). Both draws are seeded by
    ``split_seed``; see :func:`almlit.data.imbalance.long_tail_counts`.

    Args:
        root: folder holding (or receiving) ``cifar-10-batches-py/`` or ``cifar-100-python/``.
        variant: ``"cifar10"`` or ``"cifar100"``.
        imbalance_ratio: imb, n_max over the size of the smallest class.
        critical_classes: the critical class ids; ``None`` means the smallest class, ``(C - 1,)``.
        profile: ``"exponential"`` or ``"step"``.
        val_per_class: training images per class held out for validation, a balanced set. The default 50 is
            the paper's CIFAR100 hold-out (n_max = 450); its CIFAR10 hold-out is 100 (n_max = 4900).
        split_seed: seed of the validation hold-out and of the long-tailed subsampling.
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
        imbalance_ratio: float,
        critical_classes: Sequence[int] | None = None,
        profile: str = "exponential",
        val_per_class: int = 50,
        split_seed: int = 0,
        download: bool = False,
        batch_size: int = 128,
        eval_batch_size: int = 1024,
        crop_padding: int = 4,
        hflip: bool = True,
        seed: int = 0,
        sampler: SamplerFactory | None = None,
    ) -> None:
        num_classes = cifar_layout(variant).num_classes
        super().__init__(
            num_classes,
            (num_classes - 1,) if critical_classes is None else critical_classes,
            CIFAR_MEAN,
            CIFAR_STD,
            crop_padding,
            hflip,
            batch_size,
            eval_batch_size,
            seed,
            sampler,
        )
        check_imbalance_ratio(imbalance_ratio)
        check_long_tail_profile(profile)
        if val_per_class < 1:
            raise ValueError(f"data.val_per_class must be >= 1, got {val_per_class}")
        self.root = Path(root)
        self.variant = variant
        self.imbalance_ratio = imbalance_ratio
        self.profile = profile
        self.val_per_class = val_per_class
        self.split_seed = split_seed
        self.download = download

    def build_splits(self) -> DatasetSplits:
        train_images, train_labels = self.load_split(train=True)
        check_hold_out(train_labels, range(self.num_classes), self.val_per_class, f"{self.description}, training files")
        train_indices, validation_indices = split_long_tailed(
            train_labels, self.num_classes, self.imbalance_ratio, self.profile, self.val_per_class, self.split_seed
        )
        test_images, test_labels = self.load_split(train=False)

        num_train_samples = len(train_labels)
        return DatasetSplits(
            train=image_dataset(train_images, train_labels, train_indices),
            validation=image_dataset(train_images, train_labels, validation_indices),
            test=image_dataset(test_images, test_labels, np.arange(len(test_labels)), id_offset=num_train_samples),
            num_train_samples=num_train_samples,
        )
