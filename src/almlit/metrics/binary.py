"""torchmetrics shell around the functional ranking metrics: accumulate scores per stage, rank once per epoch."""

from collections.abc import Sequence

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities.data import dim_zero_cat

from almlit.metrics.functional import (
    binary_auc,
    check_false_negatives,
    check_scores_and_targets,
    check_tpr_levels,
    fpr_at_false_negatives,
    fpr_at_tpr,
)
from almlit.metrics.partial_auc import (
    check_max_fprs,
    check_tpauc_bounds,
    partial_auc,
    pauc_key,
    tpauc_key,
    two_way_partial_auc,
)


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
            ``pauc@{round(100 * beta)}fpr`` (see :mod:`almlit.metrics.partial_auc`).
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
            *(pauc_key(bound) for bound in self.pauc_max_fpr),
            *(tpauc_key(min_tpr, max_fpr) for min_tpr, max_fpr in self.tpauc),
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
