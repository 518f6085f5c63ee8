"""BinaryRankMetrics accumulated over batches against scikit-learn and naive loops on the concatenated data."""

import math

import pytest
import torch
from sklearn.metrics import roc_auc_score

from almlit.metrics import BinaryRankMetrics
from tests.helpers.ranking_references import SCORE_CASES, counted_fpr_at_false_negatives, make_case, sklearn_fpr_at_tpr

TPR_LEVELS = (0.98, 0.95, 0.92, 0.90)
BUDGETS = (0, 2)


@pytest.mark.parametrize("case", SCORE_CASES)
def test_accumulated_batches_match_references_on_concatenation(case: str) -> None:
    scores, targets = make_case(case)
    metric = BinaryRankMetrics(tpr_levels=TPR_LEVELS, false_negatives=BUDGETS)
    metric.update(torch.zeros(3), torch.tensor([1, 1, 0]))
    metric.reset()
    # Uneven batches shaped like a one-logit head's output [B, 1].
    for batch_scores, batch_targets in zip(scores.split(70), targets.split(70), strict=True):
        metric.update(batch_scores.unsqueeze(1), batch_targets)
    result = metric.compute()

    expected = [
        roc_auc_score(targets.numpy(), scores.numpy()),
        *sklearn_fpr_at_tpr(scores, targets, TPR_LEVELS),
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
