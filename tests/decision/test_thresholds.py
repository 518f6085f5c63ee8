"""Certified thresholds and exact intervals against references from outside the code: hand counts, scipy's beta
distribution, a naive loop over the binomial sum and a simulation from known score distributions."""

import math

import numpy as np
import pytest
from scipy import stats

from almlit.decision.thresholds import (
    certified_threshold,
    clopper_pearson,
    minimum_positives,
    rates_at_threshold,
    tpr_lower_bound,
)


def test_minimum_positives_by_hand():
    # k = 1 certifies t when t**n <= delta: 0.98**148 = 0.0503 > 0.05 >= 0.98**149 = 0.0493, and so on.
    assert 0.98**148 > 0.05 >= 0.98**149
    assert 0.95**58 > 0.05 >= 0.95**59
    assert 0.90**28 > 0.05 >= 0.90**29
    assert minimum_positives(0.98) == 149
    assert minimum_positives(0.95) == 59
    assert minimum_positives(0.90) == 29
    assert minimum_positives(0.90, confidence=0.99) == 44  # 0.9**43 = 0.0108 > 0.01 >= 0.9**44 = 0.0097
    assert minimum_positives(1.0) is None


@pytest.mark.parametrize(("target", "needed"), [(0.98, 149), (0.95, 59), (0.90, 29)])
def test_certification_starts_exactly_at_the_minimum(target, needed):
    scores = np.linspace(-1, 1, needed)
    assert certified_threshold(scores, target).certified
    below = certified_threshold(scores[1:], target)
    assert not below.certified
    assert below.positives_needed == needed


def _naive_order(positives, target, delta):
    """Largest k with sum_{i < k} C(n, i) (1-t)^i t^(n-i) <= delta, by a plain loop; 0 when none."""
    best = 0
    for order in range(1, positives + 1):
        tail = sum(math.comb(positives, i) * (1 - target) ** i * target ** (positives - i) for i in range(order))
        if tail <= delta:
            best = order
    return best


@pytest.mark.parametrize(("positives", "target"), [(300, 0.98), (200, 0.95), (60, 0.90), (500, 0.9)])
def test_order_matches_a_naive_binomial_sum(positives, target):
    scores = np.random.default_rng(positives).normal(size=positives)
    choice = certified_threshold(scores, target)
    order = _naive_order(positives, target, 0.05)
    assert choice.certified and choice.order == order
    assert choice.threshold == np.sort(scores)[order - 1]
    assert choice.tpr_lower_bound >= target


def test_uncertified_falls_back_to_the_empirical_threshold():
    scores = np.arange(1.0, 26.0)  # 25 positives: 0.9 needs 29
    choice = certified_threshold(scores, 0.90)
    # the largest threshold keeping >= 90% of 25 positives above it: 23 of 25 (92%) at the 3rd smallest score, 3.0
    assert not choice.certified and choice.threshold == 3.0 and choice.order == 3
    assert np.mean(scores >= choice.threshold) >= 0.90
    assert np.mean(scores >= 4.0) < 0.90
    # its honest bound: 1 - Beta(0.95; 3, 23)
    assert choice.tpr_lower_bound == pytest.approx(1 - stats.beta.ppf(0.95, 3, 23))
    assert choice.tpr_lower_bound < 0.90


def test_ties_keep_every_tied_positive_above_the_threshold():
    scores = np.array([0.5] * 200)
    choice = certified_threshold(scores, 0.95)
    assert choice.certified and choice.threshold == 0.5
    assert np.mean(scores >= choice.threshold) == 1.0
    tied = np.array([0.0] * 10 + [1.0] * 190)  # the certified rank (5 for n=200, t=0.95) falls inside the tie at 0
    choice = certified_threshold(tied, 0.95)
    assert choice.order == _naive_order(200, 0.95, 0.05) and choice.threshold == 0.0


def test_no_positives_is_refused_with_the_count_needed():
    with pytest.raises(
        ValueError, match=r"needs positive calibration scores, got 0 \(certifying it at confidence 0.95 needs 149\)"
    ):
        certified_threshold(np.array([]), 0.98)


