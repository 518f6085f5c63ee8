"""A seeded synthetic multiparametric prostate MRI cohort, in the layout that :mod:`almlit.data.mri.manifest` reads.

Each subject is a continuous phantom in scanner coordinates (millimetres): an elliptic body, a prostate-like
ellipsoid with a brighter posterior (peripheral) zone, a smooth tissue texture, a linear bias field and a gain
per sequence. Every sequence file samples that phantom on its own voxel grid: T2w at the full resolution of
``shape``, ADC and DWI at half the in-plane resolution over a slightly larger field of view, each file stored in a
random orientation (axis order and directions) with its own voxel sizes, as int16 magnitude data with noise.

Positives carry one lesion, a small Gaussian blob inside the gland that is darker on T2w and ADC and brighter on
DWI, of random size and strength (``signal`` scales it). Any subject may carry a mimic: a blob of the same kind
visible in one sequence only. So the label is learnable from the sequences together, but not perfectly.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, cast

import nibabel as nib
import numpy as np

from almlit.data.mri.manifest import stratified_hold_out


class Contrast(NamedTuple):
    """How a sequence shows the phantom: tissue levels, relative lesion contrast, texture amplitude, noise sd."""

    body: float
    gland: float
    peripheral: float
    lesion: float
    texture: float
    noise: float


CONTRASTS = {
    "t2w": Contrast(body=300.0, gland=450.0, peripheral=650.0, lesion=-0.45, texture=0.08, noise=25.0),
    "adc": Contrast(body=1100.0, gland=1300.0, peripheral=1600.0, lesion=-0.40, texture=0.06, noise=90.0),
    "dwi": Contrast(body=110.0, gland=140.0, peripheral=120.0, lesion=0.90, texture=0.08, noise=14.0),
}
# Sequences acquired at half the in-plane resolution of the first, over a field of view this much larger.
LOW_RESOLUTION = {"adc", "dwi"}
LOW_RESOLUTION_FOV = 1.1
FIELD_OF_VIEW = np.array([128.0, 128.0, 72.0])  # mm along R, A, S
GLAND_RADII = np.array([21.0, 16.0, 18.0])  # mm along R, A, S
NUM_WAVES = 8
MIMIC_PROBABILITY = 0.4
CANONICAL_STORAGE_PROBABILITY = 0.7  # else the array axes are a random permutation of R, A, S


@dataclass(frozen=True)
class CohortSpec:
    """What to generate.

    Attributes:
        subjects: number of subjects.
        positives: share of positive subjects (label 1).
        test_fraction: share of each class in the test cohort.
        sequences: sequence names, each one of ``CONTRASTS``.
        shape: ``(D, H, W)`` voxels of the first sequence's volumes (slices, rows, columns).
        signal: scale of the lesion (and mimic) contrast; 0 makes the labels unlearnable.
        seed: seed of everything.
    """

    subjects: int = 120
    positives: float = 0.13
    test_fraction: float = 0.25
    sequences: tuple[str, ...] = ("t2w", "adc", "dwi")
    shape: tuple[int, int, int] = (20, 96, 96)
    signal: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "sequences", tuple(self.sequences))
        object.__setattr__(self, "shape", tuple(self.shape))
        unknown = [name for name in self.sequences if name not in CONTRASTS]
        if not self.sequences or unknown or len(set(self.sequences)) != len(self.sequences):
            raise ValueError(f"sequences must be distinct names among {list(CONTRASTS)}, got {list(self.sequences)}")
        if len(self.shape) != 3 or min(self.shape) < 2 or min(self.shape[1:]) < 4:
            raise ValueError(f"shape must be [D, H, W] with D >= 2 and H, W >= 4, got {list(self.shape)}")
        if not 0 < self.positives < 1:
            raise ValueError(f"positives must be in (0, 1), got {self.positives}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if self.signal < 0:
            raise ValueError(f"signal must be >= 0, got {self.signal}")
        counts = {"positive": self.num_positives, "negative": self.subjects - self.num_positives}
        for name, count in counts.items():
            if count < 3:
                raise ValueError(
                    f"subjects={self.subjects} with positives={self.positives} gives {count} {name} subject(s);"
                    " a cohort needs at least 3 of each class (training, validation and test)"
                )

    @property
    def num_positives(self) -> int:
        return round(self.positives * self.subjects)


class CohortSummary(NamedTuple):
    """What :func:`write_cohort` wrote."""

    manifest: Path
    counts: dict[str, tuple[int, int]]  # cohort -> (negatives, positives)
    num_files: int
    num_bytes: int


class Blob(NamedTuple):
    """A Gaussian blob: centre (mm), width sigma (mm), strength, and the sequences that show it."""

    centre: np.ndarray
    sigma: float
    strength: float
    sequences: tuple[str, ...]


class Phantom(NamedTuple):
    """One subject's anatomy and acquisition, all in scanner millimetres."""

    centre: np.ndarray
    field_of_view: np.ndarray
    gland_centre: np.ndarray
    gland_radii: np.ndarray
    waves: np.ndarray  # [NUM_WAVES, 3] wave vectors (rad / mm)
    phases: np.ndarray  # [NUM_WAVES]
    blobs: tuple[Blob, ...]
    gains: dict[str, float]
    bias: np.ndarray  # relative intensity change per mm, [3]


