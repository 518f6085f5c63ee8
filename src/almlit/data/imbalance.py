"""Pure class counts and index arithmetic for imbalanced splits (binary and long-tailed), deterministic in a seed.

Every function returns indices into the ``labels`` array it is given, sorted, so that the same seed gives
the same subset whatever order the caller later iterates in.
"""

import math
from collections.abc import Sequence

import numpy as np

LONG_TAIL_PROFILES = ("exponential", "step")


def check_imbalance_ratio(imbalance_ratio: float) -> None:
    """Raise unless the ratio 1:imb of positives to negatives is at least 1.

    Args:
        imbalance_ratio: imb, the number of negatives per positive.

    Raises:
        TypeError: if ``imbalance_ratio`` is not a number.
        ValueError: if ``imbalance_ratio < 1`` or NaN.
    """
    if isinstance(imbalance_ratio, bool) or not isinstance(imbalance_ratio, (int, float)):
        raise TypeError(f"imb must be a number >= 1 (ratio 1:imb of positives to negatives), got {imbalance_ratio!r}")
    if not imbalance_ratio >= 1:  # NaN too
        raise ValueError(f"imb must be >= 1 (ratio 1:imb of positives to negatives), got {imbalance_ratio}")


def minority_count(num_majority: int, imbalance_ratio: float) -> int:
    """Number of minority samples kept next to ``num_majority`` majority samples: floor(n_majority / imb).

    Args:
        num_majority: number of majority (negative) training samples.
        imbalance_ratio: imb >= 1, the number of negatives per positive.

    Returns:
        The minority count, at least 1.

    Raises:
        ValueError: if ``imbalance_ratio < 1``, if there is no majority sample, or if the ratio leaves no minority
            sample (the message suggests the largest ratio that leaves one).
    """
    check_imbalance_ratio(imbalance_ratio)
    if num_majority < 1:
        raise ValueError(f"{num_majority} negatives leave no positive training sample at any imb >= 1")
    count = int(num_majority // imbalance_ratio)
    if count == 0:
        raise ValueError(
            f"imb={imbalance_ratio} leaves no positive training sample:"
            f" {num_majority} negatives / {imbalance_ratio} < 1; use imb <= {num_majority}"
        )
    return count


def ceil_significant(value: float, digits: int = 4) -> float:
    """``value`` rounded up to ``digits`` significant digits (an integer stays as it is), for lower bounds in advice.

    A bound printed rounded down would suggest a value that fails (imb >= 1.234 when 1.2344 is needed).

    Args:
        value: a positive number.
        digits: significant digits kept.

    Returns:
        The smallest number >= ``value`` with at most ``digits`` significant digits, or ``value`` if it is integral.
    """
    if float(value).is_integer():
        return float(value)
    scale = 10.0 ** (digits - 1 - math.floor(math.log10(value)))
    return math.ceil(value * scale) / scale


def fraction_count(count: int, fraction: float) -> int:
    """floor(fraction * count), robust to binary rounding (0.29 * 100 is 28.999999999999996 in floating point).

    Args:
        count: number of items.
        fraction: the share of them to keep, in (0, 1].

    Returns:
        The number of items to keep.
    """
    return math.floor(round(fraction * count, 9))


def draw_indices(pool: np.ndarray, count: int, generator: np.random.Generator) -> np.ndarray:
    """Draw ``count`` distinct entries of ``pool`` uniformly at random.

    Args:
        pool: candidate indices.
        count: how many to draw, at most ``len(pool)``.
        generator: the source of randomness.

    Returns:
        The drawn indices, sorted.
    """
    return np.sort(generator.choice(pool, size=count, replace=False))


def hold_out_per_class(
    labels: np.ndarray, classes: Sequence[int], count: int, generator: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Hold out ``count`` random samples of every class in ``classes``.

    Args:
        labels: the class of every sample.
        classes: the classes to split; samples of other classes appear in neither output.
        count: samples held out per class.
        generator: the source of randomness, consumed class by class in the order of ``classes``.

    Returns:
        ``(held_out, remaining)``: sorted indices of the held-out samples and of the other samples of ``classes``.

    Raises:
        ValueError: if a class has no more than ``count`` samples (nothing would remain).
    """
    held_out, remaining = [], []
    for class_id in classes:
        members = np.flatnonzero(labels == class_id)
        if len(members) <= count:
            raise ValueError(
                f"class {class_id} has {len(members)} samples, cannot hold out {count} and keep any for training"
            )
        drawn = draw_indices(members, count, generator)
        held_out.append(drawn)
        remaining.append(np.setdiff1d(members, drawn, assume_unique=True))
    return np.sort(np.concatenate(held_out)), np.sort(np.concatenate(remaining))


# The calibration hold-out uses this seed whatever split_seed is: every member of an ensemble (member i trains with
# seed i) holds out the same calibration images, so no member trains or early-stops on them.
CALIBRATION_SPLIT_SEED = 0


def hold_out_calibration(
    labels: np.ndarray, pool: np.ndarray, classes: Sequence[int], count: int
) -> tuple[np.ndarray, np.ndarray]:
    """Hold ``count`` samples of every class in ``classes`` out of ``pool`` for calibration, seeded by
    :data:`CALIBRATION_SPLIT_SEED` (not by the run's seed).

    Args:
        labels: the class of every source sample.
        pool: the indices into ``labels`` the hold-out may take.
        classes: the classes to hold samples of.
        count: samples per class; 0 holds out nothing.

    Returns:
        ``(calibration, rest)``: sorted indices into ``labels``; ``rest`` is ``pool`` unchanged when ``count`` is 0.

    Raises:
        ValueError: if a class of ``pool`` has no more than ``count`` samples.
    """
    if count == 0:
        return np.empty(0, dtype=np.int64), pool
    held_out, _ = hold_out_per_class(labels[pool], classes, count, np.random.default_rng(CALIBRATION_SPLIT_SEED))
    calibration = pool[held_out]
    return calibration, np.setdiff1d(pool, calibration, assume_unique=True)


def split_binary_imbalanced(
    labels: np.ndarray,
    negative_classes: Sequence[int],
    positive_classes: Sequence[int],
    imbalance_ratio: float,
    val_per_class: int,
    majority_fraction: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation indices of a binary task with 1:imb positives to negatives.

    For every selected class ``val_per_class`` samples go to validation. Of the remaining samples of each
    negative class floor(majority_fraction * n) are kept (so ensemble members see different negatives), then
    n_pos = floor(n_neg / imb) positives are drawn from the remaining samples of the positive classes.

    Args:
        labels: the original class of every sample of the source training split.
        negative_classes: original classes that form the negative (majority) class.
        positive_classes: original classes that form the positive (minority, critical) class.
        imbalance_ratio: imb >= 1.
        val_per_class: samples held out per selected class for validation.
        majority_fraction: share in (0, 1] of each negative class kept for training.
        seed: seed of the draws; the same seed gives the same indices.

    Returns:
        ``(train, validation)``: sorted indices into ``labels``.

    Raises:
        ValueError: if a class is too small for the hold-out, or imb is below 1, leaves no positive, or asks
            for more positives than remain.
    """
    generator = np.random.default_rng(seed)
    validation, remaining = hold_out_per_class(labels, [*negative_classes, *positive_classes], val_per_class, generator)
    negatives = []
    for class_id in negative_classes:
        members = remaining[labels[remaining] == class_id]
        negatives.append(draw_indices(members, fraction_count(len(members), majority_fraction), generator))
    num_negatives = sum(len(members) for members in negatives)
    if num_negatives == 0:
        largest = max(np.count_nonzero(labels[remaining] == class_id) for class_id in negative_classes)
        raise ValueError(
            f"data.majority_fraction={majority_fraction} keeps no negative training sample (floor({majority_fraction}"
            f" * {largest}) = 0 for the largest negative class); use data.majority_fraction >="
            f" {ceil_significant(1 / largest):.10g}"
        )
    num_positives = minority_count(num_negatives, imbalance_ratio)
    positive_pool = remaining[np.isin(labels[remaining], positive_classes)]
    if num_positives > len(positive_pool):
        # floor(n_neg / imb) <= pool for every imb >= n_neg / pool, and pool >= 1 keeps that bound <= n_neg
        raise ValueError(
            f"imb={imbalance_ratio} asks for {num_positives} positive training samples ({num_negatives} negatives"
            f" / {imbalance_ratio}) but positive classes {list(positive_classes)} have only {len(positive_pool)}"
            f" left after validation; use imb >= {ceil_significant(num_negatives / len(positive_pool)):.10g}"
        )
    positives = draw_indices(positive_pool, num_positives, generator)
    return np.sort(np.concatenate([*negatives, positives])), validation


def check_long_tail_profile(profile: str) -> None:
    """Raise unless ``profile`` is one of :data:`LONG_TAIL_PROFILES`.

    Args:
        profile: name of the long-tail profile.

    Raises:
        ValueError: for any other name.
    """
    if profile not in LONG_TAIL_PROFILES:
        raise ValueError(f"profile must be one of {list(LONG_TAIL_PROFILES)}, got {profile!r}")


def long_tail_counts(num_max: int, num_classes: int, imbalance_ratio: float, profile: str = "exponential") -> list[int]:
    """Training samples per class of a long-tailed set whose largest class 0 has ``num_max`` and smallest n_max / imb.

    ``"exponential"`` (Cao et al. 2019, LDAM-DRW): n_c = floor(n_max * imb^(-c / (C - 1))), c = 0..C-1.
    ``"step"`` (Buda et al. 2018; LDAM's step imbalance): the first floor(C / 2) classes keep n_max, the others
    get floor(n_max / imb). Both floors are taken with :func:`fraction_count`, so an exact integer such as
    49 * 49^-1 is not lost to binary rounding.

    Args:
        num_max: n_max, samples of class 0, >= 1.
        num_classes: C >= 2.
        imbalance_ratio: imb >= 1, n_max over the size of the smallest class (before flooring).
        profile: ``"exponential"`` or ``"step"``.

    Returns:
        ``[n_0, ..., n_{C-1}]``, non-increasing.

    Raises:
        ValueError: if an argument is out of range, the profile is unknown, or a class would get no sample.
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    if num_max < 1:
        raise ValueError(f"num_max must be >= 1, got {num_max}")
    check_imbalance_ratio(imbalance_ratio)
    check_long_tail_profile(profile)
    if profile == "exponential":
        exponents = [class_id / (num_classes - 1) for class_id in range(num_classes)]
    else:
        exponents = [0 if class_id < num_classes // 2 else 1 for class_id in range(num_classes)]
    counts = [fraction_count(num_max, imbalance_ratio**-exponent) for exponent in exponents]
    empty = [class_id for class_id, count in enumerate(counts) if count == 0]
    if empty:
        raise ValueError(
            f"imb={imbalance_ratio} leaves classes {empty} with no training sample ({profile} profile: class 0"
            f" has {num_max}, class {num_classes - 1} floor({num_max} / {imbalance_ratio}) = 0); use imb <= {num_max}"
        )
    return counts


def split_long_tailed(
    labels: np.ndarray, num_classes: int, imbalance_ratio: float, profile: str, val_per_class: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation indices of a long-tailed set drawn from a balanced one.

    ``val_per_class`` samples of every class go to validation (a balanced set). n_max is the smallest number
    of samples any class has left; class c then keeps n_c of its remaining samples, n_c from
    :func:`long_tail_counts`.

    Args:
        labels: the class, in 0..num_classes-1, of every sample of the source training split.
        num_classes: C, the number of classes.
        imbalance_ratio: imb >= 1.
        profile: ``"exponential"`` or ``"step"``.
        val_per_class: samples held out per class for validation.
        seed: seed of the draws; the same seed gives the same indices.

    Returns:
        ``(train, validation)``: sorted indices into ``labels``.

    Raises:
        ValueError: if a class is too small for the hold-out, or the ratio or profile are invalid or leave a
            class empty.
    """
    generator = np.random.default_rng(seed)
    validation, remaining = hold_out_per_class(labels, range(num_classes), val_per_class, generator)
    members = [remaining[labels[remaining] == class_id] for class_id in range(num_classes)]
    counts = long_tail_counts(min(map(len, members)), num_classes, imbalance_ratio, profile)
    train = [draw_indices(pool, count, generator) for pool, count in zip(members, counts, strict=True)]
    return np.sort(np.concatenate(train)), validation
