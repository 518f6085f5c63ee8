"""The cohort manifest: one CSV row per subject, one NIfTI file per subject and sequence.

Layout (``data.root`` is the folder that holds the manifest)::

    manifest.csv        subject_id,label[,cohort][,<sequence>...]
    P0001/t2w.nii.gz    the files; a path column per sequence, or the pattern ``data.pattern``
    P0001/adc.nii
    ...

* ``subject_id``: unique, non-empty. ``label``: 0 or 1 (1 = positive, the critical class).
* ``cohort`` (optional): ``train`` or ``test``. Without this column a fixed stratified share of the subjects
  (``test_fraction``, drawn with seed 0 whatever ``split_seed`` is) forms the test set.
* For prediction (``python -m almlit.predict``) the ``label`` column may be missing, and without a ``cohort``
  column every subject is one to predict (a new cohort).
* A column named after a sequence (e.g. ``t2w``) gives that file's path, relative to the manifest's folder or
  absolute. Without it the path is ``pattern.format(subject_id=..., sequence=...)`` relative to the manifest's
  folder, with ``.nii.gz`` or ``.nii`` appended unless the pattern already ends in one of them.

A subject's sample id is its row index in the manifest (0 for the first data row), so it is stable across
splits, seeds and runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from almlit.data.class_counts import BINARY_CLASS_NAMES, check_class_counts
from almlit.data.imbalance import draw_indices
from almlit.data.tables import read_table

COHORTS = ("train", "test")
NIFTI_SUFFIXES = (".nii.gz", ".nii")
# The test hold-out of a manifest without a cohort column uses this seed whatever split_seed is.
TEST_SPLIT_SEED = 0


class Subject(NamedTuple):
    """One manifest row.

    Attributes:
        sample_id: the row index in the manifest (the multiplier bank's index for training subjects).
        subject_id: the manifest's ``subject_id``.
        label: 0 (negative) or 1 (positive); ``None`` when a manifest for prediction has no label column.
        cohort: ``"train"`` or ``"test"``.
        paths: one NIfTI file per sequence, in the order of ``data.sequences``.
    """

    sample_id: int
    subject_id: str
    label: int | None
    cohort: str
    paths: tuple[Path, ...]


def check_sequences(sequences: Sequence[str]) -> tuple[str, ...]:
    """Return ``data.sequences`` as a tuple after checking it is a non-empty list of distinct names."""
    sequences = tuple(sequences)
    if not sequences or not all(isinstance(name, str) and name for name in sequences):
        raise ValueError(f"data.sequences must be a non-empty list of names, got {list(sequences)}")
    if len(set(sequences)) != len(sequences):
        raise ValueError(f"data.sequences must not repeat a name, got {list(sequences)}")
    return sequences


def check_pattern(pattern: str) -> str:
    """Return ``data.pattern`` after checking it names both ``{subject_id}`` and ``{sequence}``."""
    if "{subject_id}" not in pattern or "{sequence}" not in pattern:
        raise ValueError(f"data.pattern must contain {{subject_id}} and {{sequence}}, got {pattern!r}")
    return pattern


def sequence_path(folder: Path, subject_id: str, sequence: str, cell: str | None, pattern: str) -> Path:
    """The file of one subject and sequence: the manifest cell if given, else the pattern.

    Raises:
        FileNotFoundError: naming the subject, the sequence and the path(s) tried.
    """
    where = f"subject {subject_id}, sequence {sequence}"
    if cell:
        path = folder / cell
        if not path.is_file():
            raise FileNotFoundError(f"{where}: file not found: {path}")
        return path
    stem = pattern.format(subject_id=subject_id, sequence=sequence)
    candidates = [stem] if stem.endswith(NIFTI_SUFFIXES) else [stem + suffix for suffix in NIFTI_SUFFIXES]
    for candidate in candidates:
        if (folder / candidate).is_file():
            return folder / candidate
    tried = " or ".join(str(folder / candidate) for candidate in candidates)
    raise FileNotFoundError(f"{where}: file not found: {tried}")


def parse_label(subject_id: str, text: str) -> int:
    """The label of a manifest row, which must read 0 or 1."""
    if text.strip() not in ("0", "1"):
        raise ValueError(f"subject {subject_id}: label must be 0 or 1, got {text!r}")
    return int(text)


def parse_cohort(subject_id: str, text: str) -> str:
    """The cohort of a manifest row, which must read train or test (any case)."""
    cohort = text.strip().lower()
    if cohort not in COHORTS:
        raise ValueError(f"subject {subject_id}: cohort must be train or test, got {text!r}")
    return cohort


def read_manifest(
    path: Path, sequences: Sequence[str], pattern: str, test_fraction: float = 0.25, for_prediction: bool = False
) -> list[Subject]:
    """Read and check a manifest; every file it names must exist (nothing is decoded yet).

    Args:
        path: the manifest CSV.
        sequences: the sequences to use, in channel order.
        pattern: where a sequence's file is when the manifest has no column for it (see the module docstring).
        test_fraction: share of each class held out for testing when the manifest has no ``cohort`` column.
        for_prediction: the manifest of data to predict: the ``label`` column may be missing (every label is then
            ``None``), a manifest without a ``cohort`` column is all test cohort, and a cohort needs no class.

    Returns:
        The subjects in manifest order.

    Raises:
        FileNotFoundError: if the manifest or a subject's file is missing.
        ValueError: for a missing column, an empty or repeated subject id, a label not in {0, 1}, an unknown
            cohort, or a cohort without both classes.
    """
    columns, rows = read_table(path)
    required = ("subject_id",) if for_prediction else ("subject_id", "label")
    missing = [name for name in required if name not in columns]
    if missing:
        raise ValueError(f"manifest {path} lacks the column(s) {missing}; it has {columns}")
    if not rows:
        raise ValueError(f"manifest {path} lists no subject")
    seen: dict[str, int] = {}
    for row_index, row in enumerate(rows):
        subject_id = row["subject_id"]
        if not subject_id:
            raise ValueError(f"manifest {path}: line {row_index + 2} has an empty subject_id")
        if subject_id in seen:
            raise ValueError(
                f"manifest {path}: duplicate subject id {subject_id} (lines {seen[subject_id] + 2} and {row_index + 2})"
            )
        seen[subject_id] = row_index
    labeled = "label" in columns
    labels = [parse_label(row["subject_id"], row["label"]) if labeled else None for row in rows]
    if "cohort" in columns:
        cohorts = [parse_cohort(row["subject_id"], row["cohort"]) for row in rows]
    elif for_prediction:
        cohorts = ["test"] * len(rows)
    else:
        held_out, _ = stratified_hold_out(np.array(labels), test_fraction, TEST_SPLIT_SEED, "data.test_fraction")
        cohorts = np.where(np.isin(np.arange(len(rows)), held_out), "test", "train").tolist()
    if not for_prediction:
        check_cohorts(path, np.array(labels), cohorts)
    folder = path.parent
    return [
        Subject(
            sample_id=row_index,
            subject_id=row["subject_id"],
            label=labels[row_index],
            cohort=cohorts[row_index],
            paths=tuple(
                sequence_path(folder, row["subject_id"], sequence, row.get(sequence), pattern) for sequence in sequences
            ),
        )
        for row_index, row in enumerate(rows)
    ]


def check_cohorts(path: Path, labels: np.ndarray, cohorts: Sequence[str]) -> None:
    """Both classes must be in the test cohort, and at least two of each in the training cohort (one for validation).

    Raises:
        ValueError: naming the manifest, the cohort, the class and the counts (see :func:`check_class_counts`).
    """
    cohorts = np.asarray(cohorts)
    for cohort, needed, reason in (("train", 2, "(one is held out for validation)"), ("test", 1, "")):
        check_class_counts(
            labels[cohorts == cohort],
            {0: needed, 1: needed},
            f"manifest {path}, {cohort} cohort",
            BINARY_CLASS_NAMES,
            unit="subjects",
            reason=reason,
        )


def stratified_hold_out(
    labels: np.ndarray, fraction: float, seed: int, name: str = "data.val_fraction"
) -> tuple[np.ndarray, np.ndarray]:
    """Hold out ``max(1, round(fraction * n_c))`` random samples of every class c, keeping at least one.

    Args:
        labels: the class of every sample.
        fraction: the share of each class to hold out, in (0, 1).
        seed: seed of the draw; each class draws from one generator, in class order.
        name: the setting that ``fraction`` comes from, as error messages name it.

    Returns:
        ``(held_out, remaining)``: sorted positions into ``labels``.

    Raises:
        ValueError: if ``fraction`` is outside (0, 1) or a class has fewer than two samples.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"{name} must be in (0, 1), got {fraction}")
    generator = np.random.default_rng(seed)
    held_out = []
    for class_id in np.unique(labels):
        members = np.flatnonzero(labels == class_id)
        if len(members) < 2:
            raise ValueError(f"class {class_id} has {len(members)} sample(s); a stratified hold-out needs 2")
        count = min(max(1, round(fraction * len(members))), len(members) - 1)
        held_out.append(draw_indices(members, count, generator))
    held_out = np.sort(np.concatenate(held_out))
    return held_out, np.setdiff1d(np.arange(len(labels)), held_out, assume_unique=True)
