"""From a subject's NIfTI files to one float32 array ``[S, D, H, W]``: normalise, reorient, resample, crop or pad.

Every sequence is resampled (trilinear, ``nibabel.processing.resample_from_to``) onto one target grid per subject
in world (scanner) coordinates, so sequences stored in different orientations, spacings and fields of view line
up voxel for voxel. The target grid is aligned with canonical RAS+: its array axes D, H, W run towards superior,
anterior and the patient's right (index 0 is the inferior, posterior, left end), so ``volume[:, d]`` is an axial
slice. The grid is centred on the reference sequence (the first of ``data.sequences``):

* ``spacing`` given: voxels of that size (mm, in D, H, W order), ``shape`` of them, so the reference's field of
  view is centre-cropped or zero-padded to ``shape * spacing`` millimetres;
* ``spacing`` null: the reference's whole field of view resized to ``shape``.

Each volume is normalised on its own voxels before resampling, so the statistics do not depend on the crop;
voxels outside a sequence's field of view are 0.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass

import nibabel as nib
import numpy as np
from nibabel.processing import resample_from_to

from almlit.data.mri.manifest import Subject, check_sequences
from almlit.data.mri.nifti import check_prefer_transform, read_volume

NORMALIZATIONS = ("zscore", "percentile")
# Raise when it changes what preprocess_subject returns for the same files and settings: it is part of the cache key.
PREPROCESS_VERSION = 1
# World axis (0 = R, 1 = A, 2 = S) of the target grid's array axes D, H, W.
GRID_AXES = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]], dtype=np.float64)
# A sequence must cover at least this share of the reference sequence's field of view (inside the target grid).
MIN_COVERAGE = 0.5


@dataclass(frozen=True)
class PreprocessSettings:
    """What turns files into arrays; together with the files' contents it keys the cache.

    Attributes:
        sequences: sequence names, in channel order; the first is the reference of the grid.
        shape: ``(D, H, W)`` voxels of the output.
        spacing: ``(D, H, W)`` voxel size in mm, or ``None`` to resize the reference's field of view to ``shape``.
        normalize: ``"zscore"`` ((x - mean) / std) or ``"percentile"`` (clip to ``percentiles``, scale to [0, 1]).
        percentiles: lower and upper percentile of the ``"percentile"`` normalisation.
        prefer_transform: which of a file's qform and sform to trust when they disagree: ``"strict"`` (refuse),
            ``"sform"`` or ``"qform"`` (see :mod:`almlit.data.mri.nifti`).
    """

    sequences: tuple[str, ...]
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float] | None = None
    normalize: str = "zscore"
    percentiles: tuple[float, float] = (1.0, 99.0)
    prefer_transform: str = "strict"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sequences", check_sequences(self.sequences))
        shape = tuple(self.shape)
        if len(shape) != 3 or not all(isinstance(size, int) and size >= 1 for size in shape):
            raise ValueError(f"data.shape must be three positive ints [D, H, W], got {list(shape)}")
        object.__setattr__(self, "shape", shape)
        if self.spacing is not None:
            spacing = tuple(float(size) for size in self.spacing)
            if len(spacing) != 3 or not all(size > 0 for size in spacing):
                raise ValueError(f"data.spacing must be null or three sizes > 0 in mm [D, H, W], got {self.spacing}")
            object.__setattr__(self, "spacing", spacing)
        if self.normalize not in NORMALIZATIONS:
            raise ValueError(f"data.normalize must be one of {list(NORMALIZATIONS)}, got {self.normalize!r}")
        percentiles = tuple(float(value) for value in self.percentiles)
        if len(percentiles) != 2 or not 0 <= percentiles[0] < percentiles[1] <= 100:
            raise ValueError(f"data.percentiles must be [low, high] with 0 <= low < high <= 100, got {percentiles}")
        object.__setattr__(self, "percentiles", percentiles)
        check_prefer_transform(self.prefer_transform)

    def key(self) -> str:
        """The settings and the preprocessing version as canonical JSON."""
        return json.dumps({**dataclasses.asdict(self), "version": PREPROCESS_VERSION}, sort_keys=True)


def normalize_intensity(voxels: np.ndarray, method: str, percentiles: Sequence[float] = (1.0, 99.0)) -> np.ndarray:
    """Normalise one volume on all its voxels.

    Args:
        voxels: float32 array.
        method: ``"zscore"``: (x - mean) / std; ``"percentile"``: clip to the two percentiles, then map them to 0, 1.
        percentiles: the percentiles of the ``"percentile"`` method.

    Returns:
        float32 array of the same shape.

    Raises:
        ValueError: if the volume is constant (or constant between the percentiles).
    """
    if method == "zscore":
        low, spread = voxels.mean(dtype=np.float64), voxels.std(dtype=np.float64)
    else:
        low, high = np.percentile(voxels, percentiles)
        voxels, spread = np.clip(voxels, low, high), high - low
    if spread <= 1e-6 * max(1.0, abs(float(low))):
        raise ValueError(f"the volume is constant (every voxel is {float(voxels.flat[0]):g}), it cannot be normalised")
    return ((voxels - low) / spread).astype(np.float32)


def field_of_view(affine: np.ndarray, shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """World bounding box ``(low [3], high [3])`` of a voxel grid, voxels counted by their full extent."""
    corners = np.array(np.meshgrid(*[(-0.5, size - 0.5) for size in shape], indexing="ij")).reshape(3, -1)
    world = affine[:3, :3] @ corners + affine[:3, 3:]
    return world.min(axis=1), world.max(axis=1)


def box_volume(low: np.ndarray, high: np.ndarray) -> float:
    """Volume of a box, 0 when it is empty."""
    return float(np.prod(np.clip(high - low, 0, None)))


def target_grid(
    reference_affine: np.ndarray,
    reference_shape: Sequence[int],
    shape: Sequence[int],
    spacing: Sequence[float] | None,
) -> np.ndarray:
    """The affine of the RAS-aligned target grid of ``shape`` voxels, centred on the reference volume.

    Args:
        reference_affine: voxel-to-world affine of the reference volume.
        reference_shape: its shape.
        shape: ``(D, H, W)`` of the target grid.
        spacing: voxel size (mm, D, H, W), or ``None`` to cover the reference's field of view exactly.

    Returns:
        float64 [4, 4]: target voxel ``(d, h, w)`` to world millimetres.
    """
    low, high = field_of_view(reference_affine, reference_shape)
    if spacing is None:
        spacing = (GRID_AXES.T @ (high - low)) / np.asarray(shape)
    rotation_zoom = GRID_AXES @ np.diag(spacing)
    affine = np.eye(4)
    affine[:3, :3] = rotation_zoom
    affine[:3, 3] = (low + high) / 2 - rotation_zoom @ ((np.asarray(shape) - 1) / 2)
    return affine


def resample(voxels: np.ndarray, affine: np.ndarray, shape: Sequence[int], grid_affine: np.ndarray) -> np.ndarray:
    """Trilinear resampling of a volume onto a grid, in world coordinates; 0 outside the volume.

    Args:
        voxels: float32 [X, Y, Z].
        affine: its voxel-to-world affine.
        shape: the grid's shape.
        grid_affine: the grid's voxel-to-world affine.

    Returns:
        float32 array of ``shape``.
    """
    resampled = resample_from_to(nib.Nifti1Image(voxels, affine), (tuple(shape), grid_affine), order=1, cval=0.0)
    return np.asarray(resampled.dataobj, dtype=np.float32)


def preprocess_subject(subject: Subject, settings: PreprocessSettings, out: np.ndarray | None = None) -> np.ndarray:
    """Read, normalise and resample every sequence of a subject onto the grid of its reference sequence.

    Args:
        subject: a manifest row; ``subject.paths`` follow ``settings.sequences``.
        settings: shape, spacing and normalisation.
        out: optional float32 ``[S, D, H, W]`` array to write into (e.g. a slot of the cohort's array).

    Returns:
        float32 ``[S, D, H, W]`` (``out`` when given).

    Raises:
        FileNotFoundError, ValueError: naming the subject and the file, for unreadable or unusable input.
    """
    if out is None:
        out = np.empty((len(settings.sequences), *settings.shape), dtype=np.float32)
    names = list(zip(settings.sequences, subject.paths, strict=True))
    volumes = [read_volume(path, subject.subject_id, sequence, settings.prefer_transform) for sequence, path in names]
    reference_voxels, reference_affine = volumes[0]
    grid = target_grid(reference_affine, reference_voxels.shape, settings.shape, settings.spacing)
    reference_box = intersect(
        field_of_view(reference_affine, reference_voxels.shape), field_of_view(grid, settings.shape)
    )
    for channel, ((sequence, path), (voxels, affine)) in enumerate(zip(names, volumes, strict=True)):
        where = f"subject {subject.subject_id}, sequence {sequence}: {path}"
        covered = intersect(reference_box, field_of_view(affine, voxels.shape))
        coverage = box_volume(*covered) / box_volume(*reference_box)
        if coverage < MIN_COVERAGE:
            raise ValueError(
                f"{where}: shape {voxels.shape} covers {coverage:.0%} of the field of view of"
                f" {settings.sequences[0]} (shape {reference_voxels.shape}); the sequences do not overlap in space"
                " and cannot be resampled onto one grid"
            )
        try:
            normalized = normalize_intensity(voxels, settings.normalize, settings.percentiles)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from error
        out[channel] = resample(normalized, affine, settings.shape, grid)
    return out


def intersect(
    first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Intersection of two boxes ``(low, high)``."""
    return np.maximum(first[0], second[0]), np.minimum(first[1], second[1])
