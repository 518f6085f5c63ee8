"""Hand-built NIfTI files and manifests for the MRI tests (tiny volumes, known geometry), and the size of the
generated cohort the MRI fixtures write."""

import csv
from pathlib import Path

import nibabel as nib
import numpy as np

from almlit.data.mri.synthetic import CohortSpec

# 16 subjects, 4 positive: train 12 (3 positive), test 4 (1 positive); T2w volumes 8 x 16 x 16.
TINY_COHORT = CohortSpec(subjects=16, positives=0.25, shape=(8, 16, 16), seed=3)
SEQUENCES = ("t2w", "adc")
SHAPE = (6, 8, 7)  # array shape of the hand-built volumes (X, Y, Z)
SPACING = (1.5, 1.25, 3.0)  # mm along X, Y, Z


def axis_aligned_affine(spacing=SPACING, origin=(-5.0, -4.0, -9.0)) -> np.ndarray:
    """A RAS-oriented affine with the given voxel sizes and origin."""
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = origin
    return affine


def write_nifti(path: Path, voxels: np.ndarray, affine: np.ndarray | None = None) -> Path:
    """Save ``voxels`` as a NIfTI file (``.nii`` or ``.nii.gz`` after the suffix of ``path``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(voxels, axis_aligned_affine() if affine is None else affine), path)
    return path


def write_manifest(path: Path, rows: list[dict], columns=None) -> Path:
    """Write ``rows`` as a CSV with ``columns`` (default: the keys of the first row)."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def build_cohort(root: Path, labels=(0, 0, 0, 1, 1, 0, 0, 1), cohorts=None, seed=0) -> list[dict]:
    """Subjects S01.. with random volumes at ``<id>/<sequence>.nii.gz`` (found by the default pattern) and a manifest.

    By default the first six subjects are training subjects (four negatives, two positives) and the last two
    (one of each class) the test cohort.
    """
    rng = np.random.default_rng(seed)
    cohorts = cohorts or ["train"] * 6 + ["test"] * 2
    rows = []
    for index, (label, cohort) in enumerate(zip(labels, cohorts, strict=True)):
        subject_id = f"S{index + 1:02d}"
        for sequence in SEQUENCES:
            write_nifti(root / subject_id / f"{sequence}.nii.gz", rng.normal(100.0, 10.0, SHAPE).astype(np.float32))
        rows.append({"subject_id": subject_id, "label": label, "cohort": cohort})
    write_manifest(root / "manifest.csv", rows)
    return rows


def write_oriented_nifti(path: Path, voxels: np.ndarray, qform: np.ndarray | None, sform: np.ndarray | None) -> Path:
    """Save ``voxels`` with exactly this qform and sform (code ``scanner``); ``None`` leaves one unset (code 0)."""
    header = nib.Nifti1Header()
    header.set_data_shape(voxels.shape)
    header.set_data_dtype(np.float32)
    header.set_qform(qform, code="scanner" if qform is not None else 0)
    header.set_sform(sform, code="scanner" if sform is not None else 0)
    nib.save(nib.Nifti1Image(voxels, None, header), path)
    return path
