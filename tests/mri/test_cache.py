"""The preprocessing cache: a second load reads no NIfTI file; a changed file or setting misses it."""

import os
import shutil

import nibabel
import numpy as np
import pytest

from almlit.data.mri.cache import PreprocessCache
from almlit.data.mri.manifest import read_manifest
from almlit.data.mri.preprocess import PreprocessSettings
from almlit.data.mri.volumes import load_volumes
from tests.helpers.mri_files import SEQUENCES, SHAPE, build_cohort, write_nifti

SETTINGS = PreprocessSettings(SEQUENCES, (4, 6, 6))


@pytest.fixture
def nifti_reads(monkeypatch):
    """Counts the calls of ``nibabel.load`` (every NIfTI read goes through it)."""
    calls = []
    original = nibabel.load

    def counting_load(path, *args, **kwargs):
        calls.append(str(path))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(nibabel, "load", counting_load)
    return calls


def subjects_of(root):
    return read_manifest(root / "manifest.csv", SEQUENCES, "{subject_id}/{sequence}")


def test_second_load_comes_from_the_cache(tmp_path, nifti_reads):
    build_cohort(tmp_path / "cohort")
    subjects = subjects_of(tmp_path / "cohort")
    first = load_volumes(subjects, SETTINGS, tmp_path / "cache")
    assert len(nifti_reads) == len(subjects) * len(SEQUENCES)
    nifti_reads.clear()
    second = load_volumes(subjects, SETTINGS, tmp_path / "cache")
    assert nifti_reads == []
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, load_volumes(subjects, SETTINGS, None))


def test_a_changed_file_is_read_again(tmp_path, nifti_reads):
    build_cohort(tmp_path / "cohort")
    subjects = subjects_of(tmp_path / "cohort")
    first = load_volumes(subjects, SETTINGS, tmp_path / "cache")
    changed = subjects[2].paths[1]
    write_nifti(changed, np.random.default_rng(9).normal(50.0, 5.0, SHAPE).astype(np.float32) ** 2)
    nifti_reads.clear()
    second = load_volumes(subjects, SETTINGS, tmp_path / "cache")
    assert nifti_reads == [str(path) for path in subjects[2].paths]
    assert not np.array_equal(first[2, 1], second[2, 1])
    np.testing.assert_array_equal(np.delete(first, 2, axis=0), np.delete(second, 2, axis=0))


def test_other_settings_miss_the_cache(tmp_path, nifti_reads):
    build_cohort(tmp_path / "cohort")
    subjects = subjects_of(tmp_path / "cohort")
    load_volumes(subjects, SETTINGS, tmp_path / "cache")
    nifti_reads.clear()
    load_volumes(subjects, PreprocessSettings(SEQUENCES, (4, 6, 6), normalize="percentile"), tmp_path / "cache")
    assert len(nifti_reads) == len(subjects) * len(SEQUENCES)


def test_the_key_is_the_content_so_a_copied_cohort_hits(tmp_path, nifti_reads):
    build_cohort(tmp_path / "cohort")
    load_volumes(subjects_of(tmp_path / "cohort"), SETTINGS, tmp_path / "cache")
    shutil.copytree(tmp_path / "cohort", tmp_path / "copy")
    nifti_reads.clear()
    load_volumes(subjects_of(tmp_path / "copy"), SETTINGS, tmp_path / "cache")
    assert nifti_reads == []


def test_a_rewrite_that_keeps_size_and_modification_time_misses_the_cache(tmp_path, nifti_reads):
    build_cohort(tmp_path / "cohort")
    compressed = subjects_of(tmp_path / "cohort")[1].paths[0]
    uncompressed = write_nifti(compressed.with_suffix(""), np.asarray(nibabel.load(compressed).dataobj))
    compressed.unlink()  # an uncompressed .nii: a rewrite with other voxels keeps its size
    subjects = subjects_of(tmp_path / "cohort")
    assert subjects[1].paths[0] == uncompressed
    first = load_volumes(subjects, SETTINGS, tmp_path / "cache")
    before = uncompressed.stat()
    write_nifti(uncompressed, np.random.default_rng(5).normal(50.0, 5.0, SHAPE).astype(np.float32))
    os.utime(uncompressed, ns=(before.st_atime_ns, before.st_mtime_ns))  # the old time back, as rsync -t or tar do
    assert (uncompressed.stat().st_size, uncompressed.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    nifti_reads.clear()
    second = load_volumes(subjects, SETTINGS, tmp_path / "cache")
    assert nifti_reads == [str(path) for path in subjects[1].paths]  # preprocessed again, not the stale entry
    assert not np.array_equal(first[1, 0], second[1, 0])
    np.testing.assert_array_equal(second, load_volumes(subjects, SETTINGS, None))  # as without a cache


def test_a_damaged_entry_is_recomputed(tmp_path, nifti_reads):
    build_cohort(tmp_path / "cohort")
    subjects = subjects_of(tmp_path / "cohort")
    first = load_volumes(subjects, SETTINGS, tmp_path / "cache")
    cache = PreprocessCache(tmp_path / "cache")
    cache.entry(cache.key(subjects[0].paths, SETTINGS.key())).write_bytes(b"not an array")
    nifti_reads.clear()
    second = load_volumes(subjects, SETTINGS, tmp_path / "cache")
    assert nifti_reads == [str(path) for path in subjects[0].paths]
    np.testing.assert_array_equal(first, second)
