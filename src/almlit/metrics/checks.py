"""Argument checks shared by the metric families and by the decision layer.

Every check raises a ``ValueError`` that names the argument, the value it got and what is allowed.
"""

from collections.abc import Sequence
from numbers import Integral, Real
from typing import cast

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


def _is_rate(value: object, low: float, high: float, closed_low: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, Real):
        return False
    rate = cast(float, value)  # a Real compares with floats; typeshed's numbers.Real declares no comparisons
    return (low <= rate if closed_low else low < rate) and rate <= high


def check_max_fprs(max_fprs: Sequence[float]) -> None:
    """Check that every FPR bound beta lies in (0, 1].

    Raises:
        ValueError: naming the first bound outside (0, 1].
    """
    for bound in max_fprs:
        if not _is_rate(bound, 0, 1, closed_low=False):
            raise ValueError(f"`pauc_max_fpr` must lie in (0, 1], got {bound!r}")


def check_tpauc_bounds(bounds: Sequence[Sequence[float]]) -> None:
    """Check that every two-way bound is a pair ``(alpha, beta)``: min TPR in [0, 1), max FPR in (0, 1].

    Raises:
        ValueError: naming the first pair that is not allowed.
    """
    for pair in bounds:
        pair = tuple(pair) if isinstance(pair, Sequence) and not isinstance(pair, str) else (pair,)
        if len(pair) != 2 or not _is_rate(pair[0], 0, 1, True) or pair[0] == 1 or not _is_rate(pair[1], 0, 1, False):
            raise ValueError(
                f"`tpauc` must hold [min_tpr, max_fpr] pairs with min_tpr in [0, 1) and max_fpr in (0, 1], "
                f"got {list(pair)!r}"
            )


def check_multiclass_scores_and_targets(
    scores: Tensor, targets: Tensor, num_classes: int | None = None
) -> tuple[Tensor, Tensor]:
    """Validate a batch of per-class scores and class-index targets.

    Args:
        scores: ``[N, C]`` raw scores (logits or probabilities), without NaN.
        targets: ``[N]`` integer class indices in ``[0, C)``.
        num_classes: the expected C, or None to take it from ``scores``.

    Returns:
        ``scores`` as float64 and ``targets`` as int64, both detached.

    Raises:
        ValueError: naming the argument whose shape, dtype or values are not allowed.
    """
    if scores.ndim != 2:
        raise ValueError(f"`scores` must be a 2-D tensor [N, C], got shape {tuple(scores.shape)}")
    if num_classes is not None and scores.shape[1] != num_classes:
        raise ValueError(f"`scores` must have {num_classes} columns, one per class, got shape {tuple(scores.shape)}")
    if targets.ndim != 1 or targets.numel() != scores.shape[0]:
        raise ValueError(
            f"`targets` must be a 1-D tensor of length N = {scores.shape[0]}, got shape {tuple(targets.shape)}"
        )
    if targets.dtype == torch.bool or targets.is_floating_point() or targets.is_complex():
        raise ValueError(f"`targets` must be an integer tensor, got dtype {targets.dtype}")
    scores = scores.detach().to(torch.float64)
    if torch.isnan(scores).any():
        raise ValueError(f"`scores` must not contain NaN, got {int(torch.isnan(scores).sum())} NaN value(s)")
    targets = targets.detach().long()
    outside = (targets < 0) | (targets >= scores.shape[1])
    if outside.any():
        raise ValueError(f"`targets` must lie in [0, {scores.shape[1]}), got {torch.unique(targets[outside]).tolist()}")
    return scores, targets


def check_critical_classes(critical_classes: Sequence[int], num_classes: int) -> tuple[int, ...]:
    """Check that the critical classes are distinct class indices that leave at least one non-critical class.

    Returns:
        The critical classes as a tuple of ints, in the given order.

    Raises:
        ValueError: naming the offending value.
    """
    critical = tuple(critical_classes)
    if not critical:
        raise ValueError("`critical_classes` must name at least one class, got none")
    for index in critical:
        if isinstance(index, bool) or not isinstance(index, Integral) or not 0 <= index < num_classes:
            raise ValueError(f"`critical_classes` must be integers in [0, {num_classes}), got {index!r}")
    critical = tuple(int(index) for index in critical)
    if len(set(critical)) != len(critical):
        raise ValueError(f"`critical_classes` must be distinct, got {list(critical)}")
    if len(critical) == num_classes:
        raise ValueError(
            f"`critical_classes` must leave at least one non-critical class, got {list(critical)} of {num_classes}"
        )
    return critical
