"""Ranking metrics of the critical (positive) class: pure float64 tensor functions, then their torchmetrics shell.

Every function takes raw scores (logits) and 0/1 targets. Scores are ranked in float64 and never passed through a
sigmoid: a float32 sigmoid rounds every logit above ~17 to exactly 1.0, which turns distinct scores into ties and
changes the ROC curve.

The ROC curve here has one point per distinct score (tied scores form one step), ordered by descending threshold and
starting at (FPR, TPR) = (0, 0) with threshold +inf: the points of
``sklearn.metrics.roc_curve(targets, scores, drop_intermediate=False)``. AUC, FPR at a TPR level and FPR at a number
of missed positives are read off its points.

The partial areas integrate the same curve, linearly interpolated between its points: tied scores form one diagonal
step, and a bound that falls inside a step cuts it where the line crosses it, exactly as
``sklearn.metrics.roc_auc_score(max_fpr=...)`` interpolates the TPR at ``max_fpr``:

- One-way, standardised as McClish (1989), ``sklearn.metrics.roc_auc_score(targets, scores, max_fpr=beta)``: with
  A = the area under the curve over FPR in [0, beta], ``0.5 * (1 + (A - beta^2 / 2) / (beta - beta^2 / 2))``, so a
  random ranking gives 0.5 and a perfect one 1; beta = 1 gives the AUC.
- Two-way (Yang et al., ICML 2021, "When all we need is a piece of the pie"): the area of the ROC region with
  FPR <= beta and TPR >= alpha, i.e. the integral of max(0, TPR(x) - alpha) over x in [0, beta], divided by the area
  (1 - alpha) * beta of the box it lies in, so a perfect ranking gives 1 and a random one (beta - alpha)^2 / 2 /
  ((1 - alpha) beta) when beta > alpha, else 0. Without ties, and when alpha * P and beta * N are integers (P
  positives, N negatives), it equals the fraction of pairs (i, j), i among the (1 - alpha) P lowest-scoring positives
  and j among the beta N highest-scoring negatives, with score_i > score_j; alpha = 0 gives the one-way area / beta.

:class:`BinaryRankMetrics` accumulates scores per stage and computes all of these once per epoch.
"""

from collections.abc import Sequence

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities.data import dim_zero_cat

from almlit.metrics.checks import (
    check_false_negatives,
    check_max_fprs,
    check_scores_and_targets,
    check_tpauc_bounds,
    check_tpr_levels,
)


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


def _pauc_key(max_fpr: float) -> str:
    """``pauc@30fpr`` for beta = 0.3."""
    return f"pauc@{round(100 * max_fpr)}fpr"


def _tpauc_key(min_tpr: float, max_fpr: float) -> str:
    """``tpauc@50tpr30fpr`` for alpha = 0.5, beta = 0.3."""
    return f"tpauc@{round(100 * min_tpr)}tpr{round(100 * max_fpr)}fpr"


def _area_up_to(fpr: Tensor, tpr: Tensor, bounds: Tensor) -> Tensor:
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


def _fpr_reaching(fpr: Tensor, tpr: Tensor, levels: Tensor) -> Tensor:
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
    return 0.5 * (1 + (_area_up_to(fpr, tpr, beta) - smallest) / (largest - smallest))


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
    start = torch.minimum(_fpr_reaching(fpr, tpr, alpha), beta)
    area = _area_up_to(fpr, tpr, beta) - _area_up_to(fpr, tpr, start) - alpha * (beta - start)
    return area.clamp(min=0) / ((1 - alpha) * beta)


def _concatenated(state: Tensor | list[Tensor], dtype: torch.dtype) -> Tensor:
    """One tensor from a list state (or its already-synchronised tensor); empty when nothing was accumulated."""
    return dim_zero_cat(state) if len(state) else torch.empty(0, dtype=dtype)


