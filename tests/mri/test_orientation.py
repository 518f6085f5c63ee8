"""A NIfTI file whose qform and sform disagree, or that has neither, is refused unless data.prefer_transform chooses.

The hand-built subject: a T2w reference of shape (X, Y, Z) = (8, 8, 4) with 1 mm voxels at the world origin (RAS),
and an ADC volume of the same grid that is 0 except for one bright voxel at (i, j, k) = (1, 2, 3). The target grid
of shape (D, H, W) = (4, 8, 8) then coincides with the reference: grid voxel (d, h, w) is world (x, y, z) = (w, h, d)
(the grid's axes run S, A, R; see almlit.data.mri.preprocess). So the bright voxel lands at grid (3, 2, 1) when the
ADC's transform is the identity, and at (3, 2, 6) when it mirrors x (world x = 7 - i).
"""

import re

import numpy as np
import pytest

from almlit.data.mri.manifest import Subject
from almlit.data.mri.preprocess import PreprocessSettings, preprocess_subject
from tests.helpers.mri_files import write_oriented_nifti

SHAPE = (8, 8, 4)
IDENTITY = np.eye(4)
MIRRORED_X = np.array([[-1.0, 0, 0, 7], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
BRIGHT = (1, 2, 3)
AT_IDENTITY, AT_MIRRORED = (3, 2, 1), (3, 2, 6)  # (d, h, w) of the bright voxel, by hand (module docstring)


def subject(tmp_path, qform, sform, reference_shift=(0.0, 0.0, 0.0)):
    reference_affine = IDENTITY.copy()
    reference_affine[:3, 3] = reference_shift
    reference = np.random.default_rng(0).normal(100, 10, SHAPE).astype(np.float32)
    adc = np.zeros(SHAPE, np.float32)
    adc[BRIGHT] = 1.0
    paths = (
        write_oriented_nifti(tmp_path / "t2w.nii", reference, reference_affine, reference_affine),
        write_oriented_nifti(tmp_path / "adc.nii", adc, qform, sform),
    )
    return Subject(0, "S01", 1, "train", paths)


def bright_voxel(tmp_path, qform, sform, prefer_transform):
    settings = PreprocessSettings(("t2w", "adc"), (4, 8, 8), prefer_transform=prefer_transform)
    volume = preprocess_subject(subject(tmp_path, qform, sform), settings)
    return np.unravel_index(np.argmax(volume[1]), volume[1].shape)


@pytest.mark.parametrize(("prefer_transform", "expected"), [("qform", AT_IDENTITY), ("sform", AT_MIRRORED)])
def test_the_preferred_transform_places_the_volume(tmp_path, prefer_transform, expected):
    assert bright_voxel(tmp_path, IDENTITY, MIRRORED_X, prefer_transform) == expected


def test_disagreeing_qform_and_sform_are_refused_by_default_naming_subject_sequence_and_cause(tmp_path):
    # The corner voxels i = 0 and i = 7 land at x = 0 and 7 under the qform, at 7 and 0 under the sform: 7 mm apart.
    message = (
        f"subject S01, sequence adc: {tmp_path / 'adc.nii'}: its qform (scanner, RAS) and sform (scanner, LAS)"
        " disagree, placing its corners up to 7.0 mm apart; set data.prefer_transform=sform or"
        " data.prefer_transform=qform to say which to trust"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        bright_voxel(tmp_path, IDENTITY, MIRRORED_X, "strict")


@pytest.mark.parametrize(
    ("qform", "sform", "expected"), [(MIRRORED_X, None, AT_MIRRORED), (None, IDENTITY, AT_IDENTITY)]
)
@pytest.mark.parametrize("prefer_transform", ["strict", "sform", "qform"])
def test_a_file_with_one_transform_is_placed_by_it_whatever_the_preference(
    tmp_path, qform, sform, expected, prefer_transform
):
    assert bright_voxel(tmp_path, qform, sform, prefer_transform) == expected


def test_transforms_that_agree_within_a_tenth_of_a_voxel_are_not_a_conflict(tmp_path):
    nudged = IDENTITY.copy()
    nudged[:3, 3] = 0.05  # 0.087 mm at every corner, under 0.1 of the 1 mm voxel
    assert bright_voxel(tmp_path, IDENTITY, nudged, "strict") == AT_IDENTITY


@pytest.mark.parametrize("prefer_transform", ["strict", "sform", "qform"])
@pytest.mark.parametrize("reference_shift", [(0.0, 0.0, 0.0), (100.0, 80.0, 40.0)])
def test_a_file_without_orientation_is_refused_for_that_reason_not_its_field_of_view(
    tmp_path, prefer_transform, reference_shift
):
    message = (
        f"subject S01, sequence adc: {tmp_path / 'adc.nii'}: the file has no orientation (qform_code = sform_code = 0),"
        " so where its voxels lie in space is unknown and could only be guessed; set its qform or sform (e.g."
        " nibabel's image.set_sform(affine, code='scanner'))"
    )
    settings = PreprocessSettings(("t2w", "adc"), (4, 8, 8), prefer_transform=prefer_transform)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        preprocess_subject(subject(tmp_path, None, None, reference_shift), settings)


def test_an_unknown_preference_is_refused():
    with pytest.raises(
        ValueError, match=r"^data.prefer_transform must be one of \['strict', 'sform', 'qform'\], got 'best'$"
    ):
        PreprocessSettings(("t2w",), (4, 8, 8), prefer_transform="best")


def test_the_preference_is_part_of_the_cache_key():
    keys = {PreprocessSettings(("t2w",), (4, 8, 8), prefer_transform=value).key() for value in ("strict", "sform")}
    assert len(keys) == 2
