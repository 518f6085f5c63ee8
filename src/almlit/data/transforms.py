"""Batched augmentation on uint8 image tensors, run on whatever device the batch is on.

Per sample this has the semantics of torchvision's ``RandomCrop(size, padding)`` (zero padding, offsets
uniform in [0, 2 * padding]) followed by ``RandomHorizontalFlip(p=0.5)``, then ``ToTensor`` and
``Normalize``; but it handles the whole batch with one gather instead of a Python loop over PIL images.
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def random_crop_flip(
    images: torch.Tensor, offsets_y: torch.Tensor, offsets_x: torch.Tensor, flip: torch.Tensor, padding: int
) -> torch.Tensor:
    """Crop every image at its own offset from its zero-padded copy, and mirror the chosen ones.

    Sample n of the output is ``pad(images[n])[:, y:y + H, x:x + W]`` with ``y = offsets_y[n]``,
    ``x = offsets_x[n]``, flipped left-right when ``flip[n]``.

    Args:
        images: tensor [N, C, H, W] of any dtype.
        offsets_y: long [N], row offsets in [0, 2 * padding].
        offsets_x: long [N], column offsets in [0, 2 * padding].
        flip: bool [N], which crops to mirror horizontally.
        padding: zero pixels added on every side before cropping.

    Returns:
        Tensor [N, C, H, W] of the dtype of ``images``.
    """
    num_images, channels, height, width = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    device = images.device
    rows = offsets_y[:, None] + torch.arange(height, device=device)
    columns = torch.arange(width, device=device).expand(num_images, width)
    columns = offsets_x[:, None] + torch.where(flip[:, None], columns.flip(1), columns)
    return padded[
        torch.arange(num_images, device=device)[:, None, None, None],
        torch.arange(channels, device=device)[None, :, None, None],
        rows[:, None, :, None],
        columns[:, None, None, :],
    ]


class BatchAugment(nn.Module):
    """Random crop + horizontal flip when training, then float conversion and normalisation.

    Normalisation computes (x / 255 - mean) / std as one multiply-add, x * scale + shift.

    Args:
        mean: per-channel mean of the images scaled to [0, 1].
        std: per-channel standard deviation of the images scaled to [0, 1].
        crop_padding: zero padding of the random crop; 0 disables cropping.
        hflip: whether to mirror half of the training images left-right.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], crop_padding: int = 4, hflip: bool = True) -> None:
        super().__init__()
        if crop_padding < 0:
            raise ValueError(f"crop_padding must be >= 0, got {crop_padding}")
        self.mean = tuple(float(value) for value in mean)
        self.std = tuple(float(value) for value in std)
        mean_tensor = torch.tensor(mean, dtype=torch.float32)[:, None, None]
        std_tensor = torch.tensor(std, dtype=torch.float32)[:, None, None]
        self.register_buffer("scale", 1.0 / (255.0 * std_tensor), persistent=False)
        self.register_buffer("shift", -mean_tensor / std_tensor, persistent=False)
        self.crop_padding = crop_padding
        self.hflip = hflip

    def forward(self, images: torch.Tensor, train: bool, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment (when ``train``) and normalise a batch.

        Args:
            images: uint8 [N, C, H, W] on the device of this module's buffers.
            train: draw a random crop and flip per sample; otherwise only normalise.
            generator: optional source of randomness, on the device of ``images``.

        Returns:
            float32 [N, C, H, W], normalised.
        """
        if train:
            num_images = len(images)
            offsets = torch.randint(
                0, 2 * self.crop_padding + 1, (2, num_images), device=images.device, generator=generator
            )
            if self.hflip:
                flip = torch.rand(num_images, device=images.device, generator=generator) < 0.5
            else:
                flip = torch.zeros(num_images, dtype=torch.bool, device=images.device)
            images = random_crop_flip(images, offsets[0], offsets[1], flip, self.crop_padding)
        return torch.addcmul(self.shift, images.float(), self.scale)
