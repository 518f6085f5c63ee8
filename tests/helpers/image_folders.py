"""Real images for the image-folder tests, written from what installed packages ship (the suite runs offline).

scikit-learn ships 1797 8x8 handwritten digits (``load_digits``) and two 427x640 RGB photographs
(``load_sample_images``: china.jpg, flower.jpg); these helpers write them as PNG or JPEG files in a folder per
class or with a manifest.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits, load_sample_images
from torchvision.io import write_jpeg, write_png

# Training overrides for a folder written by write_digit_folder(tmp_path / "digits", ...) with a class "eight".
DIGIT_FOLDER_RUN = (
    "data=images",
    "data.root=digits",
    "data.positive_classes=[eight]",
    "data.channels=1",
    "data.shape=[12,12]",
    "data.crop_padding=1",
    "data.hflip=false",  # a mirrored digit is another symbol
    "optim.lr=0.05",
    "model=small_cnn",
    "model.in_channels=1",
)


def digit_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as uint8 images [1797, 8, 8] (0..16 scaled to 0..255) and their digits [1797]."""
    digits = load_digits()
    return np.round(digits.images * (255 / 16)).astype(np.uint8), digits.target


def write_digit_folder(root: Path, per_class: dict[str, int], digit_of: dict[str, int]) -> list[Path]:
    """Write the first ``per_class[name]`` images of digit ``digit_of[name]`` as ``root/<name>/<index>.png``.

    Returns:
        The files in the order a folder layout lists them (classes sorted, files sorted by name).
    """
    images, targets = digit_images()
    written = []
    for name in sorted(per_class):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in np.flatnonzero(targets == digit_of[name])[: per_class[name]]:
            path = folder / f"{index:04d}.png"
            write_png(torch.from_numpy(images[index])[None], str(path))
            written.append(path)
    return sorted(written, key=lambda path: (path.parent.name, path.name))


def photo_crops(count: int, size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
    """``count`` random HxWx3 uint8 crops of scikit-learn's two sample photographs."""
    photos = load_sample_images().images
    generator = np.random.default_rng(seed)
    crops = []
    for index in range(count):
        photo = photos[index % len(photos)]
        top = generator.integers(0, photo.shape[0] - size[0])
        left = generator.integers(0, photo.shape[1] - size[1])
        crops.append(np.ascontiguousarray(photo[top : top + size[0], left : left + size[1]]))
    return crops


def write_jpeg_file(path: Path, image: np.ndarray) -> Path:
    """Write an HxWx3 uint8 image as a JPEG (quality 95)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jpeg(torch.from_numpy(image).permute(2, 0, 1).contiguous(), str(path), quality=95)
    return path


def write_manifest(path: Path, rows: Sequence[dict]) -> Path:
    """Write ``rows`` (dicts with the same keys) as a CSV manifest."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
