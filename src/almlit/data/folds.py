"""Training, validation and test positions of a data set: stratified by class, grouped, optionally one of K folds.

Every hold-out is one fold of scikit-learn's ``StratifiedGroupKFold``: each group (e.g. a patient's images) lies
wholly on one side, and each class keeps about its share on both sides. A fraction f is realised as one fold of
``round(1 / f)`` (0.2 -> 1 of 5, 0.25 -> 1 of 4, 0.3 -> 1 of 3). Without groups every image is its own group.

* Test: the rows a manifest marks ``test``; without a ``split`` column, a fixed hold-out of ``test_fraction``
  drawn with seed 0 whatever ``split_seed`` is, so every seed and fold is scored on the same test images.
* Validation: the rows marked ``validation``; otherwise ``val_fraction`` of the rest, drawn with ``split_seed``.
* K-fold (``folds=K``, ``fold=k``): the non-test images form K folds (drawn with ``split_seed``); fold k
  validates and the other K - 1 train. The K runs of k = 0..K-1 together score every non-test image once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

# The test hold-out of data without a split column uses this seed whatever split_seed is.
TEST_SPLIT_SEED = 0


def fold_count(fraction: float, setting: str) -> int:
    """The number of folds of which one is the hold-out of ``fraction``: ``round(1 / fraction)``, at least 2.

    Raises:
        ValueError: naming ``data.<setting>`` unless 0 < fraction <= 0.5.
    """
    if not 0 < fraction <= 0.5:
        raise ValueError(f"data.{setting} must be in (0, 0.5] (one fold of round(1 / fraction)), got {fraction}")
    return round(1 / fraction)


def grouped_folds(labels: np.ndarray, groups: np.ndarray, folds: int, seed: int, setting: str) -> list[np.ndarray]:
    """Split positions into ``folds`` stratified folds that never divide a group.

    Args:
        labels: the class of every sample [N].
        groups: the group of every sample [N].
        folds: K >= 2.
        seed: seed of the group order (``StratifiedGroupKFold(shuffle=True, random_state=seed)``).
        setting: the setting that asked for the folds, for the error message.

    Returns:
        K sorted arrays of positions into ``labels``, disjoint, together all of them.

    Raises:
        ValueError: if there are fewer groups than folds.
    """
    num_groups = len(np.unique(groups))
    if num_groups < folds:
        raise ValueError(f"data.{setting} asks for {folds} folds but the images form only {num_groups} group(s)")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [np.sort(held_out) for _, held_out in splitter.split(np.zeros(len(labels)), labels, groups)]


def hold_out(
    labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int, setting: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(held_out, remaining)`` positions: the first of ``round(1 / fraction)`` grouped stratified folds."""
    held_out = grouped_folds(labels, groups, fold_count(fraction, setting), seed, setting)[0]
    return held_out, np.setdiff1d(np.arange(len(labels)), held_out, assume_unique=True)


def check_groups_within_splits(declared: np.ndarray, groups: np.ndarray) -> None:
    """A group must not span two of the declared splits.

    Raises:
        ValueError: naming the first such group and its splits.
    """
    for group in np.unique(groups):
        splits = sorted({str(split) for split in declared[groups == group]})
        if len(splits) > 1:
            raise ValueError(f"group {group} has images in more than one split: {splits}; a group must stay in one")


def assign_splits(
    labels: Sequence[int] | np.ndarray,
    declared: Sequence[str | None] | None = None,
    groups: Sequence[str | None] | None = None,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    split_seed: int = 0,
    folds: int | None = None,
    fold: int | None = None,
) -> dict[str, np.ndarray]:
    """The ``train``, ``validation`` and ``test`` positions (see the module docstring).

    Args:
        labels: the class of every sample [N], the stratification target.
        declared: each sample's split from a manifest column (``train``, ``validation``, ``test``), or ``None``.
        groups: each sample's group, or ``None`` (each sample its own group).
        val_fraction: share held out for validation when no row is declared ``validation`` and ``folds`` is unset.
        test_fraction: share held out for testing when ``declared`` is ``None``.
        split_seed: seed of the validation hold-out or of the K folds.
        folds: K for K-fold cross-validation, or ``None``.
        fold: which fold (0..K-1) validates; required with ``folds``.

    Returns:
        Sorted positions per split; disjoint, together all samples.

    Raises:
        ValueError: for fractions or folds out of range, a group spanning declared splits, or too few groups.
    """
    label_array = np.asarray(labels)
    group_array = np.arange(len(label_array)).astype(str) if groups is None else np.asarray(groups, dtype=str)
    if (folds is None) != (fold is None):
        raise ValueError(f"data.folds and data.fold go together (K folds, fold k in 0..K-1), got {folds} and {fold}")
    if folds is not None and fold is not None and (folds < 2 or not 0 <= fold < folds):
        raise ValueError(f"data.folds must be >= 2 and data.fold in 0..folds-1, got folds={folds}, fold={fold}")
    if declared is None:
        test, pool = hold_out(label_array, group_array, test_fraction, TEST_SPLIT_SEED, "test_fraction")
        validation = np.array([], dtype=np.int64)
    else:
        declared_array = np.asarray(declared, dtype=str)
        check_groups_within_splits(declared_array, group_array)
        test = np.flatnonzero(declared_array == "test")
        pool = np.flatnonzero(declared_array != "test")
        validation = np.flatnonzero(declared_array == "validation")
    if folds is not None and fold is not None:  # both or neither (checked above)
        validation = pool[grouped_folds(label_array[pool], group_array[pool], folds, split_seed, "folds")[fold]]
    elif len(validation) == 0:
        held_out, _ = hold_out(label_array[pool], group_array[pool], val_fraction, split_seed, "val_fraction")
        validation = pool[held_out]
    train = np.setdiff1d(pool, validation, assume_unique=True)
    return {"train": train, "validation": np.sort(validation), "test": test}
