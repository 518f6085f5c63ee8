"""The two data pipelines compared by the benchmark, over the same training images.

* batched (almlit's): uint8 tensors, :class:`~almlit.data.samplers.EpochShuffleSampler`, one indexing
  operation per batch, then :class:`~almlit.data.transforms.BatchAugment` on the device;
* per-sample (the usual torchvision recipe, as in the authors' code): one PIL image per sample through
  ``RandomCrop`` + ``RandomHorizontalFlip`` + ``ToTensor`` + ``Normalize``, stacked by the default collate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from almlit.data import BatchAugment, ImageDataModule, TensorImageDataset
from almlit.data.epoch_seeding import AUGMENT_STREAM, epoch_generator
from almlit.data.indexed import Batch


def normalisation_of(augment: BatchAugment) -> tuple[list[float], list[float]]:
    """Per-channel mean and std behind ``augment``'s ``x * scale + shift`` (scale = 1/(255 std), shift = -mean/std)."""
    std = 1.0 / (255.0 * augment.scale.flatten().double())
    mean = -augment.shift.flatten().double() * std
    return mean.tolist(), std.tolist()


def per_sample_transform(augment: BatchAugment, image_size: int) -> Callable[[Image.Image], torch.Tensor]:
    """The torchvision per-sample equivalent of ``augment`` in training mode."""
    steps: list[Callable] = []
    if augment.crop_padding:
        steps.append(transforms.RandomCrop(image_size, padding=augment.crop_padding))
    if augment.hflip:
        steps.append(transforms.RandomHorizontalFlip())
    mean, std = normalisation_of(augment)
    return transforms.Compose([*steps, transforms.ToTensor(), transforms.Normalize(mean, std)])


class PILImageDataset(Dataset):
    """The images of a :class:`TensorImageDataset`, served one PIL image at a time like torchvision's CIFAR.

    Args:
        dataset: the source images, labels and sample ids.
        transform: applied to every PIL image.
    """

    def __init__(self, dataset: TensorImageDataset, transform: Callable[[Image.Image], torch.Tensor]) -> None:
        images = dataset.images.cpu().permute(0, 2, 3, 1).numpy()  # HWC, the layout PIL reads
        self.images = images[..., 0] if images.shape[-1] == 1 else np.ascontiguousarray(images)
        self.labels = dataset.labels.tolist()
        self.sample_ids = dataset.sample_ids.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        return self.transform(Image.fromarray(self.images[index])), self.labels[index], self.sample_ids[index]


def augmented_batches(datamodule: ImageDataModule, device: torch.device) -> Iterator[Batch]:
    """The training batches of epoch 0 as training sees them: sampled, moved to ``device``, augmented, normalised."""
    augment = datamodule.augment.to(device)
    generator = epoch_generator(datamodule.seed, 0, AUGMENT_STREAM, device)
    for images, labels, sample_ids in datamodule.train_dataloader():
        yield augment(images.to(device), train=True, generator=generator), labels.to(device), sample_ids.to(device)


def batched_epoch(datamodule: ImageDataModule, device: torch.device) -> Callable[[], int]:
    """One pass of almlit's training pipeline over the training set; the function returns the image count."""

    def run() -> int:
        return sum(len(images) for images, _, _ in augmented_batches(datamodule, device))

    return run


def per_sample_epoch(datamodule: ImageDataModule, device: torch.device) -> Callable[[], int]:
    """One pass of the per-sample torchvision pipeline over the same images; the function returns the image count."""
    image_size = datamodule.train_dataset.images.shape[-1]
    dataset = PILImageDataset(datamodule.train_dataset, per_sample_transform(datamodule.augment, image_size))
    loader = DataLoader(dataset, batch_size=datamodule.batch_size, shuffle=True, num_workers=0)

    def run() -> int:
        return sum(len(images.to(device)) for images, _, _ in loader)

    return run
