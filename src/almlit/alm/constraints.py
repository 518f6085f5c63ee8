"""Constraint variants chosen with ``alm=``: which scores and which samples each constraint uses."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

from almlit.alm.functional import binary_violations


class Violations(NamedTuple):
    """Per-sample violations ``q_j`` (zero for unconstrained samples) and the normaliser ``|p||n|``."""

    values: Tensor
    num_pairs: Tensor


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

    def __init__(self, margin: float = 0.0) -> None:
        super().__init__()
        if margin < 0:
            raise ValueError(f"alm.constraint.margin (delta) must be >= 0, got {margin}")
        self.margin = float(margin)

    def check_compatible(self, num_classes: int) -> None:
        """Refuse data the binary constraint does not describe."""
        if num_classes != self.num_classes:
            raise ValueError(
                f"alm=binary needs a binary data set (2 classes), but the data has {num_classes} classes; "
                "use a binary data set (data=digits|cifar10|cifar100) or alm=none"
            )

    def forward(self, outputs: Tensor, targets: Tensor) -> Violations:
        positive_mask = targets.reshape(-1) == 1
        num_positives = positive_mask.sum()
        num_pairs = num_positives * (positive_mask.numel() - num_positives)
        return Violations(binary_violations(positive_scores(outputs), positive_mask, self.margin), num_pairs)

    def extra_repr(self) -> str:
        return f"margin={self.margin}"


__all__ = ["BinaryConstraint", "Violations", "positive_scores"]
