"""Platt calibration, the prior shift and the ECE against known true probabilities and naive loops."""

import numpy as np
import pytest
from scipy import special

from almlit.decision.calibration import (
    calibrated_probability,
    expected_calibration_error,
    fit_platt,
    save_reliability_diagram,
)


def _synthetic(rng, size, prevalence):
    """Scores ~ N(2, 1) for positives and N(0, 1) for negatives: the true log-odds are 2 s - 2 + logit(prevalence)."""
    targets = (rng.random(size) < prevalence).astype(np.int64)
    scores = rng.normal(size=size) + 2.0 * targets
    return scores, targets, special.expit(2 * scores - 2 + special.logit(prevalence))


def test_platt_recovers_the_true_log_odds_and_lowers_the_ece():
    rng = np.random.default_rng(0)
    scores, targets, _ = _synthetic(rng, 20000, 0.1)
    calibration = fit_platt(scores, targets)
    assert calibration["slope"] == pytest.approx(2.0, abs=0.1)
    assert calibration["intercept"] == pytest.approx(-2 + special.logit(0.1), abs=0.15)
    test_scores, test_targets, true_probability = _synthetic(rng, 20000, 0.1)
    calibrated = calibrated_probability(test_scores, calibration)
    assert np.abs(calibrated - true_probability).max() < 0.05
    raw = expected_calibration_error(special.expit(test_scores), test_targets)
    assert expected_calibration_error(calibrated, test_targets) < raw / 5


def test_prior_shift_matches_bayes_rule_at_the_deployment_prevalence():
    rng = np.random.default_rng(1)
    scores, targets, _ = _synthetic(rng, 20000, 0.1)
    calibration = fit_platt(scores, targets)
    deployed_scores, _, true_probability = _synthetic(rng, 5000, 0.01)
    shifted = calibrated_probability(deployed_scores, calibration, prevalence=0.01)
    assert np.abs(shifted - true_probability).max() < 0.02
    # Bayes odds by hand: posterior odds x (0.01 / 0.99) / (pi_c / (1 - pi_c))
    unshifted = calibrated_probability(deployed_scores, calibration)
    pi = calibration["calibration_prevalence"]
    odds = unshifted / (1 - unshifted) * (0.01 / 0.99) / (pi / (1 - pi))
    assert shifted == pytest.approx(odds / (1 + odds))


def test_separable_scores_keep_finite_parameters():
    calibration = fit_platt(np.array([-3.0, -2.0, -1.0, 1.0, 2.0]), np.array([0, 0, 0, 1, 1]))
    assert np.isfinite([calibration["slope"], calibration["intercept"]]).all()
    probability = calibrated_probability(np.array([2.0]), calibration)[0]
    assert 0.5 < probability < 0.9  # the smoothed targets (3/4 for positives, 1/5 for negatives) keep it moderate


def test_scores_ranked_worse_than_chance_get_the_constant_map_not_a_decreasing_one():
    # positives score lower than negatives: the unconstrained fit would have a negative slope, so a higher logit
    # (a positive decision at logit >= threshold) would get a lower probability
    logits, targets = np.array([-2.0, -1.0, 1.0, 2.0, 3.0]), np.array([1, 1, 0, 0, 0])
    calibration = fit_platt(logits, targets)
    # smoothed labels by hand: positives (2 + 1) / (2 + 2) = 3/4, negatives 1 / (3 + 2) = 1/5; their mean is 0.42
    assert calibration["slope"] == 0.0
    assert calibration["intercept"] == pytest.approx(np.log(0.42 / 0.58))
    assert calibrated_probability(logits, calibration) == pytest.approx(np.full(5, 0.42))


def test_ece_against_a_naive_loop():
    rng = np.random.default_rng(2)
    probabilities = np.r_[rng.random(500), 1.0, 0.0]
    targets = (rng.random(502) < 0.3).astype(int)
    total = 0.0
    for low in np.arange(10) / 10:
        inside = [i for i, p in enumerate(probabilities) if low <= p < low + 0.1 or (low == 0.9 and p == 1.0)]
        if inside:
            gap = abs(np.mean(targets[inside]) - np.mean(probabilities[inside]))
            total += len(inside) / len(probabilities) * gap
    assert expected_calibration_error(probabilities, targets) == pytest.approx(total)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: fit_platt(np.zeros(3), np.ones(3)),
            "calibration needs positives and negatives, got 3 positives and 0",
        ),
        (lambda: fit_platt(np.zeros(2), np.array([0, 2])), r"`targets` must contain only 0 and 1, got \[2\]"),
        (lambda: calibrated_probability(np.zeros(1), {"method": "platt"}), "`calibration` lacks"),
        (
            lambda: calibrated_probability(np.zeros(1), fit_platt(np.r_[0.0, 1], np.r_[0, 1]), prevalence=1.5),
            r"`prevalence` must lie in \(0, 1\)",
        ),
        (lambda: expected_calibration_error(np.array([1.5]), np.array([1])), r"`probabilities` must lie in \[0, 1\]"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_reliability_diagram_is_written(tmp_path):
    rng = np.random.default_rng(3)
    scores, targets, _ = _synthetic(rng, 500, 0.2)
    path = save_reliability_diagram({"raw": (special.expit(scores), targets)}, tmp_path / "reliability.png", "t")
    assert path.read_bytes()[:4] == b"\x89PNG"
