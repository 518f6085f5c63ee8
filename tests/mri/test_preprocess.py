"""Reorientation, resampling and normalisation, checked against closed forms and numpy."""

import nibabel as nib
import numpy as np
import pytest

from almlit.data.mri.manifest import Subject
from almlit.data.mri.preprocess import (
    PreprocessSettings,
    field_of_view,
    normalize_intensity,
    preprocess_subject,
    target_grid,
)
from tests.helpers.mri_files import SHAPE, axis_aligned_affine, write_nifti

# Linear in world millimetres, so trilinear interpolation reproduces it exactly inside the field of view.
SLOPES = np.array([0.7, -1.3, 2.1])  # per mm along R, A, S


def linear_volume(affine, shape):
    """Voxels holding 100 + SLOPES . world(voxel)."""
    indices = np.indices(shape).reshape(3, -1)
    world = affine[:3, :3] @ indices + affine[:3, 3:]
    return (100.0 + SLOPES @ world).reshape(shape).astype(np.float32)


def grid_world(grid_affine, shape):
    return (grid_affine[:3, :3] @ np.indices(shape).reshape(3, -1) + grid_affine[:3, 3:]).reshape(3, *shape)


def reorient(image, codes):
    """The same image stored with array axes along ``codes`` (e.g. ``("P", "S", "L")``)."""
    current = nib.orientations.io_orientation(image.affine)
    return image.as_reoriented(nib.orientations.ornt_transform(current, nib.orientations.axcodes2ornt(codes)))


def subject(*paths):
    return Subject(0, "S01", 0, "train", tuple(paths))


@pytest.mark.parametrize("spacing", [None, (4.0, 2.0, 1.5)])
def test_a_volume_saved_in_two_orientations_gives_the_same_array(tmp_path, spacing):
    voxels = np.random.default_rng(0).normal(size=SHAPE).astype(np.float32)
    ras = nib.Nifti1Image(voxels, axis_aligned_affine())
    # the same image stored with axes (P, S, L): transposed and flipped data, matching affine
    reoriented = reorient(ras, ("P", "S", "L"))
    assert nib.aff2axcodes(reoriented.affine) == ("P", "S", "L") and reoriented.shape != ras.shape
    nib.save(ras, tmp_path / "ras.nii.gz")
    nib.save(reoriented, tmp_path / "psl.nii")
    settings = PreprocessSettings(("t2w",), (5, 6, 4), spacing)
    first = preprocess_subject(subject(tmp_path / "ras.nii.gz"), settings)
    second = preprocess_subject(subject(tmp_path / "psl.nii"), settings)
    assert np.abs(first).max() > 0.5
    np.testing.assert_allclose(first, second, atol=1e-5)


def test_output_axes_are_superior_anterior_right(tmp_path):
    """D increases towards S, H towards A and W towards R, whatever the storage order of the file."""
    affine = reorient(nib.Nifti1Image(np.zeros(SHAPE), axis_aligned_affine()), ("I", "L", "P")).affine
    shape = (8, 6, 7)
    write_nifti(tmp_path / "ilp.nii", linear_volume(affine, shape), affine)
    volume = preprocess_subject(
        subject(tmp_path / "ilp.nii"), PreprocessSettings(("t2w",), (4, 4, 4), (2.0, 2.0, 2.0))
    )[0]
    steps = [np.diff(volume, axis=axis).mean() for axis in range(3)]
    assert np.sign(steps).tolist() == np.sign(SLOPES[::-1]).tolist()


