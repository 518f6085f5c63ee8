"""``nn.Module`` wrappers of the AUC surrogates in :mod:`almlit.losses.auc_surrogates` (``loss=aucm``,
``loss=pauc_oneway``, ``loss=pauc_twoway``); one logit per sample, binary data only.

A loss with variables of its own keeps them as ``nn.Parameter`` s, so they are trained with the network and saved in
every checkpoint; the ones to be maximised (gradient ascent) are listed by ``dual_parameters()``, and
:func:`almlit.optim.build_optimizer` puts them in a parameter group of their own.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from almlit.losses import auc_surrogates
from almlit.losses.functional import ClassCounts, _check_binary_class_counts, _check_non_negative


class AUCMLoss(nn.Module):
    """AUC-margin loss (Yuan et al., ICCV 2021), see :func:`almlit.losses.auc_surrogates.aucm`; train with
    ``optim=pesg``, which ascends on ``alpha`` and keeps it >= 0.

    Args:
        class_counts: (n_negative, n_positive) of the training set; p = n_positive / (n_negative + n_positive).
        margin: m >= 0 on sigmoid scores; 1.0 in the paper.
    """

    num_outputs = 1

    def __init__(self, class_counts: ClassCounts, margin: float = 1.0) -> None:
        super().__init__()
        negatives, positives = _check_binary_class_counts(class_counts)
        _check_non_negative("margin", margin)
        self.positive_prior = positives / (negatives + positives)
        self.margin = margin
        self.a = nn.Parameter(torch.zeros(()))
        self.b = nn.Parameter(torch.zeros(()))
        self.alpha = nn.Parameter(torch.zeros(()))

    def dual_parameters(self) -> list[nn.Parameter]:
        """The variables maximised over (alpha), to be updated by projected gradient ascent."""
        return [self.alpha]

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return auc_surrogates.aucm(outputs, targets, self.positive_prior, self.a, self.b, self.alpha, self.margin)

    def extra_repr(self) -> str:
        return f"positive_prior={self.positive_prior:.6g}, margin={self.margin}"


class OneWayPartialAUCLoss(nn.Module):
    """One-way partial AUC surrogate (FPR <= max_fpr), see :func:`almlit.losses.auc_surrogates.one_way_partial_auc`.

    Args:
        max_fpr: beta, 0 < beta <= 1.
        margin: m >= 0 on sigmoid scores.
    """

    num_outputs = 1
    needs_pairs = True  # 0 on a batch without a positive-negative pair, as the two-way loss (almlit.alm.coverage)

    def __init__(self, max_fpr: float = 0.3, margin: float = 1.0) -> None:
        super().__init__()
        auc_surrogates._check_fraction("max_fpr", max_fpr)
        _check_non_negative("margin", margin)
        self.max_fpr = max_fpr
        self.margin = margin

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return auc_surrogates.one_way_partial_auc(outputs, targets, self.max_fpr, self.margin)

    def extra_repr(self) -> str:
        return f"max_fpr={self.max_fpr}, margin={self.margin}"


class TwoWayPartialAUCLoss(OneWayPartialAUCLoss):
    """Two-way partial AUC surrogate (FPR <= max_fpr, TPR >= min_tpr), see
    :func:`almlit.losses.auc_surrogates.two_way_partial_auc`.

    Args:
        max_fpr: beta, 0 < beta <= 1.
        min_tpr: alpha, 0 <= alpha < 1.
        margin: m >= 0 on sigmoid scores.
    """

    def __init__(self, max_fpr: float = 0.3, min_tpr: float = 0.7, margin: float = 1.0) -> None:
        super().__init__(max_fpr, margin)
        if not 0 <= min_tpr < 1:
            raise ValueError(f"min_tpr must satisfy 0 <= min_tpr < 1, got {min_tpr}")
        self.min_tpr = min_tpr

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return auc_surrogates.two_way_partial_auc(outputs, targets, self.max_fpr, self.min_tpr, self.margin)

    def extra_repr(self) -> str:
        return f"max_fpr={self.max_fpr}, min_tpr={self.min_tpr}, margin={self.margin}"
