"""One check for every data set: a split that lacks a class it needs is refused before any training.

A test split without positives trains to the end and then cannot be scored; a validation split without a class
cannot select an epoch. Every DataModule therefore checks the class counts of each of its splits (training,
validation, test, and any other split it builds) in ``setup``, and of its source files before it holds images out
of them, naming the data set, the split, the class and the counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

# How messages name the two classes of a binary task.
BINARY_CLASS_NAMES = ("negative class (label 0)", "positive class (label 1)")
# What each split needs every class for, as the refusal says it.
SPLIT_NEEDS = {
    "train": "to train on it",
    "validation": "to select the best epoch on it",
    "test": "to compute the test metrics",
    "calibration": "to calibrate the operating point on it",
}
# Up to this many classes the message lists every count; beyond, their range.
LISTED_CLASSES = 10


def count_text(counts: np.ndarray, short: Sequence[int]) -> str:
    """The counts per class: ``{label: count}`` for a few classes, else the range over the classes not ``short``."""
    if len(counts) <= LISTED_CLASSES:
        return "counts per label " + str({label: int(count) for label, count in enumerate(counts)})
    others = np.delete(counts, list(short))
    return f"the other {len(others)} classes have {int(others.min())} to {int(others.max())}"


def check_class_counts(
    labels: np.ndarray | torch.Tensor,
    minimum: Mapping[int, int],
    where: str,
    class_names: Sequence[str],
    unit: str = "images",
    reason: str = "",
    advice: str = "",
) -> np.ndarray:
    """Raise unless ``labels`` hold at least ``minimum[c]`` samples of every class c in ``minimum``.

    Args:
        labels: the class of every sample of one split, ids in ``0..len(class_names) - 1``, shape [N].
        minimum: class id -> the fewest samples the split may hold of it.
        where: the data set and the split, e.g. ``"CIFAR10 under data, test split"``.
        class_names: how the message names each class, e.g. ``("negative class (label 0)", ...)``.
        unit: what a sample is, e.g. ``"images"`` or ``"subjects"``.
        reason: why the minimum, appended after "at least N needed".
        advice: appended to the message, e.g. a setting that makes the split possible.

    Returns:
        The samples per class, int64 [len(class_names)].

    Raises:
        ValueError: ``"<where>: <class>: <count> <unit>, at least <minimum> needed <reason> (<counts>)<advice>"``
            for the first class, in the order of ``minimum``, that falls short.
    """
    labels = labels.numpy(force=True) if isinstance(labels, torch.Tensor) else np.asarray(labels)
    counts = np.bincount(labels.astype(np.int64), minlength=len(class_names))
    short = [class_id for class_id, needed in minimum.items() if counts[class_id] < needed]
    if short:
        first = short[0]
        raise ValueError(
            f"{where}: {class_names[first]}: {counts[first]} {unit}, at least {minimum[first]} needed"
            f"{' ' + reason if reason else ''} ({count_text(counts, short)}){advice}"
        )
    return counts


def check_splits(
    where: str, splits: Mapping[str, np.ndarray | torch.Tensor], class_names: Sequence[str], unit: str = "images"
) -> None:
    """Every split must hold at least one sample of every class.

    Args:
        where: the data set, e.g. ``"CIFAR10 under data"``.
        splits: split name (``train``, ``validation``, ``test``, ...) -> the labels of its samples [N].
        class_names: how the message names each class; their number is the number of classes.
        unit: what a sample is.

    Raises:
        ValueError: naming the data set, the split, the class and the counts (see :func:`check_class_counts`).
    """
    for split, labels in splits.items():
        check_class_counts(
            labels,
            dict.fromkeys(range(len(class_names)), 1),
            f"{where}, {split} split",
            class_names,
            unit,
            SPLIT_NEEDS.get(split, f"in the {split} split"),
        )


def check_hold_out(
    labels: np.ndarray, classes: Sequence[int], count: int, where: str, setting: str = "data.val_per_class"
) -> None:
    """Every class in ``classes`` must keep an image for training after ``count`` of it are held out.

    The advice is always satisfiable: it names the largest ``setting`` that works for every class, or, when no
    value >= 1 works (a class with fewer than two images), says which class lacks images instead.

    Args:
        labels: the class of every image of the source split [N].
        classes: the classes that are split.
        count: images held out per class (the value of ``setting``, >= 1).
        where: the data set and the source split, e.g. ``"CIFAR10 under data, training files"``.
        setting: the key that sets ``count``, as the message names it.

    Raises:
        ValueError: naming the data set, the class, its count and what would work.
    """
    num_classes = max(int(np.max(labels, initial=0)), *classes) + 1
    counts = np.bincount(labels.astype(np.int64), minlength=num_classes)
    scarcest_first = sorted(classes, key=lambda class_id: counts[class_id])
    fewest = int(counts[scarcest_first[0]])
    if fewest >= 2:
        advice = f"; use {setting} <= {fewest - 1}"
    else:
        advice = (
            f"; no {setting} >= 1 can split class {scarcest_first[0]}: a class needs 2 images, 1 held out and 1 to"
            " train"
        )
    check_class_counts(
        labels,
        {class_id: count + 1 for class_id in scarcest_first},
        where,
        [f"class {class_id}" for class_id in range(num_classes)],
        reason=f"({setting}={count} held out, 1 to train)",
        advice=advice,
    )
