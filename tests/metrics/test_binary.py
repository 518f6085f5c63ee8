"""The binary ranking metrics (ROC, AUC, FPR at TPR, FPR at k false negatives, partial AUCs) and BinaryRankMetrics
against scikit-learn, naive loops over samples or pairs, brute-force integrals and hand-computed examples."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score, roc_curve

from almlit.metrics.binary import (
    BinaryRankMetrics,
    binary_auc,
    binary_roc,
    fpr_at_false_negatives,
    fpr_at_tpr,
    partial_auc,
    two_way_partial_auc,
)
from tests.helpers.hand_computed_roc import HAND_CASES, HAND_LABELS, HAND_SCORES

TPR_LEVELS = (0.5, 0.9, 0.92, 0.95, 0.98, 1.0)


def make_case(name: str, size: int = 300, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores and targets (about 1 positive in 5) for the named scenario."""
    rng = np.random.default_rng(seed)
    targets = (rng.random(size) < 0.2).astype(np.int64)
    targets[:2] = [0, 1]
    separated = rng.normal(size=size) + 1.5 * targets
    scores = {
        "continuous": separated,
        # Rounding to 0.5 creates large groups of tied scores that mix both classes.
        "ties": np.round(2 * separated) / 2,
        # Distinct in float64, but all equal to 1.0 after a float32 sigmoid.
        "large_logits": 40 + 1e-6 * np.argsort(np.argsort(separated)),
    }[name]
    return torch.from_numpy(scores), torch.from_numpy(targets)


CASES = ("continuous", "ties", "large_logits")


def sklearn_fpr_at_tpr(scores: torch.Tensor, targets: torch.Tensor, tpr_levels: tuple[float, ...]) -> list[float]:
    """For each level, the lowest FPR over the points of sklearn's ROC curve that reach it."""
    fpr, tpr, _ = roc_curve(targets.numpy(), scores.numpy(), drop_intermediate=False)
    return [min(f for f, t in zip(fpr, tpr, strict=True) if t >= level) for level in tpr_levels]


def counted_fpr_at_false_negatives(
    scores: torch.Tensor, targets: torch.Tensor, budgets: tuple[int, ...]
) -> list[float]:
    """For each budget k, the lowest FPR over thresholds that leave at most k positives below them."""
    pairs = list(zip(scores.tolist(), targets.tolist(), strict=True))
    negatives = sum(1 for _, label in pairs if label == 0)
    points = []
    for threshold in [float("inf"), *sorted({score for score, _ in pairs})]:
        missed = sum(1 for score, label in pairs if label == 1 and score < threshold)
        false_alarms = sum(1 for score, label in pairs if label == 0 and score >= threshold)
        points.append((missed, false_alarms / negatives))
    return [min(fpr for missed, fpr in points if missed <= budget) for budget in budgets]


def test_large_logit_case_ties_under_float32_sigmoid() -> None:
    scores, _ = make_case("large_logits")
    assert torch.unique(scores).numel() == scores.numel()
    assert torch.unique(torch.sigmoid(scores.float())).numel() == 1


