"""Reading one NIfTI volume with nibabel, and rejecting what cannot be used, in one line naming subject and file."""

from __future__ import annotations

import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError

# What nibabel raises for a file that is not NIfTI, is damaged, or ends early (plain or gzip-compressed).
UNREADABLE = (ImageFileError, OSError, EOFError, ValueError, zlib.error)


def read_volume(path: Path, subject_id: str, sequence: str) -> tuple[np.ndarray, np.ndarray]:
    """Load a 3D NIfTI volume: its voxels (scaled by the header's slope and intercept) and its affine.

    Trailing axes of length 1 (``[X, Y, Z, 1]``) are dropped; any other 4D volume is rejected.

    Args:
        path: a ``.nii`` or ``.nii.gz`` file.
        subject_id: named in error messages.
        sequence: named in error messages.

    Returns:
        ``(voxels float32 [X, Y, Z], affine float64 [4, 4])``; the affine maps voxel indices to RAS+ millimetres.

    Raises:
        FileNotFoundError: if the file is missing.
        ValueError: if it is not NIfTI, is truncated, is not 3D, holds NaN or inf voxels, or has a singular affine.
    """
    where = f"subject {subject_id}, sequence {sequence}: {path}"
    if not path.is_file():
        raise FileNotFoundError(f"{where}: file not found")
    try:
        image = nib.load(path)
    except UNREADABLE as error:
        raise ValueError(f"{where}: not a readable NIfTI file ({one_line(error)})") from error
    if not isinstance(image, nib.Nifti1Image):  # Nifti2Image is a subclass
        raise ValueError(f"{where}: is a {type(image).__name__}, not a NIfTI image")
    shape = image.shape
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) != 3:
        raise ValueError(f"{where}: expected a 3D volume, got a {len(shape)}D one of shape {image.shape}")
    try:
        voxels = np.asarray(image.dataobj, dtype=np.float32).reshape(shape)
    except UNREADABLE as error:
        raise ValueError(f"{where}: truncated or damaged voxel data ({one_line(error)})") from error
    bad = np.count_nonzero(~np.isfinite(voxels))
    if bad:
        raise ValueError(f"{where}: {bad} of {voxels.size} voxels are NaN or inf")
    affine = np.asarray(image.affine, dtype=np.float64)
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise ValueError(f"{where}: the affine is singular or not finite, cannot place the volume in space")
    return voxels, affine


def one_line(error: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(error).split())
