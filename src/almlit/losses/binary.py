"""Binary base losses of Sangalli et al. (2021), Sec. 5, on one logit per sample: pure functions, then the
``nn.Module`` shells that the ``loss=`` config group builds (``bce``, ``w_bce``, ``cb_bce``, ``s_ml``, ``a_ml``,
``s_fl``, ``a_fl``).

x is a logit, s the sigmoid, y in {0, 1} the target (1 = positive, the critical class). Every log-probability is
computed with ``logsigmoid`` (log s(x) = logsigmoid(x), log(1 - s(x)) = logsigmoid(-x)), never as
``log(sigmoid(x))``, so that losses and gradients stay finite for logits of any size. The functions accept logits and
targets of shape [B] or [B, 1] and targets of any integer, bool or floating dtype holding 0/1, and work in the dtype
of the logits.

Each module's ``forward(outputs, targets)`` returns the mean loss over the batch; its class attribute
``num_outputs = 1`` is the network head size it expects. Hyper-parameters are checked when the module is built, and
class weights are non-persistent buffers, so they follow the module's device and stay out of checkpoints (they are
rebuilt from the config).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from almlit.losses._checks import ClassCounts, binary_inputs, check_binary_class_counts, check_non_negative, reduce
from almlit.losses.class_weights import class_balanced_weights, imbalance_weights


def bce(
    logits: Tensor,
    targets: Tensor,
    positive_weight: float | Tensor = 1.0,
    negative_weight: float | Tensor = 1.0,
    reduction: str = "mean",
) -> Tensor:
    """Weighted binary cross-entropy: -(w+ y log s(x) + w- (1 - y) log(1 - s(x))).

    W-BCE (Zadrozny et al. 2003) and CB-BCE (Cui et al. 2019) are this loss with the class weights of
    :func:`~almlit.losses.class_weights.imbalance_weights` and
    :func:`~almlit.losses.class_weights.class_balanced_weights`.

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.
        positive_weight: w+, weight of the positive samples (>= 0).
        negative_weight: w-, weight of the negative samples (>= 0).
        reduction: "none" (per-sample losses [B]), "mean" or "sum".
    """
    check_non_negative("positive_weight", positive_weight)
    check_non_negative("negative_weight", negative_weight)
    return _binary_loss(logits, targets, reduction, weights=(negative_weight, positive_weight))


def symmetric_margin(logits: Tensor, targets: Tensor, margin: float, reduction: str = "mean") -> Tensor:
    """Symmetric margin loss S-ML (Liu et al. 2016): positives -log s(x - m), negatives -log(1 - s(x + m)).

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.
        margin: m >= 0, in logit units.
        reduction: "none" (per-sample losses [B]), "mean" or "sum".
    """
    check_non_negative("margin", margin)
    return _binary_loss(logits, targets, reduction, margins=(margin, margin))


def asymmetric_margin(logits: Tensor, targets: Tensor, margin: float, reduction: str = "mean") -> Tensor:
    """Asymmetric margin loss A-ML (Li et al. 2019): positives -log s(x - m), negatives -log(1 - s(x)).

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.
        margin: m >= 0, in logit units, applied to the positives only.
        reduction: "none" (per-sample losses [B]), "mean" or "sum".
    """
    check_non_negative("margin", margin)
    return _binary_loss(logits, targets, reduction, margins=(0.0, margin))


def symmetric_focal(logits: Tensor, targets: Tensor, gamma: float, reduction: str = "mean") -> Tensor:
    """Symmetric focal loss S-FL (Lin et al. 2017): positives -(1 - s(x))^g log s(x), negatives -s(x)^g log(1 - s(x)).

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.
        gamma: g >= 0; g = 0 gives BCE.
        reduction: "none" (per-sample losses [B]), "mean" or "sum".
    """
    check_non_negative("gamma", gamma)
    return _binary_loss(logits, targets, reduction, gammas=(gamma, gamma))


def asymmetric_focal(logits: Tensor, targets: Tensor, gamma: float, reduction: str = "mean") -> Tensor:
    """Asymmetric focal loss A-FL (Li et al. 2019): positives -log s(x), negatives -s(x)^g log(1 - s(x)).

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.
        gamma: g >= 0, applied to the negatives only.
        reduction: "none" (per-sample losses [B]), "mean" or "sum".
    """
    check_non_negative("gamma", gamma)
    return _binary_loss(logits, targets, reduction, gammas=(gamma, 0.0))


def _binary_loss(
    logits: Tensor,
    targets: Tensor,
    reduction: str,
    margins: tuple[float, float] = (0.0, 0.0),
    gammas: tuple[float, float] = (0.0, 0.0),
    weights: tuple[float | Tensor, float | Tensor] = (1.0, 1.0),
) -> Tensor:
    """The one binary loss every binary base loss specialises; each tuple is indexed by class (0 negative, 1 positive).

    Positives: -w1 (1 - s(x - m1))^g1 log s(x - m1). Negatives: -w0 s(x + m0)^g0 log(1 - s(x + m0)),
    i.e. the positive form applied to z = -(x + m0), since 1 - s(x) = s(-x).
    """
    logits, targets = binary_inputs(logits, targets)
    positive_losses = weights[1] * _focal_log_loss(logits - margins[1], gammas[1])
    negative_losses = weights[0] * _focal_log_loss(-(logits + margins[0]), gammas[0])
    return reduce(targets * positive_losses + (1 - targets) * negative_losses, reduction)


def _focal_log_loss(scores: Tensor, gamma: float) -> Tensor:
    """-(1 - s(z))^gamma log s(z), with (1 - s(z))^gamma = exp(gamma logsigmoid(-z)) so the gradient stays finite
    where 1 - s(z) underflows to 0 (a power with gamma < 1 has an infinite derivative at 0)."""
    return -torch.exp(gamma * F.logsigmoid(-scores)) * F.logsigmoid(scores)


class BCELoss(nn.Module):
    """Binary cross-entropy on one logit per sample, see :func:`bce`."""

    num_outputs = 1

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return bce(outputs, targets)


class _MarginLoss(nn.Module):
    num_outputs = 1

    def __init__(self, margin: float = 0.5) -> None:
        super().__init__()
        check_non_negative("margin", margin)
        self.margin = margin

    def extra_repr(self) -> str:
        return f"margin={self.margin}"


class SymmetricMarginLoss(_MarginLoss):
    """S-ML: margin m on both classes, see :func:`symmetric_margin`."""

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return symmetric_margin(outputs, targets, self.margin)


class AsymmetricMarginLoss(_MarginLoss):
    """A-ML: margin m on the positives only, see :func:`asymmetric_margin`."""

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return asymmetric_margin(outputs, targets, self.margin)


class _FocalLoss(nn.Module):
    num_outputs = 1

    def __init__(self, gamma: float = 2.0) -> None:
        super().__init__()
        check_non_negative("gamma", gamma)
        self.gamma = gamma

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}"


class SymmetricFocalLoss(_FocalLoss):
    """S-FL: focal modulation on both classes, see :func:`symmetric_focal`."""

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return symmetric_focal(outputs, targets, self.gamma)


class AsymmetricFocalLoss(_FocalLoss):
    """A-FL: focal modulation on the negatives only, see :func:`asymmetric_focal`."""

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return asymmetric_focal(outputs, targets, self.gamma)


class _ClassWeightedBCELoss(nn.Module):
    """BCE whose negatives are weighted by class_weights[0] and positives by class_weights[1]."""

    num_outputs = 1
    class_weights: Tensor

    def __init__(self, class_weights: Tensor) -> None:
        super().__init__()
        self.register_buffer("class_weights", class_weights, persistent=False)

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return bce(outputs, targets, positive_weight=self.class_weights[1], negative_weight=self.class_weights[0])

    def extra_repr(self) -> str:
        return f"class_weights={self.class_weights.tolist()}"


class WeightedBCELoss(_ClassWeightedBCELoss):
    """W-BCE (Zadrozny et al. 2003): positives weighted by c * n_negative / n_positive, negatives by 1.

    Args:
        class_counts: (n_negative, n_positive) of the training set.
        cost: c > 0.
    """

    def __init__(self, class_counts: ClassCounts, cost: float = 1.0) -> None:
        super().__init__(imbalance_weights(class_counts, cost))


class ClassBalancedBCELoss(_ClassWeightedBCELoss):
    """CB-BCE: each class weighted by (1 - beta) / (1 - beta^n_c) (Cui et al. 2019), not renormalised.

    Args:
        class_counts: (n_negative, n_positive) of the training set.
        beta: 0 <= beta < 1.
    """

    def __init__(self, class_counts: ClassCounts, beta: float = 0.99) -> None:
        super().__init__(class_balanced_weights(check_binary_class_counts(class_counts), beta))