def random_blob(
    gland: tuple[np.ndarray, np.ndarray], sequences: tuple[str, ...], signal: float, rng: np.random.Generator
) -> Blob:
    """A blob inside the gland ``(centre, radii)``, within 65% of its radii, of random width and strength."""
    centre, radii = gland
    direction = rng.normal(size=3)
    offset = direction / np.linalg.norm(direction) * rng.uniform() ** (1 / 3) * 0.65
    return Blob(centre + offset * radii, rng.uniform(3.0, 6.0), signal * rng.uniform(0.5, 1.0), sequences)


def random_phantom(label: int, sequences: Sequence[str], signal: float, rng: np.random.Generator) -> Phantom:
    """Draw a subject: anatomy, acquisition gains and bias, a lesion when ``label`` is 1, maybe a mimic."""
    centre = rng.uniform(-30.0, 30.0, 3)
    gland = (centre + rng.normal(0.0, 3.0, 3), GLAND_RADII * rng.uniform(0.8, 1.25, 3))
    directions = rng.normal(size=(NUM_WAVES, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    blobs = []
    if label == 1:
        blobs.append(random_blob(gland, tuple(sequences), signal, rng))
    if rng.uniform() < MIMIC_PROBABILITY:
        blobs.append(random_blob(gland, (sequences[int(rng.integers(len(sequences)))],), signal, rng))
    bias = rng.normal(size=3)
    return Phantom(
        centre=centre,
        field_of_view=FIELD_OF_VIEW * rng.uniform(0.9, 1.1, 3),
        gland_centre=gland[0],
        gland_radii=gland[1],
        waves=directions * (2 * np.pi / rng.uniform(6.0, 24.0, (NUM_WAVES, 1))),
        phases=rng.uniform(0.0, 2 * np.pi, NUM_WAVES),
        blobs=tuple(blobs),
        gains={name: rng.uniform(0.7, 1.4) for name in sequences},
        bias=0.15 * bias / np.linalg.norm(bias) / FIELD_OF_VIEW.max(),
    )


def sigmoid(values: np.ndarray) -> np.ndarray:
    """The logistic function, for soft tissue boundaries."""
    return 0.5 * (1.0 + np.tanh(0.5 * values))


def column(vector: np.ndarray) -> np.ndarray:
    """A vector [3] shaped [3, 1, 1, 1], to broadcast against world points [3, X, Y, Z]."""
    return vector[:, None, None, None]


def intensity(phantom: Phantom, sequence: str, points: np.ndarray) -> np.ndarray:
    """Noise-free intensity of ``sequence`` at world points ``[3, X, Y, Z]`` (mm)."""
    contrast = CONTRASTS[sequence]
    offsets = points - column(phantom.centre)
    relative = offsets / column(phantom.field_of_view / 2)
    # an elliptic body along S filling 84% x 68% of the field of view (R x A), with a soft edge
    body = sigmoid((1.0 - np.hypot(relative[0] / 0.84, relative[1] / 0.68)) / 0.02)
    in_gland = (points - column(phantom.gland_centre)) / column(phantom.gland_radii)
    gland = sigmoid((1.0 - np.sqrt((in_gland**2).sum(axis=0))) / 0.05)
    peripheral = gland * sigmoid((-in_gland[1] - 0.2) / 0.1)
    level = body * (contrast.body + gland * (contrast.gland - contrast.body))
    level = level + peripheral * (contrast.peripheral - contrast.gland)
    phase = np.tensordot(phantom.waves, points, axes=(1, 0)) + phantom.phases[:, None, None, None]
    factor = 1.0 + contrast.texture * np.cos(phase).sum(axis=0) * np.sqrt(2.0 / NUM_WAVES)
    for blob in phantom.blobs:
        if sequence in blob.sequences:
            distance = ((points - column(blob.centre)) ** 2).sum(axis=0)
            factor = factor * (1.0 + contrast.lesion * blob.strength * gland * np.exp(-distance / (2 * blob.sigma**2)))
    bias = 1.0 + np.tensordot(phantom.bias, offsets, axes=1)
    return phantom.gains[sequence] * bias * level * factor


def sequence_grid(
    phantom: Phantom, sequence: str, index: int, shape: Sequence[int], rng: np.random.Generator
) -> tuple[tuple[int, int, int], np.ndarray]:
    """A random storage of one sequence: its array shape and voxel-to-world affine.

    The first sequence (``index`` 0) has ``shape`` = (D, H, W) voxels along S, A, R over the phantom's field of view;
    low-resolution sequences have half the in-plane voxels over a larger field of view.
    """
    counts = np.array([shape[2], shape[1], shape[0]])  # along R, A, S
    field = phantom.field_of_view.copy()
    if index > 0 and sequence in LOW_RESOLUTION:
        counts[:2] //= 2
        field[:2] *= LOW_RESOLUTION_FOV
    spacing = field / counts
    order = np.arange(3) if rng.uniform() < CANONICAL_STORAGE_PROBABILITY else rng.permutation(3)
    signs = rng.choice([-1.0, 1.0], 3)
    affine = np.diag([0.0, 0.0, 0.0, 1.0])
    for axis, world_axis in enumerate(order):
        affine[world_axis, axis] = signs[axis] * spacing[world_axis]
    array_shape = cast("tuple[int, int, int]", tuple(int(counts[world_axis]) for world_axis in order))  # 3 axes
    affine[:3, 3] = phantom.centre - affine[:3, :3] @ ((np.array(array_shape) - 1) / 2)
    return array_shape, affine


def sample_sequence(
    phantom: Phantom, sequence: str, shape: Sequence[int], affine: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Int16 magnitude volume of ``sequence`` on a voxel grid, with Gaussian noise before the magnitude."""
    indices = np.indices(shape, dtype=np.float64).reshape(3, -1)
    points = (affine[:3, :3] @ indices + affine[:3, 3:]).reshape(3, *shape)
    values = intensity(phantom, sequence, points) + rng.normal(0.0, CONTRASTS[sequence].noise, points.shape[1:])
    return np.clip(np.rint(np.abs(values)), 0, np.iinfo(np.int16).max).astype(np.int16)


def nifti_image(voxels: np.ndarray, affine: np.ndarray, description: str) -> nib.Nifti1Image:
    """An int16 NIfTI-1 image with scanner-coordinate qform and sform, millimetre units and a description."""
    image = nib.Nifti1Image(voxels, affine)
    image.set_qform(affine, code="scanner")
    image.set_sform(affine, code="scanner")
    image.header.set_xyzt_units("mm")
    image.header.set_data_dtype(np.int16)
    image.header["descrip"] = description.encode()[:79]
    return image


def cohort_labels(spec: CohortSpec) -> tuple[np.ndarray, np.ndarray]:
    """Labels in manifest order (positives at random rows) and the cohort of each row (stratified test hold-out)."""
    rng = np.random.default_rng([spec.seed, 0])
    labels = np.zeros(spec.subjects, dtype=np.int64)
    labels[rng.choice(spec.subjects, spec.num_positives, replace=False)] = 1
    test, _ = stratified_hold_out(labels, spec.test_fraction, spec.seed, "test_fraction")
    return labels, np.isin(np.arange(spec.subjects), test)


def write_cohort(out: Path, spec: CohortSpec, progress: Callable[[int, int], None] | None = None) -> CohortSummary:
    """Write ``spec.subjects`` subjects under ``out``: ``<id>/<sequence>.nii[.gz]`` and ``manifest.csv``.

    Args:
        out: the cohort folder, created if needed.
        spec: what to generate.
        progress: called as ``progress(done, total)`` after every subject.

    Returns:
        What was written.
    """
    labels, is_test = cohort_labels(spec)
    out.mkdir(parents=True, exist_ok=True)
    rows, num_bytes = [], 0
    for row, label in enumerate(labels):
        subject_id = f"P{row + 1:04d}"
        rng = np.random.default_rng([spec.seed, 1, row])
        phantom = random_phantom(int(label), spec.sequences, spec.signal, rng)
        suffix = ".nii" if rng.uniform() < 0.25 else ".nii.gz"
        (out / subject_id).mkdir(exist_ok=True)
        paths = {}
        for index, sequence in enumerate(spec.sequences):
            shape, affine = sequence_grid(phantom, sequence, index, spec.shape, rng)
            voxels = sample_sequence(phantom, sequence, shape, affine, rng)
            relative = f"{subject_id}/{sequence}{suffix}"
            nib.save(nifti_image(voxels, affine, f"almlit synthetic {sequence} {subject_id}"), out / relative)
            num_bytes += (out / relative).stat().st_size
            paths[sequence] = relative
        cohort = "test" if is_test[row] else "train"
        rows.append({"subject_id": subject_id, "label": int(label), "cohort": cohort, **paths})
        if progress is not None:
            progress(row + 1, spec.subjects)
    manifest = out / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["subject_id", "label", "cohort", *spec.sequences])
        writer.writeheader()
        writer.writerows(rows)
    counts = {
        cohort: (int(np.sum((labels == 0) & (is_test == in_test))), int(np.sum((labels == 1) & (is_test == in_test))))
        for cohort, in_test in (("train", False), ("test", True))
    }
    return CohortSummary(manifest, counts, len(rows) * len(spec.sequences), num_bytes)
