import math

import numpy as np
import pytest

from almlit.data.imbalance import (
    fraction_count,
    hold_out_per_class,
    long_tail_counts,
    minority_count,
    split_binary_imbalanced,
    split_long_tailed,
)


@pytest.mark.parametrize(
    ("num_majority", "imbalance_ratio", "expected"),
    [(2025, 100, 20), (2025, 200, 10), (4900, 100, 49), (4900, 200, 24), (10, 1, 10), (10, 2.5, 4), (4900, 4900, 1)],
)
def test_minority_count(num_majority, imbalance_ratio, expected):
    assert minority_count(num_majority, imbalance_ratio) == expected


@pytest.mark.parametrize(
    ("num_majority", "imbalance_ratio", "message"),
    [
        (10, 0.5, r"imb must be >= 1 \(ratio 1:imb of positives to negatives\), got 0.5"),
        (4900, 5000, r"imb=5000 leaves no positive training sample: 4900 negatives / 5000 < 1; use imb <= 4900"),
    ],
)
def test_minority_count_rejects(num_majority, imbalance_ratio, message):
    with pytest.raises(ValueError, match=message):
        minority_count(num_majority, imbalance_ratio)


@pytest.mark.parametrize(
    ("count", "fraction", "expected"), [(450, 0.9, 405), (100, 0.29, 29), (55, 0.9, 49), (7, 1.0, 7)]
)
def test_fraction_count(count, fraction, expected):
    assert fraction_count(count, fraction) == expected


# 3 classes of 10, 12 and 8 samples in a shuffled order.
LABELS = np.random.default_rng(1).permutation(np.repeat([0, 1, 2], [10, 12, 8]))


def test_hold_out_per_class_counts_and_disjointness():
    held_out, remaining = hold_out_per_class(LABELS, [2, 0], 3, np.random.default_rng(0))
    assert np.bincount(LABELS[held_out], minlength=3).tolist() == [3, 0, 3]
    assert np.bincount(LABELS[remaining], minlength=3).tolist() == [7, 0, 5]
    assert sorted([*held_out, *remaining]) == np.flatnonzero(LABELS != 1).tolist()


@pytest.mark.parametrize(("other_seed", "same"), [(0, True), (1, False)])
def test_hold_out_per_class_is_deterministic_in_the_seed(other_seed, same):
    first, _ = hold_out_per_class(LABELS, [0, 1, 2], 4, np.random.default_rng(0))
    second, _ = hold_out_per_class(LABELS, [0, 1, 2], 4, np.random.default_rng(other_seed))
    assert np.array_equal(first, second) == same


def test_hold_out_per_class_rejects_a_class_too_small():
    with pytest.raises(ValueError, match="class 2 has 8 samples, cannot hold out 8 and keep any for training"):
        hold_out_per_class(LABELS, [0, 2], 8, np.random.default_rng(0))


def test_split_binary_imbalanced_counts():
    # negatives 0 and 1: 10 - 2 = 8 and 12 - 2 = 10 left, half kept: 4 + 5 = 9; positives: 9 // 2 = 4.
    train, validation = split_binary_imbalanced(LABELS, [0, 1], [2], 2, 2, 0.5, seed=3)
    assert np.bincount(LABELS[train], minlength=3).tolist() == [4, 5, 4]
    assert np.bincount(LABELS[validation], minlength=3).tolist() == [2, 2, 2]
    assert not set(train) & set(validation)


def test_split_binary_imbalanced_rejects_too_many_positives():
    # 18 negatives at 1:1 ask for 18 positives; class 2 keeps 8 - 2 = 6.
    message = r"imb=1 asks for 18 positive training samples \(18 negatives / 1\) but positive classes \[2\] have only 6"
    with pytest.raises(ValueError, match=message):
        split_binary_imbalanced(LABELS, [0, 1], [2], 1, 2, 1.0, seed=0)


@pytest.mark.parametrize(("num_classes", "num_max"), [(10, 5000), (10, 4950), (100, 500), (100, 450)])
@pytest.mark.parametrize("imbalance_ratio", [10, 100, 200])
def test_long_tail_counts_follow_the_exponential_formula(num_classes, num_max, imbalance_ratio):
    expected = [math.floor(num_max * imbalance_ratio ** (-c / (num_classes - 1))) for c in range(num_classes)]
    assert long_tail_counts(num_max, num_classes, imbalance_ratio) == expected


# Training-set sizes of CIFAR10-LT / CIFAR100-LT as published with LDAM-DRW (Cao et al. 2019) and reused since.
@pytest.mark.parametrize(
    ("num_max", "num_classes", "imbalance_ratio", "total"),
    [(5000, 10, 10, 20431), (5000, 10, 100, 12406), (500, 100, 10, 19573), (500, 100, 100, 10847)],
)
def test_long_tail_totals_match_the_published_ones(num_max, num_classes, imbalance_ratio, total):
    assert sum(long_tail_counts(num_max, num_classes, imbalance_ratio)) == total


def test_long_tail_counts_of_cifar10_at_100_by_hand():
    assert long_tail_counts(5000, 10, 100) == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]


def test_long_tail_counts_survive_binary_rounding():
    # 49 * 49**-1.0 is 0.9999999999999999 in floating point; the smallest class still keeps its one image.
    assert long_tail_counts(49, 2, 49) == [49, 1]


@pytest.mark.parametrize(
    ("num_max", "num_classes", "imbalance_ratio", "expected"),
    [(5000, 10, 100, [5000] * 5 + [50] * 5), (10, 5, 3, [10, 10, 3, 3, 3]), (7, 2, 2.5, [7, 2])],
)
def test_long_tail_counts_step_by_hand(num_max, num_classes, imbalance_ratio, expected):
    assert long_tail_counts(num_max, num_classes, imbalance_ratio, "step") == expected


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((10, 10, 0.5), r"imb must be >= 1 \(ratio 1:imb of positives to negatives\), got 0.5"),
        ((10, 10, 2, "linear"), r"profile must be one of \['exponential', 'step'\], got 'linear'"),
        ((10, 1, 2), "num_classes must be >= 2, got 1"),
        ((0, 10, 2), "num_max must be >= 1, got 0"),
        (
            (55, 10, 56),
            r"imb=56 leaves classes \[9\] with no training sample \(exponential profile: class 0 has 55, class 9"
            r" floor\(55 / 56\) = 0\); use imb <= 55",
        ),
        ((55, 4, 60, "step"), r"imb=60 leaves classes \[2, 3\] with no training sample \(step profile"),
    ],
)
def test_long_tail_counts_rejects(arguments, message):
    with pytest.raises(ValueError, match=message):
        long_tail_counts(*arguments)


def test_split_long_tailed_counts_and_disjointness():
    # Classes of 10, 12 and 8 less 2 for validation leave 8, 10 and 6: n_max = 6, then 6, 6 / 2 = 3, 6 / 4 -> 1.
    train, validation = split_long_tailed(LABELS, 3, 4, "exponential", 2, seed=0)
    assert np.bincount(LABELS[train], minlength=3).tolist() == [6, 3, 1]
    assert np.bincount(LABELS[validation], minlength=3).tolist() == [2, 2, 2]
    assert not set(train) & set(validation)


@pytest.mark.parametrize(("other_seed", "same"), [(0, True), (1, False)])
def test_split_long_tailed_is_deterministic_in_the_seed(other_seed, same):
    first = split_long_tailed(LABELS, 3, 2, "step", 2, seed=0)
    second = split_long_tailed(LABELS, 3, 2, "step", 2, seed=other_seed)
    assert all(np.array_equal(a, b) == same for a, b in zip(first, second, strict=True))
