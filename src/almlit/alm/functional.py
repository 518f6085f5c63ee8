"""Pure tensor maths of the binary Augmented Lagrangian (Sangalli et al., NeurIPS 2021, Eq. 4-5).

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


def binary_violations(scores: Tensor, positive_mask: Tensor, margin: float) -> Tensor:
    """Per-positive violation ``q_j`` of the constraint of Eq. 4.

    ``q_j = sum_k max(0, -(f(x_j^p) - f(x_k^n)) + delta)`` over the negatives ``k`` of the batch.
    Rows that are not positive are zero, so the result can be scattered into the multiplier bank
    for the whole batch at once.

    Args:
        scores: scores ``f(x)`` of shape ``[B]``.
        positive_mask: boolean ``[B]``, true for the critical (positive) class.
        margin: delta of Eq. 4.

    Returns:
        Tensor ``[B]`` with ``q_j`` for positives and 0 for negatives.
    """
    pair_mask = positive_mask[:, None] & ~positive_mask[None, :]
    hinge = pairwise_hinge(scores, scores, margin)
    return torch.where(pair_mask, hinge, torch.zeros_like(hinge)).sum(dim=1)


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