class BinaryRankMetrics(Metric):
    """AUC, FPR at fixed TPR levels, FPR at fixed numbers of missed positives and partial AUCs for the critical class.

    Scores are stored as float64 raw logits, so ranking is exact however large the logits grow. When the accumulated
    targets lack a positive or a negative (e.g. Lightning's sanity check on a few batches) every value is NaN instead
    of an error.

    Args:
        tpr_levels: TPR levels t in (0, 1]; each gives the key ``fpr@{round(100 * t)}tpr``.
        false_negatives: budgets k >= 0 of missed positives; each gives the key ``fpr@{k}fn``.
        pauc_max_fpr: FPR bounds beta in (0, 1] of the McClish-standardised partial AUC; each gives the key
            ``pauc@{round(100 * beta)}fpr`` (see :func:`partial_auc`).
        tpauc: ``(alpha, beta)`` pairs of the two-way partial AUC (TPR >= alpha, FPR <= beta); each gives the key
            ``tpauc@{round(100 * alpha)}tpr{round(100 * beta)}fpr``.

    Example:
        >>> metric = BinaryRankMetrics(tpr_levels=(0.5,))
        >>> metric.update(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
        >>> {key: round(value.item(), 2) for key, value in metric.compute().items()}
        {'auc': 0.75, 'fpr@50tpr': 0.0}
    """

    is_differentiable = False
    higher_is_better = None
    full_state_update = False
    scores: list[Tensor]  # metric states (add_state), concatenated across processes
    targets: list[Tensor]

    def __init__(
        self,
        tpr_levels: Sequence[float] = (0.98, 0.95, 0.92, 0.90),
        false_negatives: Sequence[int] = (),
        pauc_max_fpr: Sequence[float] = (),
        tpauc: Sequence[Sequence[float]] = (),
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        check_tpr_levels(tpr_levels)
        check_false_negatives(false_negatives)
        check_max_fprs(pauc_max_fpr)
        check_tpauc_bounds(tpauc)
        self.tpr_levels = tuple(float(level) for level in tpr_levels)
        self.false_negatives = tuple(int(budget) for budget in false_negatives)
        self.pauc_max_fpr = tuple(float(bound) for bound in pauc_max_fpr)
        self.tpauc = tuple((float(min_tpr), float(max_fpr)) for min_tpr, max_fpr in tpauc)
        keys = self.keys
        if len(set(keys)) != len(keys):
            raise ValueError(
                f"`tpr_levels`, `false_negatives`, `pauc_max_fpr` and `tpauc` must give distinct keys, got {keys}"
            )
        self.add_state("scores", default=[], dist_reduce_fx="cat")
        self.add_state("targets", default=[], dist_reduce_fx="cat")

    @property
    def keys(self) -> list[str]:
        """Names of the values returned by :meth:`compute`, in order."""
        return [
            "auc",
            *(f"fpr@{round(100 * level)}tpr" for level in self.tpr_levels),
            *(f"fpr@{budget}fn" for budget in self.false_negatives),
            *(_pauc_key(bound) for bound in self.pauc_max_fpr),
            *(_tpauc_key(min_tpr, max_fpr) for min_tpr, max_fpr in self.tpauc),
        ]

    def update(self, scores: Tensor, targets: Tensor) -> None:
        """Store one batch.

        Args:
            scores: raw scores (logits) of shape ``[B]`` or ``[B, 1]``.
            targets: 0/1 labels with B elements.
        """
        scores, targets = check_scores_and_targets(scores.flatten(), targets.flatten())
        self.scores.append(scores)
        self.targets.append(targets)

    def compute(self) -> dict[str, Tensor]:
        """Rank everything accumulated since the last reset.

        Returns:
            0-dim float64 tensors keyed by :attr:`keys`, all NaN when a class is missing.
        """
        scores = _concatenated(self.scores, torch.float64)
        targets = _concatenated(self.targets, torch.bool)
        positives = int(targets.sum())
        if positives == 0 or positives == targets.numel():
            nan = torch.tensor(torch.nan, dtype=torch.float64, device=scores.device)
            return dict.fromkeys(self.keys, nan)
        values = [
            binary_auc(scores, targets),
            *fpr_at_tpr(scores, targets, self.tpr_levels).unbind(),
            *fpr_at_false_negatives(scores, targets, self.false_negatives).unbind(),
            *partial_auc(scores, targets, self.pauc_max_fpr).unbind(),
            *two_way_partial_auc(scores, targets, self.tpauc).unbind(),
        ]
        return dict(zip(self.keys, values, strict=True))
