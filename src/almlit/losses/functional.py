"""Base losses of Sangalli et al. (2021), Sec. 5, as pure tensor functions.

Binary losses: x is a logit, s the sigmoid, y in {0, 1} the target (1 = positive, the critical class).
Every log-probability is computed with ``logsigmoid`` (log s(x) = logsigmoid(x), log(1 - s(x)) = logsigmoid(-x)),
never as ``log(sigmoid(x))``, so that losses and gradients stay finite for logits of any size. They accept logits
and targets of shape [B] or [B, 1] and targets of any integer, bool or floating dtype holding 0/1.

Multi-class losses: z are the outputs [B, C], p = softmax(z), y in [0, C) the class index; log-probabilities come
from ``logsumexp``. An optional per-class ``weight`` [C] scales each sample's loss by w_y, and the "mean" reduction
then divides by the sum of the w_y, as ``F.cross_entropy`` does. All losses work in the dtype of their inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor

REDUCTIONS = ("none", "mean", "sum")

ClassCounts = Sequence[int] | Tensor


def bce(
    logits: Tensor,
    targets: Tensor,
    positive_weight: float | Tensor = 1.0,
    negative_weight: float | Tensor = 1.0,
    reduction: str = "mean",
) -> Tensor:
    """Weighted binary cross-entropy: -(w+ y log s(x) + w- (1 - y) log(1 - s(x))).

    W-BCE (Zadrozny et al. 2003) and CB-BCE (Cui et al. 2019) are this loss with class weights from
    :func:`imbalance_weights` and :func:`class_balanced_weights`.

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.
        positive_weight: w+, weight of the positive samples (>= 0).
        negative_weight: w-, weight of the negative samples (>= 0).
        reduction: "none" (per-sample losses [B]), "mean" or "sum".
    """
    _check_non_negative("positive_weight", positive_weight)
    _check_non_negative("negative_weight", negative_weight)
    return _binary_loss(logits, targets, reduction, weights=(negative_weight, positive_weight))


def symmetric_margin(logits: Tensor, targets: Tensor, margin: float, reduction: str = "mean") -> Tensor:
    """Symmetric margin loss S-ML (Liu et al. 2016): positives -log s(x - m), negatives -log(1 - s(x + m)).

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.
        margin: m >= 0, in logit units.
        reduction: "none" (per-sample losses [B]), "mean" or "sum".
    """
    _check_non_negative("margin", margin)
    return _binary_loss(logits, targets, reduction, margins=(margin, margin))


def asymmetric_margin(logits: Tensor, targets: Tensor, margin: float, reduction: str = "mean") -> Tensor:
    """Asymmetric margin loss A-ML (Li et al. 2019): positives -log s(x - m), negatives -log(1 - s(x)).

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.
        margin: m >= 0, in logit units, applied to the positives only.
        reduction: "none" (per-sample losses [B]), "mean" or "sum".
    """
    _check_non_negative("margin", margin)
    return _binary_loss(logits, targets, reduction, margins=(0.0, margin))


def symmetric_focal(logits: Tensor, targets: Tensor, gamma: float, reduction: str = "mean") -> Tensor:
    """Symmetric focal loss S-FL (Lin et al. 2017): positives -(1 - s(x))^g log s(x), negatives -s(x)^g log(1 - s(x)).

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.
        gamma: g >= 0; g = 0 gives BCE.
        reduction: "none" (per-sample losses [B]), "mean" or "sum".
    """
    _check_non_negative("gamma", gamma)
    return _binary_loss(logits, targets, reduction, gammas=(gamma, gamma))


def asymmetric_focal(logits: Tensor, targets: Tensor, gamma: float, reduction: str = "mean") -> Tensor:
    """Asymmetric focal loss A-FL (Li et al. 2019): positives -log s(x), negatives -s(x)^g log(1 - s(x)).

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.
        gamma: g >= 0, applied to the negatives only.
        reduction: "none" (per-sample losses [B]), "mean" or "sum".
    """
    _check_non_negative("gamma", gamma)
    return _binary_loss(logits, targets, reduction, gammas=(gamma, 0.0))


def imbalance_weights(class_counts: ClassCounts, cost: float = 1.0) -> Tensor:
    """Class weights of W-BCE: 1 for negatives and c * n_negative / n_positive for positives.

    Args:
        class_counts: (n_negative, n_positive), training samples per class.
        cost: c > 0, the fraction of the imbalance ratio given to the positives.

    Returns:
        Float tensor [2]: (negative weight, positive weight).
    """
    negatives, positives = _check_binary_class_counts(class_counts)
    _check_positive("cost", cost)
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
    """
    counts = _check_class_counts(class_counts)
    if not 0 <= beta < 1:
        raise ValueError(f"beta must satisfy 0 <= beta < 1, got {beta}")
    weights = torch.tensor([(1 - beta) / (1 - beta**count) for count in counts], dtype=torch.float64)
    if normalise:
        weights = weights * len(counts) / weights.sum()
    return weights.float()


