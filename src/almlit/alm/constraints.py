"""Constraint variants chosen with ``alm=``: which scores and which samples each constraint uses."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import NamedTuple

import torch
from torch import Tensor, nn

from almlit.alm.functional import binary_pair_hinges, multiclass_pair_hinges, positive_negative_pairs

VARIANTS = ("m1", "m2")
SCORES = ("probability", "logit")


class Violations(NamedTuple):
    """What a constraint finds in one batch (all on the device, nothing read back to the host).

    Attributes:
        values: per-sample violations ``q_j`` ``[B]``, zero for unconstrained samples.
        num_pairs: the normaliser ``|p||n|`` (constrained samples x the samples they are compared with), 0-dim.
        violated_pairs: how many of the ``|p||n|`` pairs violate the margin (their hinge is > 0), 0-dim.
    """

    values: Tensor
    num_pairs: Tensor
    violated_pairs: Tensor

    @classmethod
    def from_pair_hinges(cls, pair_hinges: Tensor, constrained: Tensor) -> Violations:
        """Row sums, pair count and violated pairs of a ``[B, B]`` matrix of per-pair hinges (0 off the pairs)."""
        return cls(pair_hinges.sum(dim=1), positive_negative_pairs(constrained), (pair_hinges > 0).sum())


def positive_scores(outputs: Tensor) -> Tensor:
    """Score of the critical class from a binary network's raw outputs.

    One output: the logit itself. Two outputs (the LDAM head): ``output[:, 1]``, as the authors' code.
    """
    return outputs.reshape(-1) if outputs.dim() == 1 or outputs.shape[1] == 1 else outputs[:, -1]


class BinaryConstraint(nn.Module):
    """Eq. 4: every positive's score exceeds every negative's by ``margin`` (delta), in logit units.

    Args:
        margin: delta >= 0; the paper's grid is {0, 0.1, 0.25, 0.5, 1.0}.
    """

    num_classes = 2
    needs_pairs = True  # 0 on a batch without a positive-negative pair (almlit.alm.coverage)

    def __init__(self, margin: float = 0.0) -> None:
        super().__init__()
        self.margin = _checked_margin(margin)

    def check_compatible(self, num_classes: int) -> None:
        """Refuse data the binary constraint does not describe."""
        if num_classes != self.num_classes:
            raise ValueError(
                f"alm=binary needs a binary data set (2 classes), but the data has {num_classes} classes; "
                "use a binary data set (data=digits|cifar10|cifar100), alm=m1|m2 (the multi-class constraints) "
                "or alm=none"
            )

    def forward(self, outputs: Tensor, targets: Tensor) -> Violations:
        positive_mask = targets.reshape(-1) == 1
        return Violations.from_pair_hinges(
            binary_pair_hinges(positive_scores(outputs), positive_mask, self.margin), positive_mask
        )

    def extra_repr(self) -> str:
        return f"margin={self.margin}"


class MultiClassConstraint(nn.Module):
    """Eq. 6 (``variant="m1"``, ALM_m1) or Eq. 7 (``variant="m2"``, ALM_m2): one constraint per critical sample.

    Critical samples (classes P) must score higher than every non-critical sample (classes N) of the batch
    on their own class; ALM_m2 also asks every non-critical sample to score higher than the critical sample
    on the non-critical sample's class. The normaliser ``|p||n|`` of Eq. 5 becomes
    (critical samples) x (non-critical samples) in the batch.

    Args:
        critical_classes: the class ids in P (the paper: the smallest class); the others form N.
        margin: delta >= 0, in units of the score.
        variant: ``"m1"`` (Eq. 6) or ``"m2"`` (Eq. 7).
        score: ``"probability"`` (softmax of the outputs, the paper's "output probability") or ``"logit"``
            (the raw outputs).
    """

    critical_classes: Tensor
    needs_pairs = True  # 0 on a batch without a critical and a non-critical sample (almlit.alm.coverage)

    def __init__(
        self, critical_classes: Sequence[int], margin: float = 0.0, variant: str = "m1", score: str = "probability"
    ) -> None:
        super().__init__()
        class_ids = list(critical_classes)
        if (
            not class_ids
            or len(set(class_ids)) != len(class_ids)
            or not all(isinstance(i, Integral) and not isinstance(i, bool) and i >= 0 for i in class_ids)
        ):
            raise ValueError(
                f"alm.constraint.critical_classes must be a non-empty list of distinct class ids >= 0, got {class_ids}"
            )
        if variant not in VARIANTS:
            raise ValueError(f"alm.constraint.variant must be one of {VARIANTS}, got {variant!r}")
        if score not in SCORES:
            raise ValueError(f"alm.constraint.score must be one of {SCORES}, got {score!r}")
        self.critical_class_ids = tuple(int(i) for i in class_ids)
        self.margin = _checked_margin(margin)
        self.variant = variant
        self.score = score
        self.register_buffer("critical_classes", torch.tensor(self.critical_class_ids), persistent=False)

    def check_compatible(self, num_classes: int) -> None:
        """Refuse binary data, critical classes the data does not have, and data without a non-critical class."""
        if num_classes < 3:
            raise ValueError(
                f"alm={self.variant} needs a multi-class data set (>= 3 classes), but the data has {num_classes} "
                "classes; use alm=binary"
            )
        if max(self.critical_class_ids) >= num_classes:
            raise ValueError(
                f"data.critical_classes must hold class ids in 0..{num_classes - 1} for alm={self.variant}, "
                f"got {list(self.critical_class_ids)}"
            )
        if len(self.critical_class_ids) == num_classes:
            raise ValueError(
                f"alm={self.variant} needs at least one non-critical class, but data.critical_classes "
                f"{list(self.critical_class_ids)} covers all {num_classes} classes"
            )

    def forward(self, outputs: Tensor, targets: Tensor) -> Violations:
        if outputs.ndim != 2:
            raise ValueError(f"outputs must have shape [B, C], got {list(outputs.shape)}")
        if targets.dtype != torch.long:
            raise TypeError(f"targets must be a torch.long tensor of class indices, got {targets.dtype}")
        targets = targets.reshape(-1)
        critical_mask = (targets[:, None] == self.critical_classes[None, :]).any(dim=1)
        scores = outputs.softmax(dim=1) if self.score == "probability" else outputs
        pair_hinges = multiclass_pair_hinges(scores, targets, critical_mask, self.margin, self.variant == "m2")
        return Violations.from_pair_hinges(pair_hinges, critical_mask)

    def extra_repr(self) -> str:
        return (
            f"critical_classes={list(self.critical_class_ids)}, margin={self.margin}, "
            f"variant={self.variant!r}, score={self.score!r}"
        )


def _checked_margin(margin: float) -> float:
    if not margin >= 0:
        raise ValueError(f"alm.constraint.margin (delta) must be >= 0, got {margin}")
    return float(margin)


__all__ = ["SCORES", "VARIANTS", "BinaryConstraint", "MultiClassConstraint", "Violations", "positive_scores"]
