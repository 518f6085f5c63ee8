"""From image files to one uint8 array ``[N, C, H, W]``: decode with torchvision.io, resize, scale to 8 bits.

Each file is decoded once (``torchvision.io.decode_image``: PNG, JPEG, WebP), converted to ``channels`` (1: gray,
3: RGB), resized to ``shape`` (bilinear with antialiasing, as ``torchvision.transforms.v2.Resize``) and scaled to
0..255: an 8-bit image as it is, a 16-bit one as ``round(value * 255 / intensity_max)`` clipped to 255
(``intensity_max`` defaults to 65535; 4095 suits 12-bit X-rays stored in 16 bits). With ``shape`` set, the result
of every file is kept in a :class:`~almlit.data.mri.cache.PreprocessCache` keyed by the file's contents and these
settings, so a second run decodes nothing.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms.v2.functional import resize

from almlit.data.cached import fill_cached

log = logging.getLogger(__name__)

READ_MODES = {1: ImageReadMode.GRAY, 3: ImageReadMode.RGB}
# Raise when it changes what decode_one returns for the same file and settings: it is part of the cache key.
DECODE_VERSION = 1


@dataclass(frozen=True)
class DecodeSettings:
    """What turns an image file into a uint8 array; with the file's contents it keys the cache.

    Attributes:
        channels: 1 (grayscale) or 3 (RGB); images of the other kind are converted.
        shape: ``(H, W)`` of every image, or ``None`` to keep the files' own size (which must then agree).
        intensity_max: the 16-bit value mapped to 255, or ``None`` for 65535.
    """

    channels: int = 3
    shape: tuple[int, int] | None = None
    intensity_max: int | None = None

    def __post_init__(self) -> None:
        if self.channels not in READ_MODES:
            raise ValueError(f"data.channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if self.shape is not None:
            shape = tuple(self.shape)
            if len(shape) != 2 or not all(isinstance(size, int) and size >= 1 for size in shape):
                raise ValueError(f"data.shape must be null or two positive ints [H, W], got {list(shape)}")
            object.__setattr__(self, "shape", shape)
        if self.intensity_max is not None and not 1 <= self.intensity_max <= 65535:
            raise ValueError(f"data.intensity_max must be null or in 1..65535, got {self.intensity_max}")

    def key(self) -> str:
        """The settings and the decoder version as canonical JSON."""
        return json.dumps({"images": asdict(self), "version": DECODE_VERSION}, sort_keys=True)


def decode_one(path: Path, settings: DecodeSettings) -> torch.Tensor:
    """Decode, resize and scale one image file.

    Args:
        path: a PNG, JPEG or WebP file, 8 or 16 bits per channel.
        settings: channels, size and 16-bit scaling.

    Returns:
        uint8 tensor ``[channels, H, W]``.

    Raises:
        ValueError: naming the file if it cannot be decoded (not an image, truncated, damaged).
    """
    try:
        image = decode_image(str(path), mode=READ_MODES[settings.channels])
    except RuntimeError as error:
        reason = re.sub(r"^.*?\.cpp:\d+, ", "", str(error)).strip()  # drop torchvision's C++ source location
        raise ValueError(f"image {path} cannot be decoded: {reason}") from error
    if settings.shape is not None and tuple(image.shape[1:]) != settings.shape:
        resized = resize(image.to(torch.float32), list(settings.shape), antialias=True)
        image = resized.round_().clamp_(0, torch.iinfo(image.dtype).max).to(image.dtype)
    if image.dtype == torch.uint8:
        return image
    intensity_max = 65535 if settings.intensity_max is None else settings.intensity_max
    scaled = (image.to(torch.float32) * (255 / intensity_max)).round_().clamp_(0, 255)
    return scaled.to(torch.uint8)


def check_same_size(images: Sequence[torch.Tensor], paths: Sequence[Path]) -> None:
    """Images kept at their own size must all have the first one's size.

    Raises:
        ValueError: naming the first file of another size and the setting that resizes them.
    """
    first = tuple(images[0].shape[1:])
    for image, path in zip(images, paths, strict=True):
        if tuple(image.shape[1:]) != first:
            raise ValueError(
                f"images differ in size: {paths[0]} is {first[0]}x{first[1]}, {path} is"
                f" {image.shape[1]}x{image.shape[2]} (HxW); set data.shape=[H,W] to resize them all"
            )


def load_images(paths: Sequence[Path], settings: DecodeSettings, cache_folder: Path | str | None = None) -> np.ndarray:
    """Decode every file (or fetch it from the cache) into one uint8 array ``[N, channels, H, W]``.

    Args:
        paths: the image files, in the order of the result.
        settings: channels, size and 16-bit scaling.
        cache_folder: a :class:`~almlit.data.mri.cache.PreprocessCache` folder, or ``None``; used only when
            ``settings.shape`` is set.

    Raises:
        ValueError: for a file that cannot be decoded, or for images of different sizes without ``shape``.
    """
    started = time.perf_counter()
    if settings.shape is None:
        decoded = [decode_one(path, settings) for path in paths]
        check_same_size(decoded, paths)
        return torch.stack(decoded).numpy()
    images = np.empty((len(paths), settings.channels, *settings.shape), dtype=np.uint8)

    def decode_into(path: Path, slot: np.ndarray) -> None:
        slot[...] = decode_one(path, settings).numpy()

    hits = fill_cached(images, paths, lambda path: [path], decode_into, settings.key(), cache_folder)
    log.info(
        "images: %d decoded in %.1f s (%d from the cache %s)",
        len(paths),
        time.perf_counter() - started,
        hits,
        cache_folder,
    )
    return images


def channel_statistics(images: torch.Tensor, chunk: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) standard deviation of uint8 images scaled to [0, 1].

    Args:
        images: uint8 ``[N, C, H, W]``.
        chunk: images summed at a time (bounds the float64 copy).

    Returns:
        ``(mean, std)``, C values each; a constant channel gets std 1 so normalising never divides by 0.
    """
    total = torch.zeros(images.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(total)
    for start in range(0, len(images), chunk):
        block = images[start : start + chunk].to(torch.float64) / 255
        total += block.sum(dim=(0, 2, 3))
        squares += block.square().sum(dim=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = total / count
    std = (squares / count - mean.square()).clamp_(min=0).sqrt()
    std = torch.where(std > 0, std, torch.ones_like(std))
    return tuple(mean.tolist()), tuple(std.tolist())
