"""Every kind of bad cohort stops setup() with one line naming the subject and the file."""

import gzip

import numpy as np
import pytest

from almlit.data.mri import MRICohort
from tests.helpers.mri_files import SHAPE, axis_aligned_affine, build_cohort, write_manifest, write_nifti


def replace_file(root, name, content: bytes):
    (root / name).write_bytes(content)


def rewrite_manifest(root, rows, changes):
    """Apply ``changes`` = {row index: {column: value}} to the rows and write the manifest again."""
    for index, values in changes.items():
        rows[index] = {**rows[index], **values}
    write_manifest(root / "manifest.csv", rows)


def truncate(path, keep=0.8):
    content = path.read_bytes()
    path.write_bytes(content[: int(len(content) * keep)])


def zeros_as_nii(root, rows):
    """S03's T2w becomes ``t2w.nii`` holding 500 zero bytes."""
    (root / "S03" / "t2w.nii.gz").unlink()
    replace_file(root, "S03/t2w.nii", b"\0" * 500)


def truncated_nii(root, rows):
    """S05's ADC becomes an uncompressed ``adc.nii`` cut after 600 bytes (the header is whole, the voxels are not)."""
    (root / "S05" / "adc.nii.gz").unlink()
    (root / "S05" / "adc.nii").write_bytes(gzip.decompress((root / "S01" / "adc.nii.gz").read_bytes())[:600])


