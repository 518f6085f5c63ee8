"""Multi-class base losses on outputs [B, C]: pure functions, then the ``nn.Module`` shells that the ``loss=`` config
group builds (``ce``, ``cb_ce``, ``focal``, ``ldam``; LDAM-DRW: ``ldam`` and ``callbacks=deferred_reweighting``).

z are the outputs [B, C], p = softmax(z), y in [0, C) the class index; log-probabilities come from ``logsumexp``.
Targets have shape [B] or [B, 1] and any integer, bool or integral float dtype. An optional per-class ``weight`` [C]
scales each sample's loss by w_y, and the "mean" reduction then divides by the sum of the w_y, as
``F.cross_entropy`` does. All losses work in the dtype of their inputs.

Each module's ``forward(outputs, targets)`` returns the mean loss over the batch; its class attribute
``num_outputs = 2`` is the head size for a binary problem (C outputs for C classes). CE, FL and LDAM have a
``weight`` buffer (per-class weights [C]; None weighs every class 1) that :class:`almlit.callbacks.DeferredReweighting`
switches during training; CB-CE's weights are fixed. Buffers are non-persistent: they follow the module's device and
stay out of checkpoints (they are rebuilt from the config).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from almlit.losses._checks import (
    ClassCounts,
    check_class_counts,
    check_non_negative,
    check_positive,
    multiclass_inputs,
    reduce,
)
from almlit.losses.class_weights import class_balanced_weights


def cross_entropy(outputs: Tensor, targets: Tensor, weight: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """Multi-class cross-entropy CE: -w_y log p_y.

    CB-CE (Cui et al. 2019) is this loss with ``weight = class_balanced_weights(class_counts, beta, normalise=True)``.

    Args:
        outputs: Float outputs z, shape [B, C], C >= 2.
        targets: Class indices in [0, C), shape [B] or [B, 1], any integer, bool or integral float dtype.
        weight: Optional per-class weights w [C]; None weighs every class 1.
        reduction: "none" (per-sample losses [B]), "mean" (weighted mean) or "sum".
    """
    targets = multiclass_inputs(outputs, targets, weight, reduction)
    return _cross_entropy(outputs, targets, weight, reduction)


def focal(
    outputs: Tensor, targets: Tensor, gamma: float, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """Multi-class focal loss FL (Lin et al. 2017): -w_y (1 - p_y)^gamma log p_y.

    log(1 - p_y) is computed as logsumexp over the other classes minus logsumexp over all, so the modulation
    (1 - p_y)^gamma = exp(gamma log(1 - p_y)) and its gradient stay finite where p_y rounds to 1 (a power with
    gamma < 1 has an infinite derivative at 0). gamma = 0 gives :func:`cross_entropy`.

    Args:
        outputs: Float outputs z, shape [B, C], C >= 2.
        targets: Class indices in [0, C), shape [B] or [B, 1].
        gamma: gamma >= 0; the paper's grid is {0.5, 1, 2}.
        weight: Optional per-class weights w [C]; None weighs every class 1.
        reduction: "none" (per-sample losses [B]), "mean" (weighted mean) or "sum".
    """
    check_non_negative("gamma", gamma)
    targets = multiclass_inputs(outputs, targets, weight, reduction)
    log_normaliser = torch.logsumexp(outputs, dim=1)
    log_target = outputs.gather(1, targets[:, None]).squeeze(1) - log_normaliser
    others = outputs.masked_fill(F.one_hot(targets, outputs.shape[1]).bool(), float("-inf"))
    log_rest = torch.logsumexp(others, dim=1) - log_normaliser
    losses = -torch.exp(gamma * log_rest) * log_target
    return reduce(losses, reduction, None if weight is None else weight.to(outputs.dtype)[targets])


def ldam_margins(class_counts: ClassCounts, max_margin: float = 0.5) -> Tensor:
    """LDAM margins (Cao et al. 2019): m_c proportional to n_c^(-1/4), the largest (rarest class) equal to max_margin.

    Args:
        class_counts: Training samples per class, positive integers.
        max_margin: Margin of the rarest class (>= 0).

    Returns:
        Float tensor [C], m_c = max_margin * (min_k n_k / n_c)^(1/4).
    """
    counts = check_class_counts(class_counts)
    check_non_negative("max_margin", max_margin)
    rarest = min(counts)
    return torch.tensor([max_margin * (rarest / count) ** 0.25 for count in counts])


def margin_cross_entropy(
    outputs: Tensor,
    targets: Tensor,
    margins: Tensor,
    scale: float = 30.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Cross-entropy of s * (z - m_y e_y): the target class's output is lowered by its margin, all are scaled by s.

    Args:
        outputs: Float outputs z, shape [B, C].
        targets: Class indices in [0, C), shape [B] or [B, 1], any integer, bool or integral float dtype.
        margins: Per-class margins m, shape [C].
        scale: s > 0.
        weight: Optional per-class weights [C], used as by ``F.cross_entropy`` (deferred re-weighting).
        reduction: "none" (per-sample losses [B]), "mean" or "sum".
    """
    check_positive("scale", scale)
    targets = multiclass_inputs(outputs, targets, weight, reduction, num_classes=margins.numel())
    target_margins = F.one_hot(targets, outputs.shape[1]).to(outputs.dtype) * margins.to(outputs.dtype)
    return _cross_entropy(scale * (outputs - target_margins), targets, weight, reduction)


