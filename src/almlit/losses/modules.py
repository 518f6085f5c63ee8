"""Base losses as thin ``nn.Module`` wrappers of :mod:`almlit.losses.functional`, chosen by the ``loss=`` config group.

Each ``forward(outputs, targets)`` returns the mean loss over the batch. The class attribute ``num_outputs`` is the
network head size the loss expects for a binary problem (multi-class losses take C outputs for C classes).
Hyper-parameters are checked when the module is built, and per-class weights and margins are non-persistent buffers,
so they follow the module's device and stay out of checkpoints (they are rebuilt from the config).

The multi-class losses CE, FL and LDAM have a ``weight`` buffer (per-class weights [C]; None weighs every class 1)
that :class:`almlit.callbacks.DeferredReweighting` switches during training; CB-CE's weights are fixed.
"""

from __future__ import annotations

from torch import Tensor, nn

from almlit.losses import functional
from almlit.losses.functional import (
    ClassCounts,
    _check_binary_class_counts,
    _check_non_negative,
    _check_positive,
)


class BCELoss(nn.Module):
    """Binary cross-entropy on one logit per sample."""

    num_outputs = 1

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return functional.bce(outputs, targets)


class _MarginLoss(nn.Module):
    num_outputs = 1

    def __init__(self, margin: float = 0.5) -> None:
        super().__init__()
        _check_non_negative("margin", margin)
        self.margin = margin

    def extra_repr(self) -> str:
        return f"margin={self.margin}"


class SymmetricMarginLoss(_MarginLoss):
    """S-ML: margin m on both classes, see :func:`almlit.losses.functional.symmetric_margin`."""

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return functional.symmetric_margin(outputs, targets, self.margin)


class AsymmetricMarginLoss(_MarginLoss):
    """A-ML: margin m on the positives only, see :func:`almlit.losses.functional.asymmetric_margin`."""

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return functional.asymmetric_margin(outputs, targets, self.margin)


class _FocalLoss(nn.Module):
    num_outputs = 1

    def __init__(self, gamma: float = 2.0) -> None:
        super().__init__()
        _check_non_negative("gamma", gamma)
        self.gamma = gamma

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}"


class SymmetricFocalLoss(_FocalLoss):
    """S-FL: focal modulation on both classes, see :func:`almlit.losses.functional.symmetric_focal`."""

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return functional.symmetric_focal(outputs, targets, self.gamma)


class AsymmetricFocalLoss(_FocalLoss):
    """A-FL: focal modulation on the negatives only, see :func:`almlit.losses.functional.asymmetric_focal`."""

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return functional.asymmetric_focal(outputs, targets, self.gamma)


class _ClassWeightedBCELoss(nn.Module):
    """BCE whose negatives are weighted by class_weights[0] and positives by class_weights[1]."""

    num_outputs = 1
    class_weights: Tensor

    def __init__(self, class_weights: Tensor) -> None:
        super().__init__()
        self.register_buffer("class_weights", class_weights, persistent=False)

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return functional.bce(
            outputs, targets, positive_weight=self.class_weights[1], negative_weight=self.class_weights[0]
        )

    def extra_repr(self) -> str:
        return f"class_weights={self.class_weights.tolist()}"


class WeightedBCELoss(_ClassWeightedBCELoss):
    """W-BCE (Zadrozny et al. 2003): positives weighted by c * n_negative / n_positive, negatives by 1.

    Args:
        class_counts: (n_negative, n_positive) of the training set.
        cost: c > 0.
    """

    def __init__(self, class_counts: ClassCounts, cost: float = 1.0) -> None:
        super().__init__(functional.imbalance_weights(class_counts, cost))


class ClassBalancedBCELoss(_ClassWeightedBCELoss):
    """CB-BCE: each class weighted by (1 - beta) / (1 - beta^n_c) (Cui et al. 2019), not renormalised.

    Args:
        class_counts: (n_negative, n_positive) of the training set.
        beta: 0 <= beta < 1.
    """

    def __init__(self, class_counts: ClassCounts, beta: float = 0.99) -> None:
        super().__init__(functional.class_balanced_weights(_check_binary_class_counts(class_counts), beta))


class _ReweightableLoss(nn.Module):
    """A multi-class loss with a per-class ``weight`` buffer [C], None (every class weighs 1) until it is set."""

    num_outputs = 2
    weight: Tensor | None

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("weight", None, persistent=False)

    def extra_repr(self) -> str:
        return f"weight={None if self.weight is None else self.weight.tolist()}"


class CrossEntropyLoss(_ReweightableLoss):
    """CE: softmax cross-entropy on outputs [B, C], see :func:`almlit.losses.functional.cross_entropy`."""

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return functional.cross_entropy(outputs, targets, self.weight)


class FocalLoss(_ReweightableLoss):
    """FL (Lin et al. 2017) on outputs [B, C], see :func:`almlit.losses.functional.focal`.

    Args:
        gamma: gamma >= 0; the paper's grid is {0.5, 1, 2}.
    """

    def __init__(self, gamma: float = 1.0) -> None:
        super().__init__()
        _check_non_negative("gamma", gamma)
        self.gamma = gamma

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return functional.focal(outputs, targets, self.gamma, self.weight)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, {super().extra_repr()}"


class LDAMLoss(_ReweightableLoss):
    """LDAM (Cao et al. 2019) on outputs [B, C]; for a binary problem C = 2 and outputs[:, 1] scores the positives.

    Args:
        class_counts: Training samples per class, length C.
        max_margin: Margin of the rarest class (>= 0).
        scale: s > 0, multiplies the outputs before the softmax.
    """

    margins: Tensor

    def __init__(self, class_counts: ClassCounts, max_margin: float = 0.5, scale: float = 30.0) -> None:
        super().__init__()
        _check_positive("scale", scale)
        self.scale = scale
        self.register_buffer("margins", functional.ldam_margins(class_counts, max_margin), persistent=False)

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return functional.margin_cross_entropy(outputs, targets, self.margins, self.scale, self.weight)

    def extra_repr(self) -> str:
        return f"margins={self.margins.tolist()}, scale={self.scale}, {super().extra_repr()}"


class ClassBalancedCELoss(nn.Module):
    """CB-CE (Cui et al. 2019): CE with fixed class weights (1 - beta) / (1 - beta^n_c), rescaled to sum to C.

    Args:
        class_counts: Training samples per class, length C.
        beta: 0 <= beta < 1; Cui et al.'s grid is {0.9, 0.99, 0.999, 0.9999}.
    """

    num_outputs = 2
    class_weights: Tensor

    def __init__(self, class_counts: ClassCounts, beta: float = 0.9999) -> None:
        super().__init__()
        weights = functional.class_balanced_weights(class_counts, beta, normalise=True)
        self.register_buffer("class_weights", weights, persistent=False)

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return functional.cross_entropy(outputs, targets, self.class_weights)

    def extra_repr(self) -> str:
        return f"class_weights={self.class_weights.tolist()}"


class MiniBatchAUCLoss(nn.Module):
    """MBAUC (Gultekin et al. 2020), see :func:`almlit.losses.functional.mini_batch_auc`."""

    num_outputs = 1
    needs_pairs = True  # 0 on a batch without a positive-negative pair (almlit.alm.coverage)

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return functional.mini_batch_auc(outputs, targets)
