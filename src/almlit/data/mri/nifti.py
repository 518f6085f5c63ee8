"""Reading one NIfTI volume with nibabel, and rejecting what cannot be used, in one line naming subject and file.

Where a volume lies in space comes from its header, which can hold two transforms: the qform (a rotation, voxel
sizes and a shift) and the sform (any affine), each with a code saying whether it is set. When both are set and
disagree, a reader that silently picks one (nibabel's ``image.affine`` picks the sform) can mirror or shift one
sequence against the others of its subject; when neither is set, the position is a guess. Both are refused unless
``data.prefer_transform`` says which transform to trust:

* ``strict`` (default): use the transform that is set; refuse a file whose qform and sform disagree;
* ``sform`` / ``qform``: when both are set and disagree, use this one.

A file with neither transform is refused whatever the setting.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError

# What nibabel raises for a file that is not NIfTI, is damaged, or ends early (plain or gzip-compressed).
UNREADABLE = (ImageFileError, OSError, EOFError, ValueError, zlib.error)
PREFER_TRANSFORM = ("strict", "sform", "qform")
# qform and sform agree when they place every corner voxel of the volume within this share of its smallest voxel size.
AGREEMENT = 0.1


def check_prefer_transform(prefer_transform: str) -> str:
    """Return ``data.prefer_transform`` after checking it is one of :data:`PREFER_TRANSFORM`."""
    if prefer_transform not in PREFER_TRANSFORM:
        raise ValueError(f"data.prefer_transform must be one of {list(PREFER_TRANSFORM)}, got {prefer_transform!r}")
    return prefer_transform


def corner_distance(first: np.ndarray, second: np.ndarray, shape: tuple[int, ...]) -> float:
    """Largest distance (mm) between where two voxel-to-world affines put the corner voxels of a grid of ``shape``."""
    corners = np.array(np.meshgrid(*[(0, size - 1) for size in shape[:3]], indexing="ij")).reshape(3, -1)
    corners = np.vstack([corners, np.ones(corners.shape[1])])
    return float(np.linalg.norm((first - second)[:3] @ corners, axis=0).max())


def orientation(header: nib.Nifti1Header, shape: tuple[int, ...], prefer_transform: str = "strict") -> np.ndarray:
    """The voxel-to-world affine to trust, from the header's qform and sform and their codes.

    Args:
        header: a NIfTI-1 or NIfTI-2 header.
        shape: the volume's shape (its corners measure how far qform and sform are apart).
        prefer_transform: ``strict``, ``sform`` or ``qform`` (see the module docstring).

    Returns:
        float64 [4, 4]: the transform that is set; the sform when both are set and agree (within
        :data:`AGREEMENT` of the smallest voxel size at every corner); else the one ``prefer_transform`` names.

    Raises:
        ValueError: if neither transform is set (both codes 0), or if they disagree and ``prefer_transform`` is
            ``strict``; the message gives both codes, orientations and the distance.
    """
    qform, qform_code = header.get_qform(coded=True)
    sform, sform_code = header.get_sform(coded=True)
    if qform is None and sform is None:
        raise ValueError(
            "the file has no orientation (qform_code = sform_code = 0), so where its voxels lie in space is unknown"
            " and could only be guessed; set its qform or sform (e.g. nibabel's image.set_sform(affine,"
            " code='scanner'))"
        )
    if qform is None or sform is None:
        return np.asarray(sform if qform is None else qform, dtype=np.float64)
    distance = corner_distance(qform, sform, shape)
    if distance <= AGREEMENT * float(min(header.get_zooms()[:3])) or prefer_transform == "sform":
        return np.asarray(sform, dtype=np.float64)
    if prefer_transform == "qform":
        return np.asarray(qform, dtype=np.float64)

    def described(name: str, affine: np.ndarray) -> str:
        return f"{name} ({header.get_value_label(name + '_code')}, {''.join(nib.aff2axcodes(affine))})"

    raise ValueError(
        f"its {described('qform', qform)} and {described('sform', sform)} disagree, placing its corners up to"
        f" {distance:.1f} mm apart; set data.prefer_transform=sform or data.prefer_transform=qform to say which"
        " to trust"
    )


def read_volume(
    path: Path, subject_id: str, sequence: str, prefer_transform: str = "strict"
) -> tuple[np.ndarray, np.ndarray]:
    """Load a 3D NIfTI volume: its voxels (scaled by the header's slope and intercept) and its affine.

    Trailing axes of length 1 (``[X, Y, Z, 1]``) are dropped; any other 4D volume is rejected.

    Args:
        path: a ``.nii`` or ``.nii.gz`` file.
        subject_id: named in error messages.
        sequence: named in error messages.
        prefer_transform: which of qform and sform to trust when they disagree (see :func:`orientation`).

    Returns:
        ``(voxels float32 [X, Y, Z], affine float64 [4, 4])``; the affine maps voxel indices to RAS+ millimetres.

    Raises:
        FileNotFoundError: if the file is missing.
        ValueError: if it is not NIfTI, is truncated, is not 3D, holds NaN or inf voxels, has no orientation, has a
            qform and an sform that disagree (``prefer_transform="strict"``), or has a singular affine.
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
    try:
        affine = orientation(image.header, shape, prefer_transform)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from error
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise ValueError(f"{where}: the affine is singular or not finite, cannot place the volume in space")
    return voxels, affine


def one_line(error: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(error).split())