def ldam(
    outputs: Tensor,
    targets: Tensor,
    class_counts: ClassCounts,
    max_margin: float = 0.5,
    scale: float = 30.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Label-distribution-aware margin loss (Cao et al. 2019): :func:`margin_cross_entropy` with :func:`ldam_margins`.

    Args:
        outputs: Float outputs, shape [B, C] (C = 2 for a binary problem; output[:, 1] scores the positives).
        targets: Class indices in [0, C), shape [B] or [B, 1].
        class_counts: Training samples per class, length C.
        max_margin: Margin of the rarest class (>= 0).
        scale: s > 0, multiplies all outputs before the softmax.
        weight: Optional per-class weights [C], used as by ``F.cross_entropy``.
        reduction: "none" (per-sample losses [B]), "mean" or "sum".
    """
    margins = ldam_margins(class_counts, max_margin).to(outputs.device)
    return margin_cross_entropy(outputs, targets, margins, scale, weight, reduction)


def _cross_entropy(outputs: Tensor, targets: Tensor, weight: Tensor | None, reduction: str) -> Tensor:
    """``F.cross_entropy`` with the weight in the outputs' dtype; inputs already checked."""
    weight = None if weight is None else weight.to(outputs.dtype)
    return F.cross_entropy(outputs, targets, weight=weight, reduction=reduction)


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
    """CE: softmax cross-entropy on outputs [B, C], see :func:`cross_entropy`."""

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return cross_entropy(outputs, targets, self.weight)


class FocalLoss(_ReweightableLoss):
    """FL (Lin et al. 2017) on outputs [B, C], see :func:`focal`.

    Args:
        gamma: gamma >= 0; the paper's grid is {0.5, 1, 2}.
    """

    def __init__(self, gamma: float = 1.0) -> None:
        super().__init__()
        check_non_negative("gamma", gamma)
        self.gamma = gamma

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return focal(outputs, targets, self.gamma, self.weight)

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
        check_positive("scale", scale)
        self.scale = scale
        self.register_buffer("margins", ldam_margins(class_counts, max_margin), persistent=False)

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return margin_cross_entropy(outputs, targets, self.margins, self.scale, self.weight)

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
        weights = class_balanced_weights(class_counts, beta, normalise=True)
        self.register_buffer("class_weights", weights, persistent=False)

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return cross_entropy(outputs, targets, self.class_weights)

    def extra_repr(self) -> str:
        return f"class_weights={self.class_weights.tolist()}"