def test_two_sequences_of_different_grids_are_resampled_onto_the_reference_grid(tmp_path):
    """Each channel equals the normalised linear function at the target grid's world points."""
    reference_affine = axis_aligned_affine((1.0, 1.0, 2.5), (-10.0, -12.0, -15.0))
    reference_shape = (20, 24, 12)
    other_affine = np.array(
        [[0.0, -2.0, 0.0, 12.0], [0.0, 0.0, 2.2, -14.0], [3.0, 0.0, 0.0, -16.0], [0.0, 0.0, 0.0, 1.0]]
    )
    other_shape = (12, 13, 14)
    reference = linear_volume(reference_affine, reference_shape)
    other = linear_volume(other_affine, other_shape)
    write_nifti(tmp_path / "t2w.nii.gz", reference, reference_affine)
    write_nifti(tmp_path / "adc.nii.gz", other, other_affine)
    settings = PreprocessSettings(("t2w", "adc"), (6, 8, 8), (2.0, 1.5, 1.5))
    volume = preprocess_subject(subject(tmp_path / "t2w.nii.gz", tmp_path / "adc.nii.gz"), settings)
    grid = target_grid(reference_affine, reference_shape, settings.shape, settings.spacing)
    expected_raw = 100.0 + np.tensordot(SLOPES, grid_world(grid, settings.shape), axes=1)
    for channel, source in enumerate((reference, other)):
        expected = (expected_raw - source.mean(dtype=np.float64)) / source.std(dtype=np.float64)
        np.testing.assert_allclose(volume[channel], expected, atol=1e-4)


def test_target_grid_is_centred_and_covers_the_reference_when_resizing():
    affine = axis_aligned_affine((0.5, 0.6, 3.0), (10.0, 20.0, 30.0))
    low, high = field_of_view(affine, (40, 30, 10))
    grid = target_grid(affine, (40, 30, 10), (5, 12, 16), None)
    grid_low, grid_high = field_of_view(grid, (5, 12, 16))
    np.testing.assert_allclose(grid_low, low)
    np.testing.assert_allclose(grid_high, high)
    # voxel sizes along D (S), H (A), W (R): the reference's extents 30, 18, 20 mm split into 5, 12, 16 voxels
    np.testing.assert_allclose(np.abs(grid[:3, :3]).sum(axis=0), [6.0, 1.5, 1.25])


def test_target_grid_with_a_spacing_crops_around_the_centre():
    affine = axis_aligned_affine((1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    grid = target_grid(affine, (41, 41, 41), (3, 5, 7), (2.0, 2.0, 2.0))
    np.testing.assert_allclose(grid[:3, :3] @ ((np.array([3, 5, 7]) - 1) / 2) + grid[:3, 3], [20.0, 20.0, 20.0])


def test_zscore_matches_numpy():
    voxels = np.random.default_rng(1).gamma(2.0, 50.0, (5, 6, 7)).astype(np.float32)
    normalized = normalize_intensity(voxels, "zscore")
    np.testing.assert_allclose(normalized, (voxels - voxels.mean()) / voxels.std(), rtol=1e-4, atol=1e-5)


def test_percentile_clips_and_scales_to_unit_range():
    voxels = np.random.default_rng(2).gamma(2.0, 50.0, (5, 6, 7)).astype(np.float32)
    low, high = np.percentile(voxels, [2.0, 98.0])
    normalized = normalize_intensity(voxels, "percentile", (2.0, 98.0))
    np.testing.assert_allclose(normalized, (np.clip(voxels, low, high) - low) / (high - low), atol=1e-6)
    assert normalized.min() == 0.0 and normalized.max() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"shape": (4, 4)}, r"data.shape must be three positive ints \[D, H, W\], got \[4, 4\]"),
        ({"shape": (4, 0, 4)}, r"data.shape must be three positive ints"),
        ({"spacing": (1.0, -1.0, 1.0)}, r"data.spacing must be null or three sizes > 0"),
        ({"normalize": "minmax"}, r"data.normalize must be one of \['zscore', 'percentile'\], got 'minmax'"),
        ({"percentiles": (99.0, 1.0)}, r"data.percentiles must be \[low, high\] with 0 <= low < high <= 100"),
        ({"sequences": ()}, r"data.sequences must be a non-empty list of names"),
        ({"sequences": ("t2w", "t2w")}, r"data.sequences must not repeat a name"),
    ],
)
def test_settings_are_checked(overrides, message):
    arguments = {"sequences": ("t2w",), "shape": (4, 4, 4), **overrides}
    with pytest.raises(ValueError, match=message):
        PreprocessSettings(**arguments)
