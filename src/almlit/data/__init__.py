"""Imbalanced image data: tensor-resident datasets with sample ids and batched, on-device augmentation."""

from almlit.data.base import BinaryImageDataModule, ImageDataModule
from almlit.data.cifar import BinaryCIFAR
from almlit.data.digits import BinaryDigits
from almlit.data.images import ImageFolderData
from almlit.data.indexed import TensorImageDataset
from almlit.data.long_tail import LongTailCIFAR
from almlit.data.mri import MRICohort
from almlit.data.transforms import BatchAugment

__all__ = [
    "BatchAugment",
    "BinaryCIFAR",
    "BinaryDigits",
    "BinaryImageDataModule",
    "ImageDataModule",
    "ImageFolderData",
    "LongTailCIFAR",
    "MRICohort",
    "TensorImageDataset",
]
