"""Argument checks shared by the loss families, and the one reduction of per-sample losses.

Every check raises an error that names the argument, the value it got and what is allowed. Values of tensors are
checked only where that is free (:func:`checkable_on_host`); shapes and dtypes are always checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import cast

import torch
from torch import Tensor

REDUCTIONS = ("none", "mean", "sum")

ClassCounts = Sequence[int] | Tensor
"""Training samples per class, indexed by class (binary: (n_negative, n_positive)); a sequence or a 1-D tensor."""


def binary_inputs(logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """Checks float logits [B] (or [B, 1]) and 0/1 targets of the same shape; returns both as [B], the targets in
    the logits' dtype.

    Raises:
        TypeError: If the logits are not floating-point.
        ValueError: If the shapes differ, or (where checkable) a target is neither 0 nor 1.
    """
    if not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point tensor, got dtype {logits.dtype}")
    logits, targets = _drop_singleton_column(logits), _drop_singleton_column(targets)
    if logits.ndim != 1 or targets.shape != logits.shape:
        raise ValueError(
            "logits and targets must have the same shape [B] (or [B, 1]), "
            f"got logits {list(logits.shape)} and targets {list(targets.shape)}"
        )
    if checkable_on_host(targets) and not ((targets == 0) | (targets == 1)).all():
        raise ValueError(f"targets must contain only 0 and 1, got values {targets.unique().tolist()}")
    return logits, targets.to(logits.dtype)


def multiclass_inputs(
    outputs: Tensor, targets: Tensor, weight: Tensor | None, reduction: str, num_classes: int | None = None
) -> Tensor:
    """Checks outputs [B, C] (C = num_classes when given, else >= 2), the targets, the weight [C] and the reduction.

    Returns:
        The targets as long class indices [B].

    Raises:
        TypeError: If the outputs are not floating-point.
        ValueError: If a shape, a target (where checkable) or the reduction is not allowed.
    """
    check_reduction(reduction)
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


def check_class_counts(class_counts: ClassCounts) -> list[int]:
    """Returns class_counts as a list of ints after checking it is a non-empty sequence of positive integers."""
    counts = class_counts.tolist() if isinstance(class_counts, Tensor) else list(class_counts)
    if not counts or not all(
        isinstance(count, Integral) and not isinstance(count, bool) and cast(int, count) > 0  # an Integral compares
        for count in counts
    ):
        raise ValueError(f"class_counts must be a non-empty sequence of positive integers, got {counts}")
    return [int(count) for count in counts]


def check_binary_class_counts(class_counts: ClassCounts) -> list[int]:
    """Like :func:`check_class_counts`, for the two classes (negative, positive) of a binary problem."""
    counts = check_class_counts(class_counts)
    if len(counts) != 2:
        raise ValueError(f"class_counts must have length 2 (n_negative, n_positive) for a binary loss, got {counts}")
    return counts


def check_non_negative(name: str, value: float | Tensor) -> None:
    """Raises ValueError unless value >= 0 (NaN included); a tensor on an accelerator is not read back."""
    if isinstance(value, Tensor) and not checkable_on_host(value):
        return
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def check_positive(name: str, value: float) -> None:
    """Raises ValueError unless value > 0."""
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def check_fraction(name: str, value: float) -> None:
    """Raises ValueError unless 0 < value <= 1 (a fraction of samples to keep, e.g. the FPR range of a partial AUC)."""
    if not 0 < value <= 1:
        raise ValueError(f"{name} must satisfy 0 < {name} <= 1, got {value}")


def check_below_one(name: str, value: float) -> None:
    """Raises ValueError unless 0 <= value < 1 (e.g. the class-balanced beta, the minimum TPR of a partial AUC)."""
    if not 0 <= value < 1:
        raise ValueError(f"{name} must satisfy 0 <= {name} < 1, got {value}")


def check_reduction(reduction: str) -> None:
    """Raises ValueError unless reduction is one of :data:`REDUCTIONS`."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def checkable_on_host(tensor: Tensor) -> bool:
    """Whether a check of tensor *values* is free: on the CPU and outside compilation.

    On an accelerator, reading a value back stalls the step until the device catches up (a host-device
    sync); the data modules guarantee valid labels there, so only shapes and dtypes are checked.
    """
    return tensor.device.type == "cpu" and not torch.compiler.is_compiling()


def reduce(losses: Tensor, reduction: str, sample_weights: Tensor | None = None) -> Tensor:
    """Reduces per-sample losses [B] after checking the reduction; with ``sample_weights`` [B] they are scaled first
    and "mean" divides by their sum (as ``F.cross_entropy`` does with class weights)."""
    check_reduction(reduction)
    if sample_weights is not None:
        losses = sample_weights * losses
        if reduction == "mean":
            return losses.sum() / sample_weights.sum()
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _class_indices(targets: Tensor, batch_size: int, num_classes: int) -> Tensor:
    """Checks that targets are [B] (or [B, 1]) class indices in [0, num_classes); returns them as long [B]."""
    targets = _drop_singleton_column(targets)
    if targets.shape != (batch_size,):
        raise ValueError(f"targets must have shape [{batch_size}] (or [{batch_size}, 1]), got {list(targets.shape)}")
    valid = (targets >= 0) & (targets < num_classes)
    if targets.is_floating_point():
        valid &= targets == targets.round()
    if checkable_on_host(valid) and not valid.all():
        raise ValueError(f"targets must be class indices in [0, {num_classes}), got values {targets.unique().tolist()}")
    return targets.long()


def _drop_singleton_column(tensor: Tensor) -> Tensor:
    return tensor.squeeze(1) if tensor.ndim == 2 and tensor.shape[1] == 1 else tensor
