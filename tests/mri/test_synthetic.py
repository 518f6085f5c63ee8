"""The cohort generator and its command line: what it writes loads, is seeded, and has real NIfTI headers."""

import csv

import nibabel as nib
import numpy as np
import pytest

from almlit import make_mri_cohort
from almlit.data.mri import MRICohort
from almlit.data.mri.synthetic import CohortSpec, write_cohort
from tests.helpers.mri_files import TINY_COHORT


def read_rows(root):
    with (root / "manifest.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_generated_cohort_loads_with_the_counts_it_reports(generated_cohort):
    root, summary = generated_cohort
    datamodule = MRICohort(root, shape=(8, 16, 16))
    datamodule.setup("fit")
    (train_negatives, train_positives), (test_negatives, test_positives) = summary.counts.values()
    assert (train_negatives, train_positives, test_negatives, test_positives) == (9, 3, 3, 1)
    assert len(datamodule.train_dataset) + len(datamodule.val_dataset) == train_negatives + train_positives
    assert datamodule.test_dataset.labels.tolist().count(1) == test_positives
    assert datamodule.train_dataset.images.shape[1:] == (3, 8, 16, 16)
    assert summary.num_files == 3 * TINY_COHORT.subjects
    rows = read_rows(root)
    assert [row["subject_id"] for row in rows] == [f"P{index:04d}" for index in range(1, 17)]
    assert sum(int(row["label"]) for row in rows) == 4


def test_headers_mix_orientations_spacings_and_compression(generated_cohort):
    root, _ = generated_cohort
    orientations, spacings, suffixes = set(), set(), set()
    for row in read_rows(root):
        for sequence in TINY_COHORT.sequences:
            image = nib.load(root / row[sequence])
            assert image.header.get_sform(coded=True)[1] == 1 and image.header.get_qform(coded=True)[1] == 1
            assert image.get_data_dtype() == np.int16
            orientations.add(nib.aff2axcodes(image.affine))
            spacings.add(tuple(np.round(image.header.get_zooms(), 3)))
            suffixes.add(row[sequence].split(".", 1)[1])
    assert len(orientations) > 3
    assert len(spacings) > 10
    assert suffixes == {"nii", "nii.gz"}


def test_low_resolution_sequences_have_half_the_in_plane_voxels(generated_cohort):
    root, _ = generated_cohort
    row = read_rows(root)[0]
    shapes = {sequence: sorted(nib.load(root / row[sequence]).shape) for sequence in TINY_COHORT.sequences}
    assert shapes == {"t2w": [8, 16, 16], "adc": [8, 8, 8], "dwi": [8, 8, 8]}


def first_subject(root):
    row = read_rows(root)[0]
    images = [nib.load(root / row[sequence]) for sequence in TINY_COHORT.sequences]
    return row, [image.get_fdata() for image in images], [image.affine for image in images]


def test_same_seed_same_cohort_other_seed_other_cohort(tmp_path):
    for name, seed in (("first", 5), ("again", 5), ("other", 6)):
        write_cohort(tmp_path / name, CohortSpec(subjects=8, positives=0.5, shape=(4, 8, 8), seed=seed))
    first, again, other = (first_subject(tmp_path / name) for name in ("first", "again", "other"))
    assert first[0] == again[0]
    assert all(np.array_equal(a, b) for a, b in zip(first[1] + first[2], again[1] + again[2], strict=True))
    assert not all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(first[1], other[1], strict=True))


def test_positives_are_brighter_on_dwi_inside_the_gland(tmp_path):
    """The lesion signal is there: mean over subjects of the brightest smoothed DWI spot, positives vs negatives."""
    spec = CohortSpec(subjects=24, positives=0.5, shape=(8, 24, 24), seed=1)
    write_cohort(tmp_path / "cohort", spec)
    datamodule = MRICohort(tmp_path / "cohort", shape=(8, 24, 24), val_fraction=0.2)
    datamodule.setup()
    volumes = np.concatenate([dataset.images.numpy() for dataset in datamodule.datasets.values()])
    labels = np.concatenate([dataset.labels.numpy() for dataset in datamodule.datasets.values()])
    centre = volumes[:, 2, 2:6, 6:18, 6:18]
    spots = centre.reshape(len(volumes), -1).max(axis=1)
    assert spots[labels == 1].mean() > spots[labels == 0].mean()


def test_command_line_prints_progress_and_what_it_wrote(tmp_path, capsys):
    make_mri_cohort.main([f"out={tmp_path / 'cli'}", "subjects=10", "positives=0.3", "shape=[4,8,8]", "seed=2"])
    printed = capsys.readouterr().out
    assert (
        f"writing 10 subjects (3 positive) x 3 sequences (t2w, adc, dwi), T2w shape [4, 8, 8], seed 2 to {tmp_path}"
        in printed
    )
    assert "  10/10 subjects" in printed
    assert "manifest.csv: train 7 subjects (2 positive), test 3 (1 positive); 30 NIfTI files" in printed
    assert len(read_rows(tmp_path / "cli")) == 10


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["subjects=10"], "out= is required"),
        (["out=x", "subjects=ten"], "subjects=: Value 'ten'"),
        (["out=x", "colour=red"], "unknown argument colour=; the arguments are out=, subjects="),
        (["out=x", "subjects"], "arguments are key=value"),
        (["out=x", "subjects=10"], "subjects=10 with positives=0.13 gives 1 positive subject"),
        (["out=x", "sequences=[t2w,pet]"], "sequences must be distinct names among"),
        (["out=x", "shape=[8,2,8]"], "shape must be [D, H, W] with D >= 2 and H, W >= 4"),
    ],
)
def test_command_line_errors_are_one_line(tmp_path, capsys, monkeypatch, arguments, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        make_mri_cohort.main(arguments)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("almlit: error: ") and message in error and error.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_command_line_refuses_to_overwrite_a_cohort(cohort_copy, capsys):
    with pytest.raises(SystemExit):
        make_mri_cohort.main([f"out={cohort_copy}", "subjects=10", "positives=0.3"])
    assert "already holds a cohort (manifest.csv); pass overwrite=true" in capsys.readouterr().err
