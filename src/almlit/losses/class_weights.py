"""Per-class weights computed from the training class counts, for the weighted losses and deferred re-weighting."""

from __future__ import annotations

import torch
from torch import Tensor

from almlit.losses._checks import (
    ClassCounts,
    check_below_one,
    check_binary_class_counts,
    check_class_counts,
    check_positive,
)


def imbalance_weights(class_counts: ClassCounts, cost: float = 1.0) -> Tensor:
    """Class weights of W-BCE (Zadrozny et al. 2003): 1 for negatives and c * n_negative / n_positive for positives.

    Args:
        class_counts: (n_negative, n_positive), training samples per class.
        cost: c > 0, the fraction of the imbalance ratio given to the positives.

    Returns:
        Float tensor [2]: (negative weight, positive weight).

    Raises:
        ValueError: If class_counts are not two positive integers or cost <= 0.
    """
    negatives, positives = check_binary_class_counts(class_counts)
    check_positive("cost", cost)
    return torch.tensor([1.0, cost * negatives / positives])


def class_balanced_weights(class_counts: ClassCounts, beta: float, normalise: bool = False) -> Tensor:
    """Class-balanced weights of Cui et al. (2019): (1 - beta) / (1 - beta^n_c) for a class of n_c samples.

    Args:
        class_counts: Training samples per class, positive integers.
        beta: 0 <= beta < 1; beta = 0 gives weight 1 for every class.
        normalise: Rescale the weights to sum to the number of classes C, as Cui et al. do for CB-CE and
            Cao et al. for deferred re-weighting. False (the binary CB-BCE of Sangalli et al.'s code) keeps them raw.

    Returns:
        Float tensor [C], one weight per class.

    Raises:
        ValueError: If class_counts are not positive integers or beta is outside [0, 1).
    """
    counts = check_class_counts(class_counts)
    check_below_one("beta", beta)
    weights = torch.tensor([(1 - beta) / (1 - beta**count) for count in counts], dtype=torch.float64)
    if normalise:
        weights = weights * len(counts) / weights.sum()
    return weights.float()
