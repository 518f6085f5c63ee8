"""``nn.Module`` wrappers of the prior-aware long-tail losses in :mod:`almlit.losses.long_tail` (``loss=vs``,
``loss=logit_adjusted``, ``loss=balanced_softmax``).

They take C outputs on C-class data and, on binary data, either one logit (the default head) or two outputs. The
training class counts come in through Hydra's ``_partial_`` when the data is set up; the checks run when the module
is built.
"""

from __future__ import annotations

from torch import Tensor, nn

from almlit.losses import long_tail
from almlit.losses.functional import ClassCounts, _check_class_counts, _check_non_negative


class VSLoss(nn.Module):
    """VS loss (Kini et al., NeurIPS 2021), see :func:`almlit.losses.long_tail.vector_scaling_cross_entropy`.

    Args:
        class_counts: Training samples per class.
        gamma: gamma >= 0, exponent of the scale (n_c / n_max)^gamma.
        tau: tau >= 0, weight of the prior shift tau log pi_c.
    """

    num_outputs = 1

    def __init__(self, class_counts: ClassCounts, gamma: float = 0.2, tau: float = 1.0) -> None:
        super().__init__()
        self.class_counts = _check_class_counts(class_counts)
        _check_non_negative("gamma", gamma)
        _check_non_negative("tau", tau)
        self.gamma = gamma
        self.tau = tau

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return long_tail.vector_scaling_cross_entropy(outputs, targets, self.class_counts, self.gamma, self.tau)

    def extra_repr(self) -> str:
        return f"class_counts={self.class_counts}, gamma={self.gamma}, tau={self.tau}"


class LogitAdjustedLoss(VSLoss):
    """Logit-adjusted cross-entropy (Menon et al., ICLR 2021): CE of z + tau log pi (the VS loss with gamma = 0).

    Args:
        class_counts: Training samples per class.
        tau: tau >= 0; 1.0 in the paper.
    """

    def __init__(self, class_counts: ClassCounts, tau: float = 1.0) -> None:
        super().__init__(class_counts, gamma=0.0, tau=tau)


class BalancedSoftmaxLoss(LogitAdjustedLoss):
    """Balanced Softmax (Ren et al., NeurIPS 2020): CE of the softmax of n_c exp(z_c), i.e. logit adjustment, tau = 1.

    Args:
        class_counts: Training samples per class.
    """

    def __init__(self, class_counts: ClassCounts) -> None:
        super().__init__(class_counts, tau=1.0)
