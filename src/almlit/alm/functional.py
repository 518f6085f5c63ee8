"""Pure tensor maths of the Augmented Lagrangian (Sangalli et al., NeurIPS 2021, Eq. 4-7).

Everything here is stateless and vectorised over the batch: no Python loop over samples and no
host-device synchronisation, so it can sit on the training hot path.
"""

from __future__ import annotations

import torch
from torch import Tensor


def pairwise_hinge(positive_scores: Tensor, negative_scores: Tensor, margin: float) -> Tensor:
    """Hinge of every (row, column) pair: ``max(0, delta - (f(x_row) - f(x_col)))``.

    Args:
        positive_scores: scores ``f(x_j)`` of shape ``[B]`` (rows).
        negative_scores: scores ``f(x_k)`` of shape ``[B]`` (columns).
        margin: delta, in score units (raw logits by default).

    Returns:
        Tensor ``[B, B]`` of hinge values; masking to the pairs that matter is the caller's job.
    """
    return torch.relu(margin - (positive_scores[:, None] - negative_scores[None, :]))


def binary_pair_hinges(scores: Tensor, positive_mask: Tensor, margin: float) -> Tensor:
    """The terms of Eq. 4 pair by pair: ``max(0, -(f(x_j^p) - f(x_k^n)) + delta)`` for positive ``j``, negative ``k``.

    A pair violates the constraint where its entry is > 0; entries of other pairs are 0.

    Args:
        scores: scores ``f(x)`` of shape ``[B]``.
        positive_mask: boolean ``[B]``, true for the critical (positive) class.
        margin: delta of Eq. 4.

    Returns:
        Tensor ``[B, B]`` (row ``j``, column ``k``).
    """
    return _on_pairs(pairwise_hinge(scores, scores, margin), positive_mask)


def binary_violations(scores: Tensor, positive_mask: Tensor, margin: float) -> Tensor:
    """Per-positive violation ``q_j`` of the constraint of Eq. 4.

    ``q_j = sum_k max(0, -(f(x_j^p) - f(x_k^n)) + delta)`` over the negatives ``k`` of the batch
    (the row sums of :func:`binary_pair_hinges`). Rows that are not positive are zero, so the result can be
    scattered into the multiplier bank for the whole batch at once.

    Args:
        scores: scores ``f(x)`` of shape ``[B]``.
        positive_mask: boolean ``[B]``, true for the critical (positive) class.
        margin: delta of Eq. 4.

    Returns:
        Tensor ``[B]`` with ``q_j`` for positives and 0 for negatives.
    """
    return binary_pair_hinges(scores, positive_mask, margin).sum(dim=1)


def multiclass_pair_hinges(
    scores: Tensor, targets: Tensor, critical_mask: Tensor, margin: float, non_critical_term: bool = False
) -> Tensor:
    """The terms of Eq. 6 (ALM_m1) or Eq. 7 (ALM_m2) pair by pair, for critical ``j`` and non-critical ``k``.

    Entry ``[j, k]`` is ``max(0, -(f_c(x_j) - f_c(x_k)) + delta)`` (Eq. 6, ``c = y_j``), plus
    ``max(0, (f_i(x_j) - f_i(x_k)) + delta)`` (Eq. 7, ``i = y_k``); a pair violates the constraint where its entry
    is > 0. Entries of other pairs are 0. Both terms come from one ``[B, B]`` gather of the scores, so the cost
    does not depend on ``C``.

    Args:
        scores: per-class scores ``f(x)`` of shape ``[B, C]`` (probabilities or logits).
        targets: class indices ``[B]``, ``torch.long``.
        critical_mask: boolean ``[B]``, true for samples of a critical class.
        margin: delta of Eq. 6-7.
        non_critical_term: add the second term of Eq. 7 (ALM_m2); false gives Eq. 6 (ALM_m1).

    Returns:
        Tensor ``[B, B]`` (row ``j``, column ``k``).
    """
    own_class = scores.gather(1, targets[:, None]).squeeze(1)  # own_class[j] = f_{y_j}(x_j)
    cross = scores.index_select(1, targets)  # cross[j, k] = f_{y_k}(x_j)
    hinge = torch.relu(margin - (own_class[:, None] - cross.T))  # Eq. 6: f_c(x_j) - f_c(x_k), c = y_j
    if non_critical_term:
        hinge = hinge + torch.relu(margin + (cross - own_class[None, :]))  # Eq. 7: f_i(x_j) - f_i(x_k), i = y_k
    return _on_pairs(hinge, critical_mask)


def multiclass_violations(
    scores: Tensor, targets: Tensor, critical_mask: Tensor, margin: float, non_critical_term: bool = False
) -> Tensor:
    """Per-critical-sample violation ``q_cj`` of the multi-class constraints, Eq. 6 (ALM_m1) or Eq. 7 (ALM_m2).

    For a critical sample ``j`` of class ``c`` and every non-critical sample ``k`` of class ``i`` in the batch:

    - Eq. 6: ``q_cj = sum_k max(0, -(f_c(x_j) - f_c(x_k)) + delta)``: the critical sample scores higher
      than every non-critical sample on its own class ``c``;
    - Eq. 7 adds ``sum_k max(0, (f_i(x_j) - f_i(x_k)) + delta)``: on the class ``i`` of each non-critical
      sample, that sample scores higher than the critical sample.

    The row sums of :func:`multiclass_pair_hinges`, which takes the same arguments.

    Returns:
        Tensor ``[B]`` with ``q_cj`` for critical samples and 0 for the others.
    """
    return multiclass_pair_hinges(scores, targets, critical_mask, margin, non_critical_term).sum(dim=1)


def positive_negative_pairs(row_mask: Tensor) -> Tensor:
    """``|p| * |n|``: the rows in ``row_mask`` (positives) times the others (negatives), 0-dim (no host sync)."""
    num_rows = row_mask.sum()
    return num_rows * (row_mask.numel() - num_rows)


def _on_pairs(hinge: Tensor, row_mask: Tensor) -> Tensor:
    """``hinge`` on the (row in mask, column not in mask) pairs, 0 elsewhere.

    ``torch.where`` (not a product) keeps masked-out entries from passing a gradient, or a NaN.
    """
    pair_mask = row_mask[:, None] & ~row_mask[None, :]
    return torch.where(pair_mask, hinge, torch.zeros_like(hinge))


def augmented_terms(
    violations: Tensor, multipliers: Tensor, penalty: Tensor, num_pairs: Tensor
) -> tuple[Tensor, Tensor]:
    """The two terms Eq. 5 adds to the base loss ``F(theta)``.

    ``penalty_term = mu * sum_j q_j^2 / (2 |p| |n|)`` and
    ``multiplier_term = sum_j lambda_j q_j / (|p| |n|)``.

    Args:
        violations: ``q_j`` per sample ``[B]`` (zero where there is no constraint).
        multipliers: ``lambda_j`` per sample ``[B]``, constants (no gradient).
        penalty: mu, a 0-dim tensor.
        num_pairs: ``|p| * |n|`` of the batch, a 0-dim tensor; a batch without pairs has all
            violations zero, so it is clamped to 1 and both terms are exactly zero.

    Returns:
        ``(penalty_term, multiplier_term)``, both 0-dim tensors.
    """
    normaliser = num_pairs.clamp(min=1).to(violations.dtype)
    penalty_term = penalty * violations.square().sum() / (2 * normaliser)
    multiplier_term = (multipliers.to(violations.dtype) * violations).sum() / normaliser
    return penalty_term, multiplier_term