@pytest.mark.parametrize("case", CASES)
def test_roc_matches_sklearn(case: str) -> None:
    scores, targets = make_case(case)
    expected = roc_curve(targets.numpy(), scores.numpy(), drop_intermediate=False)
    for actual, reference in zip(binary_roc(scores, targets), expected, strict=True):
        assert actual.dtype == torch.float64
        np.testing.assert_allclose(actual.numpy(), reference, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_auc_matches_sklearn(case: str) -> None:
    scores, targets = make_case(case)
    auc = binary_auc(scores, targets)
    assert auc.ndim == 0 and auc.dtype == torch.float64
    assert auc.item() == pytest.approx(roc_auc_score(targets.numpy(), scores.numpy()), abs=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_fpr_at_tpr_matches_loop_over_sklearn_roc(case: str) -> None:
    scores, targets = make_case(case)
    actual = fpr_at_tpr(scores, targets, TPR_LEVELS)
    assert actual.dtype == torch.float64 and actual.shape == (len(TPR_LEVELS),)
    np.testing.assert_allclose(actual.numpy(), sklearn_fpr_at_tpr(scores, targets, TPR_LEVELS), rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_fpr_at_false_negatives_matches_counting_loop(case: str) -> None:
    scores, targets = make_case(case)
    positives = int(targets.sum())
    budgets = (0, 1, 3, positives - 1, positives, positives + 5)
    actual = fpr_at_false_negatives(scores, targets, budgets)
    expected = counted_fpr_at_false_negatives(scores, targets, budgets)
    np.testing.assert_allclose(actual.numpy(), expected, rtol=0, atol=1e-12)


def test_hand_computed_example() -> None:
    # Positives score 0.35 and 0.8, negatives 0.1 and 0.4. Of the 4 positive-negative pairs only (0.35, 0.4) is
    # ranked wrongly, so AUC = 3/4. Thresholds +inf, 0.8, 0.4, 0.35, 0.1 give
    # (FPR, TPR) = (0, 0), (0, 1/2), (1/2, 1/2), (1/2, 1), (1, 1).
    # TPR >= 1/2 first at FPR 0, TPR = 1 first at FPR 1/2. Missing no positive needs threshold 0.35 (FPR 1/2);
    # missing one allows threshold 0.8 (FPR 0); missing two allows +inf (FPR 0).
    scores = torch.tensor([0.1, 0.4, 0.35, 0.8])
    targets = torch.tensor([0, 0, 1, 1])
    fpr, tpr, thresholds = binary_roc(scores, targets)
    assert fpr.tolist() == [0, 0, 0.5, 0.5, 1]
    assert tpr.tolist() == [0, 0.5, 0.5, 1, 1]
    assert thresholds.tolist() == pytest.approx([float("inf"), 0.8, 0.4, 0.35, 0.1])
    assert binary_auc(scores, targets).item() == 0.75
    assert fpr_at_tpr(scores, targets, (0.5, 1.0)).tolist() == [0, 0.5]
    assert fpr_at_false_negatives(scores, targets, (0, 1, 2)).tolist() == [0.5, 0, 0]


SCORES = torch.zeros(12)
TARGETS = torch.tensor([0, 1] * 6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: binary_roc(SCORES.reshape(3, 4), TARGETS), r"`scores` must be a 1-D tensor, got shape \(3, 4\)"),
        (lambda: binary_auc(SCORES, TARGETS[:5]), r"`scores` and `targets` must have the same length, got 12 and 5"),
        (lambda: binary_auc(SCORES, TARGETS * 2), r"`targets` must contain only 0 and 1, got \[2\]"),
        (lambda: binary_auc(torch.full((12,), torch.nan), TARGETS), r"`scores` must not contain NaN, got 12 NaN"),
        (
            lambda: binary_auc(SCORES, torch.zeros(12)),
            r"`targets` needs at least one positive and one negative sample, got 0 positives and 12 negatives",
        ),
        (lambda: fpr_at_tpr(SCORES, TARGETS, (0.9, 0.0)), r"`tpr_levels` must lie in \(0, 1\], got 0.0"),
        (lambda: fpr_at_tpr(SCORES, TARGETS, (1.5,)), r"`tpr_levels` must lie in \(0, 1\], got 1.5"),
        (lambda: fpr_at_false_negatives(SCORES, TARGETS, (-1,)), r"`false_negatives` must be integers >= 0, got -1"),
        (lambda: fpr_at_false_negatives(SCORES, TARGETS, (2.0,)), r"`false_negatives` must be integers >= 0, got 2.0"),
    ],
    ids=["2d", "length", "values", "nan", "one_class", "tpr_zero", "tpr_above_one", "fn_negative", "fn_float"],
)
def test_invalid_input_is_rejected(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


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


# BinaryRankMetrics: the torchmetrics shell

SHELL_TPR_LEVELS = (0.98, 0.95, 0.92, 0.90)
BUDGETS = (0, 2)


@pytest.mark.parametrize("case", CASES)
def test_accumulated_batches_match_references_on_concatenation(case: str) -> None:
    scores, targets = make_case(case)
    metric = BinaryRankMetrics(tpr_levels=SHELL_TPR_LEVELS, false_negatives=BUDGETS)
    metric.update(torch.zeros(3), torch.tensor([1, 1, 0]))
    metric.reset()
    # Uneven batches shaped like a one-logit head's output [B, 1].
    for batch_scores, batch_targets in zip(scores.split(70), targets.split(70), strict=True):
        metric.update(batch_scores.unsqueeze(1), batch_targets)
    result = metric.compute()

    expected = [
        roc_auc_score(targets.numpy(), scores.numpy()),
        *sklearn_fpr_at_tpr(scores, targets, SHELL_TPR_LEVELS),
        *counted_fpr_at_false_negatives(scores, targets, BUDGETS),
    ]
    assert list(result) == metric.keys
    assert all(value.dtype == torch.float64 and value.ndim == 0 for value in result.values())
    assert [value.item() for value in result.values()] == pytest.approx(expected, abs=1e-12)


def test_keys_follow_levels_then_budgets() -> None:
    metric = BinaryRankMetrics(false_negatives=(0, 5))
    assert metric.keys == ["auc", "fpr@98tpr", "fpr@95tpr", "fpr@92tpr", "fpr@90tpr", "fpr@0fn", "fpr@5fn"]


@pytest.mark.parametrize(
    "batches",
    [
        pytest.param([], id="empty", marks=pytest.mark.filterwarnings("ignore:.*called before the ``update``")),
        pytest.param([[0, 0, 0], [0]], id="negatives"),
        pytest.param([[1, 1], [1]], id="positives"),
    ],
)
def test_missing_class_gives_nan_for_every_key(batches: list[list[int]]) -> None:
    metric = BinaryRankMetrics(false_negatives=(1,))
    for batch in batches:
        metric.update(torch.randn(len(batch), 1), torch.tensor(batch))
    result = metric.compute()
    assert list(result) == metric.keys
    assert all(math.isnan(value.item()) for value in result.values())


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"tpr_levels": (0.95, 1.2)}, r"`tpr_levels` must lie in \(0, 1\], got 1.2"),
        ({"false_negatives": (-2,)}, r"`false_negatives` must be integers >= 0, got -2"),
        ({"tpr_levels": (0.95, 0.951)}, r"must give distinct keys, got \['auc', 'fpr@95tpr', 'fpr@95tpr'\]"),
    ],
    ids=["tpr_level", "budget", "duplicate_key"],
)
def test_invalid_arguments_are_rejected(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BinaryRankMetrics(**arguments)


def test_update_rejects_mismatched_batch() -> None:
    # A two-logit head must pass its positive column; flattening [B, 2] leaves twice as many scores as targets.
    with pytest.raises(ValueError, match="`scores` and `targets` must have the same length, got 8 and 4"):
        BinaryRankMetrics().update(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]))


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