CASES = {
    "missing file": (
        lambda root, rows: (root / "S02" / "adc.nii.gz").unlink(),
        FileNotFoundError,
        r"subject S02, sequence adc: file not found: .*S02/adc\.nii\.gz or .*S02/adc\.nii$",
    ),
    "missing file named in the manifest": (
        lambda root, rows: rewrite_manifest(
            root,
            rows,
            {index: {"t2w": f"S{index + 1:02d}/t2w.nii.gz"} for index in range(len(rows))} | {3: {"t2w": "x/t2w.nii"}},
        ),
        FileNotFoundError,
        r"subject S04, sequence t2w: file not found: .*/x/t2w\.nii$",
    ),
    "not NIfTI": (
        lambda root, rows: replace_file(root, "S03/t2w.nii.gz", b"subject_id,label\n" * 40),
        ValueError,
        r"subject S03, sequence t2w: .*S03/t2w\.nii\.gz: not a readable NIfTI file \(.*not a gzip file",
    ),
    "not NIfTI, uncompressed": (
        zeros_as_nii,
        ValueError,
        r"subject S03, sequence t2w: .*S03/t2w\.nii: not a readable NIfTI file",
    ),
    "truncated gzip": (
        lambda root, rows: truncate(root / "S05" / "adc.nii.gz"),
        ValueError,
        r"subject S05, sequence adc: .*S05/adc\.nii\.gz: truncated or damaged voxel data",
    ),
    "truncated .nii": (
        truncated_nii,
        ValueError,
        r"subject S05, sequence adc: .*S05/adc\.nii: truncated or damaged voxel data \(Expected \d+ bytes, got",
    ),
    "4D volume": (
        lambda root, rows: write_nifti(root / "S06" / "adc.nii.gz", np.ones((*SHAPE, 2), np.float32)),
        ValueError,
        r"subject S06, sequence adc: .*S06/adc\.nii\.gz: expected a 3D volume, got a 4D one of shape \(6, 8, 7, 2\)",
    ),
    "NaN voxels": (
        lambda root, rows: write_nifti(
            root / "S01" / "t2w.nii.gz", np.where(np.eye(6, 8)[..., None], np.nan, 1.0) * np.ones(SHAPE, np.float32)
        ),
        ValueError,
        r"subject S01, sequence t2w: .*S01/t2w\.nii\.gz: 42 of 336 voxels are NaN or inf",
    ),
    "inf voxels": (
        lambda root, rows: write_nifti(root / "S02" / "t2w.nii.gz", np.full(SHAPE, np.inf, np.float32)),
        ValueError,
        r"subject S02, sequence t2w: .*: 336 of 336 voxels are NaN or inf",
    ),
    "sequences that do not overlap": (
        lambda root, rows: write_nifti(
            root / "S04" / "adc.nii.gz", np.ones((3, 4, 3), np.float32), axis_aligned_affine(origin=(200.0, 0.0, 0.0))
        ),
        ValueError,
        r"subject S04, sequence adc: .*S04/adc\.nii\.gz: shape \(3, 4, 3\) covers 0% of the field of view of t2w"
        r" \(shape \(6, 8, 7\)\); the sequences do not overlap in space and cannot be resampled onto one grid",
    ),
    "constant volume": (
        lambda root, rows: write_nifti(root / "S04" / "adc.nii.gz", np.full(SHAPE, 7.0, np.float32)),
        ValueError,
        r"subject S04, sequence adc: .*: the volume is constant \(every voxel is 7\)",
    ),
    "label not 0 or 1": (
        lambda root, rows: rewrite_manifest(root, rows, {2: {"label": "2"}}),
        ValueError,
        r"subject S03: label must be 0 or 1, got '2'",
    ),
    "empty label": (
        lambda root, rows: rewrite_manifest(root, rows, {2: {"label": ""}}),
        ValueError,
        r"subject S03: label must be 0 or 1, got ''",
    ),
    "duplicate subject id": (
        lambda root, rows: rewrite_manifest(root, rows, {4: {"subject_id": "S02"}}),
        ValueError,
        r"manifest .*manifest\.csv: duplicate subject id S02 \(lines 3 and 6\)",
    ),
    "unknown cohort": (
        lambda root, rows: rewrite_manifest(root, rows, {0: {"cohort": "validation"}}),
        ValueError,
        r"subject S01: cohort must be train or test, got 'validation'",
    ),
    "no positive in test": (
        lambda root, rows: rewrite_manifest(root, rows, {7: {"label": 0}}),
        ValueError,
        r"manifest .*manifest\.csv, test cohort: positive class \(label 1\): 0 subjects, at least 1 needed"
        r" \(counts per label \{0: 2, 1: 0\}\)$",
    ),
    "one positive in train": (
        lambda root, rows: rewrite_manifest(root, rows, {4: {"label": 0}}),
        ValueError,
        r"manifest .*manifest\.csv, train cohort: positive class \(label 1\): 1 subjects, at least 2 needed"
        r" \(one is held out for validation\) \(counts per label \{0: 5, 1: 1\}\)$",
    ),
    "no label column": (
        lambda root, rows: write_manifest(root / "manifest.csv", [{"subject_id": row["subject_id"]} for row in rows]),
        ValueError,
        r"manifest .*manifest\.csv lacks the column\(s\) \['label'\]",
    ),
    "no subject": (
        lambda root, rows: (root / "manifest.csv").write_text("subject_id,label,cohort\n"),
        ValueError,
        r"manifest .*manifest\.csv lists no subject",
    ),
    "no manifest": (
        lambda root, rows: (root / "manifest.csv").unlink(),
        FileNotFoundError,
        r"manifest not found: .*manifest\.csv",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_cohort_is_refused_with_its_message(tmp_path, case):
    spoil, error, message = CASES[case]
    rows = build_cohort(tmp_path)
    spoil(tmp_path, rows)
    datamodule = MRICohort(tmp_path, sequences=("t2w", "adc"), shape=(4, 6, 6))
    with pytest.raises(error, match=message) as raised:
        datamodule.setup("fit")
    assert "\n" not in str(raised.value)
    with pytest.raises(RuntimeError, match="setup"):
        _ = datamodule.train_dataset  # nothing half-built is left to train on


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"pattern": "{subject_id}.nii"}, r"data.pattern must contain \{subject_id\} and \{sequence\}"),
        ({"val_fraction": 1.0}, r"data.val_fraction must be in \(0, 1\), got 1.0"),
        ({"batch_size": 0}, r"data.batch_size must be >= 1, got 0"),
        ({"flip_axes": (3,)}, r"data.flip_axes must hold axes 0 \(D\), 1 \(H\), 2 \(W\), got \[3\]"),
        ({"max_shift": (1, -1, 0)}, r"data.max_shift must be three ints >= 0"),
        ({"intensity_scale": -0.1}, r"data.intensity_scale must be >= 0, got -0.1"),
    ],
)
def test_bad_settings_are_refused_before_any_file_is_read(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        MRICohort(tmp_path / "nowhere", **overrides)


@pytest.mark.slow  # a subprocess; the catalogue (tests/catalogue) checks the same message in process in the fast suite
def test_train_prints_one_line_and_exits_2(train_command, tmp_path):
    build_cohort(tmp_path / "cohort")
    (tmp_path / "cohort" / "S03" / "adc.nii.gz").unlink()
    result = train_command(
        "data=mri",
        "data.root=cohort",
        "data.sequences=[t2w,adc]",
        "model.in_channels=2",
        "data.shape=[4,6,6]",
        "data.cache_dir=null",
        "hydra.run.dir=run",
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("almlit: error: subject S03, sequence adc: file not found:")
    assert not (tmp_path / "run").exists()