def cross_entropy(outputs: Tensor, targets: Tensor, weight: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """Multi-class cross-entropy CE: -w_y log p_y.

    CB-CE (Cui et al. 2019) is this loss with ``weight = class_balanced_weights(class_counts, beta, normalise=True)``.

    Args:
        outputs: Float outputs z, shape [B, C], C >= 2.
        targets: Class indices in [0, C), shape [B] or [B, 1], any integer, bool or integral float dtype.
        weight: Optional per-class weights w [C]; None weighs every class 1.
        reduction: "none" (per-sample losses [B]), "mean" (weighted mean) or "sum".
    """
    targets = _multiclass_inputs(outputs, targets, weight, reduction)
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
    _check_non_negative("gamma", gamma)
    targets = _multiclass_inputs(outputs, targets, weight, reduction)
    log_normaliser = torch.logsumexp(outputs, dim=1)
    log_target = outputs.gather(1, targets[:, None]).squeeze(1) - log_normaliser
    others = outputs.masked_fill(F.one_hot(targets, outputs.shape[1]).bool(), float("-inf"))
    log_rest = torch.logsumexp(others, dim=1) - log_normaliser
    losses = -torch.exp(gamma * log_rest) * log_target
    return _reduce(losses, reduction, None if weight is None else weight.to(outputs.dtype)[targets])


def ldam_margins(class_counts: ClassCounts, max_margin: float = 0.5) -> Tensor:
    """LDAM margins (Cao et al. 2019): m_c proportional to n_c^(-1/4), the largest (rarest class) equal to max_margin.

    Args:
        class_counts: Training samples per class, positive integers.
        max_margin: Margin of the rarest class (>= 0).

    Returns:
        Float tensor [C], m_c = max_margin * (min_k n_k / n_c)^(1/4).
    """
    counts = _check_class_counts(class_counts)
    _check_non_negative("max_margin", max_margin)
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
    _check_positive("scale", scale)
    targets = _multiclass_inputs(outputs, targets, weight, reduction, num_classes=margins.numel())
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


def mini_batch_auc(logits: Tensor, targets: Tensor) -> Tensor:
    """Mini-batch AUC loss MBAUC (Gultekin et al. 2020): mean over positive-negative pairs of (1 - (s(x_p) - s(x_n)))^2.

    A batch without positives or without negatives has no pair and gives 0, still attached to the graph.

    Args:
        logits: Float logits, shape [B] or [B, 1].
        targets: 0/1 targets of the same shape.

    Returns:
        Scalar loss.
    """
    logits, targets = _binary_inputs(logits, targets)
    probabilities = torch.sigmoid(logits)
    pair_mask = targets[:, None] * (1 - targets)[None, :]  # rows: positives, columns: negatives
    pair_losses = (1 - (probabilities[:, None] - probabilities[None, :])) ** 2
    return (pair_mask * pair_losses).sum() / pair_mask.sum().clamp(min=1)


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
    logits, targets = _binary_inputs(logits, targets)
    positive_losses = weights[1] * _focal_log_loss(logits - margins[1], gammas[1])
    negative_losses = weights[0] * _focal_log_loss(-(logits + margins[0]), gammas[0])
    return _reduce(targets * positive_losses + (1 - targets) * negative_losses, reduction)


def _focal_log_loss(scores: Tensor, gamma: float) -> Tensor:
    """-(1 - s(z))^gamma log s(z), with (1 - s(z))^gamma = exp(gamma logsigmoid(-z)) so the gradient stays finite
    where 1 - s(z) underflows to 0 (a power with gamma < 1 has an infinite derivative at 0)."""
    return -torch.exp(gamma * F.logsigmoid(-scores)) * F.logsigmoid(scores)


def _binary_inputs(logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """Checks logits and 0/1 targets; returns both as [B], the targets in the logits' dtype."""
    if not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point tensor, got dtype {logits.dtype}")
    logits, targets = _drop_singleton_column(logits), _drop_singleton_column(targets)
    if logits.ndim != 1 or targets.shape != logits.shape:
        raise ValueError(
            "logits and targets must have the same shape [B] (or [B, 1]), "
            f"got logits {list(logits.shape)} and targets {list(targets.shape)}"
        )
    if _checkable_on_host(targets) and not ((targets == 0) | (targets == 1)).all():
        raise ValueError(f"targets must contain only 0 and 1, got values {targets.unique().tolist()}")
    return logits, targets.to(logits.dtype)


def _multiclass_inputs(
    outputs: Tensor, targets: Tensor, weight: Tensor | None, reduction: str, num_classes: int | None = None
) -> Tensor:
    """Checks outputs [B, C] (C = num_classes when given, else >= 2), the targets, the weight [C] and the reduction.

    Returns the targets as long [B].
    """
    _check_reduction(reduction)
    if not outputs.is_floating_point():
        raise TypeError(f"outputs must be a floating-point tensor, got dtype {outputs.dtype}")
    if num_classes is not None and (outputs.ndim != 2 or outputs.shape[1] != num_classes):
        raise ValueError(
            f"outputs must have shape [B, C] with one column per class (C = {num_classes}), got {list(outputs.shape)}"
        )
    if outputs.ndim != 2 or outputs.shape[1] < 2:
        raise ValueError(f"outputs must have shape [B, C] with C >= 2 classes, got {list(outputs.shape)}")
    if weight is not None and weight.shape != (outputs.shape[1],):
        raise ValueError(
            f"weight must have shape [C] = [{outputs.shape[1]}] (one weight per class), got {list(weight.shape)}"
        )
    return _class_indices(targets, outputs.shape[0], outputs.shape[1])


def _cross_entropy(outputs: Tensor, targets: Tensor, weight: Tensor | None, reduction: str) -> Tensor:
    """``F.cross_entropy`` with the weight in the outputs' dtype; inputs already checked."""
    weight = None if weight is None else weight.to(outputs.dtype)
    return F.cross_entropy(outputs, targets, weight=weight, reduction=reduction)


def _class_indices(targets: Tensor, batch_size: int, num_classes: int) -> Tensor:
    """Checks that targets are [B] (or [B, 1]) class indices in [0, num_classes); returns them as long [B]."""
    targets = _drop_singleton_column(targets)
    if targets.shape != (batch_size,):
        raise ValueError(f"targets must have shape [{batch_size}] (or [{batch_size}, 1]), got {list(targets.shape)}")
    valid = (targets >= 0) & (targets < num_classes)
    if targets.is_floating_point():
        valid &= targets == targets.round()
    if _checkable_on_host(valid) and not valid.all():
        raise ValueError(f"targets must be class indices in [0, {num_classes}), got values {targets.unique().tolist()}")
    return targets.long()


def _drop_singleton_column(tensor: Tensor) -> Tensor:
    return tensor.squeeze(1) if tensor.ndim == 2 and tensor.shape[1] == 1 else tensor


def _check_class_counts(class_counts: ClassCounts) -> list[int]:
    """Returns class_counts as a list of ints after checking it is a non-empty sequence of positive integers."""
    counts = class_counts.tolist() if isinstance(class_counts, Tensor) else list(class_counts)
    if not counts or not all(
        isinstance(count, Integral) and not isinstance(count, bool) and cast(int, count) > 0  # an Integral compares
        for count in counts
    ):
        raise ValueError(f"class_counts must be a non-empty sequence of positive integers, got {counts}")
    return [int(count) for count in counts]


def _check_binary_class_counts(class_counts: ClassCounts) -> list[int]:
    """Like :func:`_check_class_counts`, for the two classes (negative, positive) of a binary problem."""
    counts = _check_class_counts(class_counts)
    if len(counts) != 2:
        raise ValueError(f"class_counts must have length 2 (n_negative, n_positive) for a binary loss, got {counts}")
    return counts


def _checkable_on_host(tensor: Tensor) -> bool:
    """Whether a check of tensor *values* is free: on the CPU and outside compilation.

    On an accelerator, reading a value back stalls the step until the device catches up (a host-device
    sync); the data modules guarantee valid labels there, so only shapes and dtypes are checked.
    """
    return tensor.device.type == "cpu" and not torch.compiler.is_compiling()


def _check_non_negative(name: str, value: float | Tensor) -> None:
    if isinstance(value, Tensor) and not _checkable_on_host(value):
        return
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _reduce(losses: Tensor, reduction: str, sample_weights: Tensor | None = None) -> Tensor:
    """Reduces per-sample losses; with ``sample_weights`` they are scaled first and "mean" divides by their sum."""
    _check_reduction(reduction)
    if sample_weights is not None:
        losses = sample_weights * losses
        if reduction == "mean":
            return losses.sum() / sample_weights.sum()
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses
