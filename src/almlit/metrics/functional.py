"""Ranking metrics for the critical (positive) class, as pure float64 tensor functions.

Every function takes raw scores (logits) and 0/1 targets. Scores are ranked in float64 and never passed through a
sigmoid: a float32 sigmoid rounds every logit above ~17 to exactly 1.0, which turns distinct scores into ties and
changes the ROC curve.

The ROC curve here has one point per distinct score (tied scores form one step), ordered by descending threshold and
starting at (FPR, TPR) = (0, 0) with threshold +inf: the points of
``sklearn.metrics.roc_curve(targets, scores, drop_intermediate=False)``.
"""

from collections.abc import Sequence
from numbers import Integral, Real

import torch
from torch import Tensor


def check_scores_and_targets(scores: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """Validate a batch of scores and binary targets.

    Args:
        scores: 1-D tensor of raw scores (logits), without NaN.
        targets: 1-D tensor of the same length holding only 0 and 1 (any dtype).

    Returns:
        ``scores`` as float64 and ``targets`` as bool, both detached.

    Raises:
        ValueError: if a tensor is not 1-D, the lengths differ, ``scores`` contains NaN or ``targets`` holds a value
            other than 0 and 1.
    """
    for name, tensor in (("scores", scores), ("targets", targets)):
        if tensor.ndim != 1:
            raise ValueError(f"`{name}` must be a 1-D tensor, got shape {tuple(tensor.shape)}")
    if scores.numel() != targets.numel():
        raise ValueError(
            f"`scores` and `targets` must have the same length, got {scores.numel()} and {targets.numel()}"
        )
    scores = scores.detach().to(torch.float64)
    if torch.isnan(scores).any():
        raise ValueError(f"`scores` must not contain NaN, got {int(torch.isnan(scores).sum())} NaN value(s)")
    targets = targets.detach()
    binary = (targets == 0) | (targets == 1)
    if not binary.all():
        raise ValueError(f"`targets` must contain only 0 and 1, got {torch.unique(targets[~binary]).tolist()}")
    return scores, targets.bool()


def check_tpr_levels(tpr_levels: Sequence[float]) -> None:
    """Check that every TPR level lies in (0, 1].

    Raises:
        ValueError: naming the first level outside (0, 1].
    """
    for level in tpr_levels:
        if isinstance(level, bool) or not isinstance(level, Real) or not 0 < level <= 1:
            raise ValueError(f"`tpr_levels` must lie in (0, 1], got {level!r}")


def check_false_negatives(false_negatives: Sequence[int]) -> None:
    """Check that every false-negative budget is an integer >= 0.

    Raises:
        ValueError: naming the first budget that is not an integer >= 0.
    """
    for budget in false_negatives:
        if isinstance(budget, bool) or not isinstance(budget, Integral) or budget < 0:
            raise ValueError(f"`false_negatives` must be integers >= 0, got {budget!r}")


def _roc_counts(scores: Tensor, targets: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Cumulative false and true positive counts at every distinct threshold, highest threshold first.

    Returns:
        ``(false_positives, true_positives, thresholds)``: int64, int64 and float64 tensors whose first entry is the
        empty prediction (0, 0, +inf) and whose last entry counts every sample as positive.

    Raises:
        ValueError: if the inputs fail :func:`check_scores_and_targets` or lack a positive or a negative.
    """
    scores, targets = check_scores_and_targets(scores, targets)
    positives = int(targets.sum())
    negatives = targets.numel() - positives
    if positives == 0 or negatives == 0:
        raise ValueError(
            "`targets` needs at least one positive and one negative sample, "
            f"got {positives} positives and {negatives} negatives"
        )
    sorted_scores, order = torch.sort(scores, descending=True)
    true_positives = torch.cumsum(targets[order], dim=0)
    # The last sample of each run of equal scores closes one ROC step, so tied scores move the curve together.
    step_ends = torch.nonzero(sorted_scores[1:] != sorted_scores[:-1]).flatten()
    step_ends = torch.cat([step_ends, step_ends.new_tensor([scores.numel() - 1])])
    true_positives = true_positives[step_ends]
    false_positives = step_ends + 1 - true_positives
    zero = step_ends.new_zeros(1)
    return (
        torch.cat([zero, false_positives]),
        torch.cat([zero, true_positives]),
        torch.cat([scores.new_tensor([torch.inf]), sorted_scores[step_ends]]),
    )


def _rates(counts: Tensor) -> Tensor:
    """Cumulative counts divided by their total, in float64 (int64 division would give the default float32)."""
    return counts.to(torch.float64) / counts[-1]


def _lowest_fpr_reaching(fpr: Tensor, reached: Tensor, required: Tensor) -> Tensor:
    """FPR at the first ROC point whose ``reached`` value is >= each ``required`` value.

    FPR and TPR never decrease along the curve, so the first point that reaches the requirement has the lowest FPR
    among all points that reach it. Every requirement must be <= ``reached[-1]``.
    """
    return fpr[torch.searchsorted(reached, required)]


def binary_roc(scores: Tensor, targets: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """ROC curve of the positive class, one point per distinct score.

    Args:
        scores: 1-D raw scores (logits); higher means more likely positive.
        targets: 1-D 0/1 labels of the same length, with at least one of each.

    Returns:
        ``(fpr, tpr, thresholds)`` as float64 tensors ordered by descending threshold. Point i predicts positive
        every sample with ``score >= thresholds[i]``; the first point is (0, 0) at threshold +inf.

    Raises:
        ValueError: on malformed inputs or when a class is missing.
    """
    false_positives, true_positives, thresholds = _roc_counts(scores, targets)
    return _rates(false_positives), _rates(true_positives), thresholds


def binary_auc(scores: Tensor, targets: Tensor) -> Tensor:
    """Area under the ROC curve of :func:`binary_roc`, by the trapezoid rule.

    This equals the Mann-Whitney statistic P(score_pos > score_neg) + 1/2 P(score_pos = score_neg).

    Returns:
        0-dim float64 tensor.

    Raises:
        ValueError: on malformed inputs or when a class is missing.
    """
    fpr, tpr, _ = binary_roc(scores, targets)
    return torch.trapezoid(tpr, fpr)


def fpr_at_tpr(scores: Tensor, targets: Tensor, tpr_levels: Sequence[float]) -> Tensor:
    """Lowest FPR among the ROC points whose TPR is >= t, for each level t.

    This is the paper's main operating point: the false-alarm rate paid to catch a fraction t of the critical class.

    Args:
        scores: 1-D raw scores (logits).
        targets: 1-D 0/1 labels of the same length, with at least one of each.
        tpr_levels: required true-positive rates, each in (0, 1].

    Returns:
        float64 tensor of shape ``[len(tpr_levels)]``.

    Raises:
        ValueError: on malformed inputs, a missing class or a level outside (0, 1].
    """
    check_tpr_levels(tpr_levels)
    fpr, tpr, _ = binary_roc(scores, targets)
    return _lowest_fpr_reaching(fpr, tpr, tpr.new_tensor(list(tpr_levels)))


def fpr_at_false_negatives(scores: Tensor, targets: Tensor, false_negatives: Sequence[int]) -> Tensor:
    """Lowest FPR among the thresholds that miss at most k positives, for each budget k.

    With P positives this is the lowest FPR over ROC points with TPR >= (P - k) / P; counts are compared as integers
    so no rounding can move a point across the budget. A budget k >= P allows the empty prediction, FPR 0.

    Args:
        scores: 1-D raw scores (logits).
        targets: 1-D 0/1 labels of the same length, with at least one of each.
        false_negatives: budgets k of missed positives, each an integer >= 0.

    Returns:
        float64 tensor of shape ``[len(false_negatives)]``.

    Raises:
        ValueError: on malformed inputs, a missing class or a budget that is not an integer >= 0.
    """
    check_false_negatives(false_negatives)
    false_positives, true_positives, _ = _roc_counts(scores, targets)
    positives = true_positives[-1]
    required = positives - true_positives.new_tensor([int(budget) for budget in false_negatives])
    return _lowest_fpr_reaching(_rates(false_positives), true_positives, required)