def test_tpr_one_is_never_certified_and_keeps_every_positive():
    scores = np.random.default_rng(1).normal(size=1000)
    choice = certified_threshold(scores, 1.0)
    assert not choice.certified and choice.positives_needed is None
    assert choice.threshold == scores.min()
    with pytest.raises(ValueError, match="infinitely many"):
        certified_threshold([], 1.0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (([1.0], 0.0), r"`tpr_levels` must lie in \(0, 1\], got 0.0"),
        (([1.0], 0.9, 1.0), r"`confidence` must lie in \(0, 1\), got 1.0"),
        (([1.0, np.nan], 0.9), "`positive_scores` must be finite, got 1 non-finite"),
        ((np.ones((2, 2)), 0.9), r"`positive_scores` must be 1-D, got shape \(2, 2\)"),
    ],
)
def test_bad_arguments_are_named(arguments, message):
    with pytest.raises(ValueError, match=message):
        certified_threshold(*arguments)


@pytest.mark.parametrize(("positives", "target"), [(149, 0.98), (100, 0.95), (400, 0.9)])
def test_coverage_by_simulation(positives, target):
    """Positive scores ~ N(0, 1): the threshold s has true TPR 1 - Phi(s). Over 4000 calibration sets the share with
    true TPR < t must stay within delta = 0.05 plus 3 Monte-Carlo standard errors."""
    rng = np.random.default_rng(positives)
    draws = 4000
    true_tprs = np.empty(draws)
    for draw in range(draws):
        choice = certified_threshold(rng.normal(size=positives), target)
        assert choice.certified
        true_tprs[draw] = stats.norm.sf(choice.threshold)
    failures = np.mean(true_tprs < target)
    assert failures <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / draws)
    # and the threshold is not wastefully low: the largest k is used, so failures come close to delta
    assert failures >= 0.05 - 0.035


def test_the_empirical_fallback_fails_more_often_than_delta():
    """With 25 positives the empirical 90% threshold is wrong far more often than 5%: why certification matters."""
    rng = np.random.default_rng(7)
    failures = np.mean(
        [stats.norm.sf(certified_threshold(rng.normal(size=25), 0.9).threshold) < 0.9 for _ in range(2000)]
    )
    assert failures > 0.2


def test_tpr_lower_bound_against_scipy_beta():
    assert tpr_lower_bound(3, 200) == pytest.approx(1 - stats.beta.ppf(0.95, 3, 198))
    with pytest.raises(ValueError, match=r"`order` must lie in \[1, 5\], got 6"):
        tpr_lower_bound(6, 5)


def test_clopper_pearson_by_hand_and_against_beta_quantiles():
    # 0 of 10: upper bound 1 - 0.025 ** (1 / 10) = 0.30850 (the closed form for x = 0)
    low, high = clopper_pearson(0, 10)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 10))
    # 10 of 10: lower bound 0.025 ** (1 / 10) = 0.69150
    assert clopper_pearson(10, 10)[0] == pytest.approx(0.025 ** (1 / 10)) and clopper_pearson(10, 10)[1] == 1.0
    low, high = clopper_pearson(7, 20, confidence=0.9)
    assert low == pytest.approx(stats.beta.ppf(0.05, 7, 14)) and high == pytest.approx(stats.beta.ppf(0.95, 8, 13))
    with pytest.raises(ValueError, match="an interval needs at least one trial, got 0"):
        clopper_pearson(0, 0)


def test_rates_at_threshold_count_by_hand():
    scores = np.array([3.0, 2.0, 2.0, 1.0, 0.0, 2.0, -1.0])
    targets = np.array([1, 1, 0, 1, 0, 1, 0])
    rates = rates_at_threshold(scores, targets, 2.0)
    assert rates["true_positives"] == 3 and rates["positives"] == 4 and rates["tpr"] == 0.75
    assert rates["false_positives"] == 1 and rates["negatives"] == 3 and rates["fpr"] == pytest.approx(1 / 3)
    assert rates["tpr_ci"] == pytest.approx([stats.beta.ppf(0.025, 3, 2), stats.beta.ppf(0.975, 4, 1)])
    with pytest.raises(ValueError, match="rates need positives and negatives, got 0 positives and 2 negatives"):
        rates_at_threshold(np.zeros(2), np.zeros(2), 0.0)
