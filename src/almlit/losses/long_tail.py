"""Long-tail losses that shift or scale the logits by the training class prior: pure functions, then the
``nn.Module`` shells that the ``loss=`` config group builds (``vs``, ``logit_adjusted``, ``balanced_softmax``).

Multi-class form (outputs z [B, C], C = len(class_counts)): the vector-scaling (VS) cross-entropy of Kini et al.
(NeurIPS 2021, "Label-Imbalanced and Group-Sensitive Classification under Overparameterization")

    -log softmax(Delta * z + iota)_y,   Delta_c = (n_c / max_k n_k)^gamma,   iota_c = tau log pi_c,

with pi_c = n_c / sum_k n_k. gamma = 0 gives the logit-adjusted loss of Menon et al. (ICLR 2021, "Long-tail
learning via logit adjustment"), and gamma = 0, tau = 1 the Balanced Softmax of Ren et al. (NeurIPS 2020,
"Balanced Meta-Softmax for Long-Tailed Visual Recognition": the softmax of n_c exp(z_c)).

Binary form (one logit x per sample [B] or [B, 1], class_counts = (n_negative, n_positive)):

    BCE(Delta_y x + tau log(n_1 / n_0), y),

the logit scaled by the factor of the sample's own class and shifted by the log prior ratio, i.e. Kini et al.'s
binary VS loss log(1 + exp(iota_y - Delta_y y' x)) with y' = +-1 and iota_+ = -iota_- = tau log(n_0 / n_1). For
gamma = 0 it is exactly the two-class loss above with outputs z = (0, x): the logit adjustment x + tau log(n_1 / n_0).

The modules take C outputs on C-class data and, on binary data, either one logit (the default head) or two outputs.
The training class counts come in through Hydra's ``_partial_`` when the data is set up; the checks run when the
module is built.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from almlit.losses._checks import ClassCounts, binary_inputs, check_class_counts, check_non_negative, multiclass_inputs


def vector_scaling_cross_entropy(
    outputs: Tensor, targets: Tensor, class_counts: ClassCounts, gamma: float = 0.2, tau: float = 1.0
) -> Tensor:
    """VS loss (Kini et al. 2021), mean over the batch; binary for one output per sample, else multi-class.

    Args:
        outputs: Float outputs: [B, C] with C = len(class_counts) >= 2, or one logit per sample [B] / [B, 1] with
            class_counts = (n_negative, n_positive).
        targets: Class indices [B] (or [B, 1]); 0/1 for one logit.
        class_counts: Training samples per class, positive integers.
        gamma: gamma >= 0, exponent of the multiplicative scale Delta_c = (n_c / n_max)^gamma.
        tau: tau >= 0, weight of the additive prior shift tau log pi_c.

    Returns:
        Scalar loss.
    """
    counts = check_class_counts(class_counts)
    check_non_negative("gamma", gamma)
    check_non_negative("tau", tau)
    largest = max(counts)
    scales = torch.tensor([(count / largest) ** gamma for count in counts], dtype=outputs.dtype, device=outputs.device)
    if outputs.ndim == 1 or (outputs.ndim == 2 and outputs.shape[1] == 1):
        if len(counts) != 2:
            raise ValueError(
                f"one output per sample needs class_counts of length 2 (n_negative, n_positive), got {counts}"
            )
        logits, binary_targets = binary_inputs(outputs, targets)
        shifted = scales[binary_targets.long()] * logits + tau * math.log(counts[1] / counts[0])
        return F.binary_cross_entropy_with_logits(shifted, binary_targets)
    class_indices = multiclass_inputs(outputs, targets, None, "mean", num_classes=len(counts))
    log_priors = torch.tensor([math.log(count / sum(counts)) for count in counts], dtype=outputs.dtype)
    return F.cross_entropy(scales * outputs + tau * log_priors.to(outputs.device), class_indices)


def logit_adjusted_cross_entropy(
    outputs: Tensor, targets: Tensor, class_counts: ClassCounts, tau: float = 1.0
) -> Tensor:
    """Logit-adjusted cross-entropy (Menon et al. 2021): CE of z + tau log pi; binary: BCE of x + tau log(n_1/n_0).

    ``tau = 1`` is the Balanced Softmax of Ren et al. (2020). Arguments as :func:`vector_scaling_cross_entropy`.
    """
    return vector_scaling_cross_entropy(outputs, targets, class_counts, gamma=0.0, tau=tau)


class VSLoss(nn.Module):
    """VS loss (Kini et al., NeurIPS 2021), see :func:`vector_scaling_cross_entropy`.

    Args:
        class_counts: Training samples per class.
        gamma: gamma >= 0, exponent of the scale (n_c / n_max)^gamma.
        tau: tau >= 0, weight of the prior shift tau log pi_c.
    """

    num_outputs = 1

    def __init__(self, class_counts: ClassCounts, gamma: float = 0.2, tau: float = 1.0) -> None:
        super().__init__()
        self.class_counts = check_class_counts(class_counts)
        check_non_negative("gamma", gamma)
        check_non_negative("tau", tau)
        self.gamma = gamma
        self.tau = tau

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return vector_scaling_cross_entropy(outputs, targets, self.class_counts, self.gamma, self.tau)

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
