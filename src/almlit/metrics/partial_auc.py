"""Partial areas under the ROC curve: one-way (FPR <= beta) and two-way (FPR <= beta and TPR >= alpha).

Both integrate the ROC curve of :func:`almlit.metrics.functional.binary_roc` in float64, linearly interpolated between
its points: tied scores form one diagonal step, and a bound that falls inside a step cuts it where the line crosses it,
exactly as ``sklearn.metrics.roc_auc_score(max_fpr=...)`` interpolates the TPR at ``max_fpr``.

- One-way, standardised as McClish (1989), ``sklearn.metrics.roc_auc_score(targets, scores, max_fpr=beta)``: with
  A = the area under the curve over FPR in [0, beta], ``0.5 * (1 + (A - beta^2 / 2) / (beta - beta^2 / 2))``, so a
  random ranking gives 0.5 and a perfect one 1; beta = 1 gives the AUC.
- Two-way (Yang et al., ICML 2021, "When all we need is a piece of the pie"): the area of the ROC region with
  FPR <= beta and TPR >= alpha, i.e. the integral of max(0, TPR(x) - alpha) over x in [0, beta], divided by the area
  (1 - alpha) * beta of the box it lies in, so a perfect ranking gives 1 and a random one (beta - alpha)^2 / 2 /
  ((1 - alpha) beta) when beta > alpha, else 0. Without ties, and when alpha * P and beta * N are integers (P
  positives, N negatives), it equals the fraction of pairs (i, j), i among the (1 - alpha) P lowest-scoring positives
  and j among the beta N highest-scoring negatives, with score_i > score_j; alpha = 0 gives the one-way area / beta.
"""

from collections.abc import Sequence
from numbers import Real
from typing import cast

import torch
from torch import Tensor

from almlit.metrics.functional import binary_roc


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


def pauc_key(max_fpr: float) -> str:
    """``pauc@30fpr`` for beta = 0.3."""
    return f"pauc@{round(100 * max_fpr)}fpr"


def tpauc_key(min_tpr: float, max_fpr: float) -> str:
    """``tpauc@50tpr30fpr`` for alpha = 0.5, beta = 0.3."""
    return f"tpauc@{round(100 * min_tpr)}tpr{round(100 * max_fpr)}fpr"


def area_up_to(fpr: Tensor, tpr: Tensor, bounds: Tensor) -> Tensor:
    """Area under the interpolated ROC curve over FPR in [0, b], for each bound b in [0, 1].

    Args:
        fpr: float64 FPR of the ROC points, non-decreasing from 0 to 1.
        tpr: float64 TPR of the same points, non-decreasing.
        bounds: float64 bounds b.

    Returns:
        float64 tensor shaped like ``bounds``.
    """
    cumulative = torch.cat([fpr.new_zeros(1), torch.cumsum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2, 0)])
    last = torch.searchsorted(fpr, bounds, right=True) - 1  # the last point with FPR <= b (the highest TPR there)
    following = (last + 1).clamp(max=len(fpr) - 1)
    span = fpr[following] - fpr[last]
    fraction = torch.where(span > 0, (bounds - fpr[last]) / span.clamp(min=torch.finfo(span.dtype).tiny), 0.0)
    tpr_at_bound = tpr[last] + fraction * (tpr[following] - tpr[last])
    return cumulative[last] + (bounds - fpr[last]) * (tpr[last] + tpr_at_bound) / 2


def fpr_reaching(fpr: Tensor, tpr: Tensor, levels: Tensor) -> Tensor:
    """The lowest FPR at which the interpolated ROC curve reaches TPR a, for each level a in [0, 1]."""
    first = torch.searchsorted(tpr, levels)  # the first point with TPR >= a
    previous = (first - 1).clamp(min=0)
    rise = tpr[first] - tpr[previous]
    fraction = torch.where(rise > 0, (levels - tpr[previous]) / rise.clamp(min=torch.finfo(rise.dtype).tiny), 0.0)
    return fpr[previous] + fraction * (fpr[first] - fpr[previous])


def partial_auc(scores: Tensor, targets: Tensor, max_fprs: Sequence[float]) -> Tensor:
    """McClish-standardised partial AUC over FPR <= beta, for each beta: ``roc_auc_score(..., max_fpr=beta)``.

    Args:
        scores: 1-D raw scores (logits).
        targets: 1-D 0/1 labels of the same length, with at least one of each.
        max_fprs: FPR bounds beta, each in (0, 1].

    Returns:
        float64 tensor of shape ``[len(max_fprs)]``.

    Raises:
        ValueError: on malformed inputs, a missing class or a bound outside (0, 1].
    """
    check_max_fprs(max_fprs)
    fpr, tpr, _ = binary_roc(scores, targets)
    beta = fpr.new_tensor([float(bound) for bound in max_fprs])
    smallest, largest = beta**2 / 2, beta  # the areas under the chance diagonal and a perfect curve over [0, beta]
    return 0.5 * (1 + (area_up_to(fpr, tpr, beta) - smallest) / (largest - smallest))


def two_way_partial_auc(scores: Tensor, targets: Tensor, bounds: Sequence[Sequence[float]]) -> Tensor:
    """Two-way partial AUC: the ROC area with TPR >= alpha and FPR <= beta over (1 - alpha) * beta, per pair.

    Args:
        scores: 1-D raw scores (logits).
        targets: 1-D 0/1 labels of the same length, with at least one of each.
        bounds: ``(alpha, beta)`` pairs: min TPR in [0, 1), max FPR in (0, 1].

    Returns:
        float64 tensor of shape ``[len(bounds)]``, in [0, 1].

    Raises:
        ValueError: on malformed inputs, a missing class or a pair outside the allowed ranges.
    """
    check_tpauc_bounds(bounds)
    fpr, tpr, _ = binary_roc(scores, targets)
    alpha = fpr.new_tensor([float(min_tpr) for min_tpr, _ in bounds])
    beta = fpr.new_tensor([float(max_fpr) for _, max_fpr in bounds])
    # TPR(x) >= alpha exactly for x >= x_alpha (the curve never decreases), so the region is x in [x_alpha, beta].
    start = torch.minimum(fpr_reaching(fpr, tpr, alpha), beta)
    area = area_up_to(fpr, tpr, beta) - area_up_to(fpr, tpr, start) - alpha * (beta - start)
    return area.clamp(min=0) / ((1 - alpha) * beta)
