"""AUC surrogates for one-logit binary classifiers: pure functions, then the ``nn.Module`` shells that the ``loss=``
config group builds (``mbauc``, ``aucm``, ``pauc_oneway``, ``pauc_twoway``); binary data only.

All of them score a sample by s = sigmoid(x) of its logit x (as LibAUC does), so every pairwise difference lies in
[-1, 1] and a margin of 1 asks every positive to score 1 and every negative 0. Inputs are logits and 0/1 targets of
shape [B] or [B, 1] (see :mod:`almlit.losses.binary`). A batch without positives or without negatives has no
pair: the pairwise losses are then 0, still attached to the graph. No value is read back to the host, so a step
never waits for an accelerator.

A loss with variables of its own keeps them as ``nn.Parameter`` s, so they are trained with the network and saved in
every checkpoint; the ones to be maximised (gradient ascent) are listed by ``dual_parameters()``, and
:func:`almlit.optim.build_optimizer` puts them in a parameter group of their own.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from almlit.losses._checks import (
    ClassCounts,
    binary_inputs,
    check_below_one,
    check_binary_class_counts,
    check_fraction,
    check_non_negative,
)


def mini_batch_auc(logits: Tensor, targets: Tensor) -> Tensor:
    """Mini-batch AUC loss MBAUC (Gultekin et al. 2020): mean over positive-negative pairs of (1 - (s(x_p) - s(x_n)))^2.

    A batch without positives or without negatives has no pair and gives 0, still attached to the graph.

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.

    Returns:
        Scalar loss.
    """
    logits, targets = binary_inputs(logits, targets)
    probabilities = torch.sigmoid(logits)
    pair_mask = targets[:, None] * (1 - targets)[None, :]  # rows: positives, columns: negatives
    pair_losses = (1 - (probabilities[:, None] - probabilities[None, :])) ** 2
    return (pair_mask * pair_losses).sum() / pair_mask.sum().clamp(min=1)


def aucm(
    logits: Tensor,
    targets: Tensor,
    positive_prior: float,
    a: Tensor,
    b: Tensor,
    alpha: Tensor,
    margin: float = 1.0,
) -> Tensor:
    """AUC-margin min-max objective of Yuan, Yan, Sonka and Yang (ICCV 2021, "Large-scale Robust Deep AUC
    Maximization"; LibAUC's ``AUCMLoss``, version v1), averaged over the batch.

    With s = sigmoid(x), p the positive prior and m the margin, each sample contributes

        (1 - p) (s - a)^2 [y = 1] + p (s - b)^2 [y = 0]
        + 2 alpha (p (1 - p) m + p s [y = 0] - (1 - p) s [y = 1]) - p (1 - p) alpha^2,

    which is minimised over the network, a and b and maximised over alpha >= 0 (:class:`almlit.optim.PESG`). At the
    optimum a and b are the mean positive and negative scores and alpha = max(0, m - (a - b)), so the objective is
    the class variances plus the squared hinge (m - (E[s | y=1] - E[s | y=0]))_+^2, scaled by p (1 - p).

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.
        positive_prior: p, the fraction of positives in the training set, 0 < p < 1.
        a: Scalar tensor, the running estimate of the positive scores' mean.
        b: Scalar tensor, the running estimate of the negative scores' mean.
        alpha: Scalar tensor, the dual variable (>= 0).
        margin: m >= 0; 1.0 in the paper.

    Returns:
        Scalar objective.
    """
    if not 0 < positive_prior < 1:
        raise ValueError(f"positive_prior must satisfy 0 < p < 1, got {positive_prior}")
    check_non_negative("margin", margin)
    logits, targets = binary_inputs(logits, targets)
    scores = torch.sigmoid(logits)
    p = positive_prior
    per_sample = (
        (1 - p) * (scores - a) ** 2 * targets
        + p * (scores - b) ** 2 * (1 - targets)
        + 2 * alpha * (p * (1 - p) * margin + p * scores * (1 - targets) - (1 - p) * scores * targets)
    )
    return per_sample.mean() - p * (1 - p) * alpha**2


def pairwise_squared_hinge(logits: Tensor, targets: Tensor, margin: float = 1.0) -> tuple[Tensor, Tensor]:
    """Squared hinge (m - (s_i - s_j))_+^2 for every pair (i, j) of the batch, s = sigmoid(x).

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.
        margin: m >= 0.

    Returns:
        The pair losses [B, B] (row i: the first sample, column j: the second) and the 0/1 mask [B, B] of the
        positive-negative pairs (i positive, j negative), both in the logits' dtype.
    """
    check_non_negative("margin", margin)
    logits, targets = binary_inputs(logits, targets)
    scores = torch.sigmoid(logits)
    pair_losses = (margin - (scores[:, None] - scores[None, :])).clamp(min=0) ** 2
    return pair_losses, targets[:, None] * (1 - targets)[None, :]


def top_fraction_mean(values: Tensor, mask: Tensor, fraction: float, dim: int) -> Tensor:
    """CVaR at level ``fraction`` of the masked ``values`` along ``dim``: the mean of the largest fraction k = f n of
    the n masked values, the value at rank floor(k) counted with weight k - floor(k).

    This is the exact CVaR of the empirical distribution, min_t t + sum_i (v_i - t)_+ / k (Rockafellar and
    Uryasev 2000), so it is continuous in ``fraction``; a slice with no masked value gives 0.

    Args:
        values: Float tensor; the masked entries must be >= 0 (the unmasked ones are ignored).
        mask: 0/1 tensor of the same shape.
        fraction: 0 < f <= 1.
        dim: The dimension to reduce.
    """
    count = mask.sum(dim=dim, keepdim=True)
    kept = fraction * count
    ordered = values.masked_fill(mask == 0, -1.0).sort(dim=dim, descending=True).values
    ranks = torch.arange(values.shape[dim], device=values.device, dtype=values.dtype)
    ranks = ranks.reshape([-1 if axis == dim % values.ndim else 1 for axis in range(values.ndim)])
    weights = (kept - ranks).clamp(0, 1)  # 0 beyond the masked entries, which sort last
    return ((weights * ordered).sum(dim=dim, keepdim=True) / kept.clamp(min=1e-12)).squeeze(dim)


def one_way_partial_auc(logits: Tensor, targets: Tensor, max_fpr: float = 0.3, margin: float = 1.0) -> Tensor:
    """One-way partial AUC surrogate for FPR in [0, beta]: the batch form of Zhu et al.'s CVaR objective
    (ICML 2022, "When AUC meets DRO"; LibAUC's ``pAUC_CVaR_Loss``).

    For each positive i, the squared-hinge pair losses L_ij = (m - (s_i - s_j))_+^2 against the batch's negatives j
    are averaged over the beta-fraction of negatives with the largest loss, which are the highest-scored ones
    (:func:`top_fraction_mean`, the CVaR at level beta, with its dual variable solved exactly in the batch instead
    of tracked per positive); the loss is the mean of these over the positives.

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.
        max_fpr: beta, 0 < beta <= 1; beta = 1 gives the full-AUC squared-hinge loss.
        margin: m >= 0 on sigmoid scores; 1.0 in LibAUC.

    Returns:
        Scalar loss.
    """
    check_fraction("max_fpr", max_fpr)
    pair_losses, pairs = pairwise_squared_hinge(logits, targets, margin)
    per_positive = top_fraction_mean(pair_losses, pairs, max_fpr, dim=1)
    positives = pairs.amax(dim=1)  # positives with at least one negative in the batch
    return (per_positive * positives).sum() / positives.sum().clamp(min=1)


def two_way_partial_auc(
    logits: Tensor, targets: Tensor, max_fpr: float = 0.3, min_tpr: float = 0.7, margin: float = 1.0
) -> Tensor:
    """Two-way partial AUC surrogate for FPR <= beta and TPR >= alpha (Yang et al., ICML 2021, "When All We Need is
    a Piece of the Pie"; the CVaR form of Zhu et al., ICML 2022).

    Computes, for each positive i, its one-way loss l_i = CVaR_beta over the negatives of the squared-hinge pair
    losses (as :func:`one_way_partial_auc`), then the CVaR at level 1 - alpha of the l_i over the positives: the
    mean over the (1 - alpha)-fraction of positives with the largest l_i, which are the lowest-scored ones. The
    result is the mean pair loss over the lowest-scored (1 - alpha) n+ positives x the highest-scored beta n-
    negatives, with fractional weight on the two boundary samples.

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.
        max_fpr: beta, 0 < beta <= 1.
        min_tpr: alpha, 0 <= alpha < 1; alpha = 0 gives :func:`one_way_partial_auc`.
        margin: m >= 0 on sigmoid scores.

    Returns:
        Scalar loss.
    """
    check_fraction("max_fpr", max_fpr)
    check_below_one("min_tpr", min_tpr)
    pair_losses, pairs = pairwise_squared_hinge(logits, targets, margin)
    per_positive = top_fraction_mean(pair_losses, pairs, max_fpr, dim=1)
    positives = pairs.amax(dim=1)
    return top_fraction_mean(per_positive, positives, 1 - min_tpr, dim=0)


class MiniBatchAUCLoss(nn.Module):
    """MBAUC (Gultekin et al. 2020), see :func:`mini_batch_auc`."""

    num_outputs = 1
    needs_pairs = True  # 0 on a batch without a positive-negative pair (almlit.alm.coverage)

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return mini_batch_auc(outputs, targets)


class AUCMLoss(nn.Module):
    """AUC-margin loss (Yuan et al., ICCV 2021), see :func:`aucm`; train with ``optim=pesg``, which ascends on
    ``alpha`` and keeps it >= 0.

    Args:
        class_counts: (n_negative, n_positive) of the training set; p = n_positive / (n_negative + n_positive).
        margin: m >= 0 on sigmoid scores; 1.0 in the paper.
    """

    num_outputs = 1

    def __init__(self, class_counts: ClassCounts, margin: float = 1.0) -> None:
        super().__init__()
        negatives, positives = check_binary_class_counts(class_counts)
        check_non_negative("margin", margin)
        self.positive_prior = positives / (negatives + positives)
        self.margin = margin
        self.a = nn.Parameter(torch.zeros(()))
        self.b = nn.Parameter(torch.zeros(()))
        self.alpha = nn.Parameter(torch.zeros(()))

    def dual_parameters(self) -> list[nn.Parameter]:
        """The variables maximised over (alpha), to be updated by projected gradient ascent."""
        return [self.alpha]

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return aucm(outputs, targets, self.positive_prior, self.a, self.b, self.alpha, self.margin)

    def extra_repr(self) -> str:
        return f"positive_prior={self.positive_prior:.6g}, margin={self.margin}"


class OneWayPartialAUCLoss(nn.Module):
    """One-way partial AUC surrogate (FPR <= max_fpr), see :func:`one_way_partial_auc`.

    Args:
        max_fpr: beta, 0 < beta <= 1.
        margin: m >= 0 on sigmoid scores.
    """

    num_outputs = 1
    needs_pairs = True  # 0 on a batch without a positive-negative pair, as the two-way loss (almlit.alm.coverage)

    def __init__(self, max_fpr: float = 0.3, margin: float = 1.0) -> None:
        super().__init__()
        check_fraction("max_fpr", max_fpr)
        check_non_negative("margin", margin)
        self.max_fpr = max_fpr
        self.margin = margin

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return one_way_partial_auc(outputs, targets, self.max_fpr, self.margin)

    def extra_repr(self) -> str:
        return f"max_fpr={self.max_fpr}, margin={self.margin}"


class TwoWayPartialAUCLoss(OneWayPartialAUCLoss):
    """Two-way partial AUC surrogate (FPR <= max_fpr, TPR >= min_tpr), see :func:`two_way_partial_auc`.

    Args:
        max_fpr: beta, 0 < beta <= 1.
        min_tpr: alpha, 0 <= alpha < 1.
        margin: m >= 0 on sigmoid scores.
    """

    def __init__(self, max_fpr: float = 0.3, min_tpr: float = 0.7, margin: float = 1.0) -> None:
        super().__init__(max_fpr, margin)
        check_below_one("min_tpr", min_tpr)
        self.min_tpr = min_tpr

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return two_way_partial_auc(outputs, targets, self.max_fpr, self.min_tpr, self.margin)

    def extra_repr(self) -> str:
        return f"max_fpr={self.max_fpr}, min_tpr={self.min_tpr}, margin={self.margin}"
