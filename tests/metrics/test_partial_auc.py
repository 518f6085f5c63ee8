"""Partial AUCs against scikit-learn, a hand-computed ROC and a naive count over pairs of samples."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score, roc_curve

from almlit.metrics import BinaryRankMetrics, partial_auc, two_way_partial_auc
from tests.helpers.ranking_references import HAND_CASES, HAND_LABELS, HAND_SCORES

BOUNDS = [0.01, 0.05, 0.1, 0.3, 0.5, 0.77, 1.0]


def random_case(seed, size, tied):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size)
    labels[:2] = [0, 1]
    scores = rng.integers(0, 6, size).astype(float) if tied else rng.normal(size=size)
    return scores, labels


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("seed", range(20))
def test_partial_auc_is_sklearns_mcclish_standardised_value(seed, tied):
    scores, labels = random_case(seed, 5 + 7 * seed, tied)
    ours = partial_auc(torch.from_numpy(scores), torch.from_numpy(labels), BOUNDS)
    expected = [roc_auc_score(labels, scores, max_fpr=bound) for bound in BOUNDS]
    assert ours.dtype == torch.float64
    np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=1e-12)


def test_partial_auc_at_beta_one_is_the_auc_and_keeps_huge_logits_apart():
    scores = torch.tensor([40.0, 41.0, 39.0, 45.0, 38.0], dtype=torch.float64)  # a float32 sigmoid would tie them all
    labels = torch.tensor([1, 0, 0, 1, 0])
    assert float(partial_auc(scores, labels, [1.0])[0]) == pytest.approx(roc_auc_score(labels, scores), abs=1e-15)


def test_two_way_partial_auc_on_a_hand_computed_roc_with_ties():
    values = two_way_partial_auc(HAND_SCORES, HAND_LABELS, [bounds for bounds, _ in HAND_CASES])
    np.testing.assert_allclose(values.numpy(), [value for _, value in HAND_CASES], rtol=0, atol=1e-15)


def naive_two_way(scores, labels, min_tpr, max_fpr):
    """Fraction of pairs (lowest (1 - alpha) P positives) x (highest beta N negatives) ranked correctly."""
    positives = sorted(score for score, label in zip(scores, labels, strict=True) if label == 1)
    negatives = sorted((score for score, label in zip(scores, labels, strict=True) if label == 0), reverse=True)
    low_positives = positives[: round((1 - min_tpr) * len(positives))]
    high_negatives = negatives[: round(max_fpr * len(negatives))]
    correct = sum(1 for i in low_positives for j in high_negatives if i > j)
    return correct / (len(low_positives) * len(high_negatives))


@pytest.mark.parametrize("seed", range(10))
def test_two_way_partial_auc_counts_pairs_on_tie_free_data(seed):
    # P = 10 and N = 20, so alpha P and beta N are integers for every pair below
    rng = np.random.default_rng(seed)
    labels = rng.permutation([1] * 10 + [0] * 20)
    scores = rng.normal(size=30) + labels  # positives higher on average, so the counts are not all 0 or 1
    bounds = [(0.0, 1.0), (0.0, 0.3), (0.3, 0.5), (0.5, 0.3), (0.9, 0.05), (0.5, 1.0), (0.7, 0.65)]
    ours = two_way_partial_auc(torch.from_numpy(scores), torch.from_numpy(labels), bounds)
    expected = [naive_two_way(scores.tolist(), labels.tolist(), *pair) for pair in bounds]
    np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=1e-12)


def integrated_two_way(scores, labels, min_tpr, max_fpr, points=2_000_001):
    """The region's area by brute force: sklearn's ROC, linearly interpolated, on a fine grid of FPR."""
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    grid = np.linspace(0, max_fpr, points)
    height = np.maximum(np.interp(grid, fpr, tpr) - min_tpr, 0)
    return np.trapezoid(height, grid) / ((1 - min_tpr) * max_fpr)


@pytest.mark.parametrize("seed", range(5))
def test_two_way_partial_auc_with_ties_matches_a_brute_force_integral(seed):
    scores, labels = random_case(seed, 40, tied=True)
    bounds = [(0.2, 0.5), (0.5, 0.3), (0.05, 0.9), (0.6, 1.0)]
    ours = two_way_partial_auc(torch.from_numpy(scores), torch.from_numpy(labels), bounds)
    expected = [integrated_two_way(scores, labels, *pair) for pair in bounds]
    np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("function", "bounds", "message"),
    [
        (partial_auc, [0.0], r"`pauc_max_fpr` must lie in \(0, 1\], got 0.0"),
        (partial_auc, [1.5], r"`pauc_max_fpr` must lie in \(0, 1\], got 1.5"),
        (partial_auc, [True], r"`pauc_max_fpr` must lie in \(0, 1\], got True"),
        (two_way_partial_auc, [(1.0, 0.3)], r"min_tpr in \[0, 1\) and max_fpr in \(0, 1\], got \[1.0, 0.3\]"),
        (two_way_partial_auc, [(0.5, 0.0)], r"got \[0.5, 0.0\]"),
        (two_way_partial_auc, [(0.5,)], r"got \[0.5\]"),
        (two_way_partial_auc, [0.5], r"got \[0.5\]"),
    ],
)
def test_bad_bounds_get_one_clear_line(function, bounds, message):
    with pytest.raises(ValueError, match=message):
        function(HAND_SCORES, HAND_LABELS, bounds)


def test_binary_rank_metrics_report_the_partial_aucs_under_their_keys():
    metric = BinaryRankMetrics(tpr_levels=(0.5,), pauc_max_fpr=(0.3, 1.0), tpauc=((0.5, 0.6), (0.0, 0.2)))
    assert metric.keys == ["auc", "fpr@50tpr", "pauc@30fpr", "pauc@100fpr", "tpauc@50tpr60fpr", "tpauc@0tpr20fpr"]
    metric.update(HAND_SCORES[:5], HAND_LABELS[:5])
    metric.update(HAND_SCORES[5:], HAND_LABELS[5:])
    values = {key: float(value) for key, value in metric.compute().items()}
    assert values["pauc@30fpr"] == pytest.approx(roc_auc_score(HAND_LABELS, HAND_SCORES, max_fpr=0.3), abs=1e-15)
    assert values["pauc@100fpr"] == pytest.approx(values["auc"], abs=1e-15)
    assert values["tpauc@50tpr60fpr"] == pytest.approx(5 / 24, abs=1e-15)
    assert values["tpauc@0tpr20fpr"] == pytest.approx(0.25, abs=1e-15)


def test_binary_rank_metrics_refuse_keys_that_collide():
    with pytest.raises(ValueError, match=r"must give distinct keys, got .*'pauc@30fpr', 'pauc@30fpr'"):
        BinaryRankMetrics(pauc_max_fpr=(0.3, 0.301))
