"""The functional ranking metrics against scikit-learn, naive loops and a hand-computed example."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score, roc_curve

from almlit.metrics.functional import binary_auc, binary_roc, fpr_at_false_negatives, fpr_at_tpr
from tests.helpers.ranking_references import (
    SCORE_CASES,
    counted_fpr_at_false_negatives,
    make_case,
    sklearn_fpr_at_tpr,
)

TPR_LEVELS = (0.5, 0.9, 0.92, 0.95, 0.98, 1.0)


def test_large_logit_case_ties_under_float32_sigmoid() -> None:
    scores, _ = make_case("large_logits")
    assert torch.unique(scores).numel() == scores.numel()
    assert torch.unique(torch.sigmoid(scores.float())).numel() == 1


@pytest.mark.parametrize("case", SCORE_CASES)
def test_roc_matches_sklearn(case: str) -> None:
    scores, targets = make_case(case)
    expected = roc_curve(targets.numpy(), scores.numpy(), drop_intermediate=False)
    for actual, reference in zip(binary_roc(scores, targets), expected, strict=True):
        assert actual.dtype == torch.float64
        np.testing.assert_allclose(actual.numpy(), reference, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", SCORE_CASES)
def test_auc_matches_sklearn(case: str) -> None:
    scores, targets = make_case(case)
    auc = binary_auc(scores, targets)
    assert auc.ndim == 0 and auc.dtype == torch.float64
    assert auc.item() == pytest.approx(roc_auc_score(targets.numpy(), scores.numpy()), abs=1e-12)


@pytest.mark.parametrize("case", SCORE_CASES)
def test_fpr_at_tpr_matches_loop_over_sklearn_roc(case: str) -> None:
    scores, targets = make_case(case)
    actual = fpr_at_tpr(scores, targets, TPR_LEVELS)
    assert actual.dtype == torch.float64 and actual.shape == (len(TPR_LEVELS),)
    np.testing.assert_allclose(actual.numpy(), sklearn_fpr_at_tpr(scores, targets, TPR_LEVELS), rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", SCORE_CASES)
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
