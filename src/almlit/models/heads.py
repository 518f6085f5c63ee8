"""Classification heads: a plain linear layer or the cosine ("normed") layer used with LDAM."""

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def check_positive_int(name: str, value: object) -> None:
    """Raise if ``value`` is not an int >= 1 (bools are rejected too).

    Args:
        name: Argument name used in the error message.
        value: The value to check.

    Raises:
        ValueError: If ``value`` is not a positive int.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int (>= 1), got {value!r}")


class NormedLinear(nn.Module):
    """Cosine classifier of LDAM (Cao et al., 2019).

    Computes ``out[b, k] = <x_b / ||x_b||, w_k / ||w_k||>``, the cosine between each input row and
    each weight column, so every output lies in [-1, 1]. There is no bias; LDAM multiplies these
    cosines by a scale ``s`` inside its loss.

    Args:
        in_features: Size of each input sample.
        out_features: Number of outputs (classes).
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        check_positive_int("in_features", in_features)
        check_positive_int("out_features", out_features)
        self.in_features = in_features
        self.out_features = out_features
        # Stored as [in, out] so each class is a column; only its direction matters.
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        nn.init.uniform_(self.weight, -1.0, 1.0)

    def forward(self, x: Tensor) -> Tensor:
        """Return cosine similarities of shape [B, out_features] for input of shape [B, in_features]."""
        return F.normalize(x, dim=1) @ F.normalize(self.weight, dim=0)

    def extra_repr(self) -> str:
        """Describe the layer's sizes in ``repr``."""
        return f"in_features={self.in_features}, out_features={self.out_features}"


def make_head(in_features: int, num_outputs: int, normed: bool) -> nn.Module:
    """Build the final layer of a network.

    Args:
        in_features: Size of the pooled feature vector.
        num_outputs: Number of output scores (1 for a single binary logit).
        normed: If True, return a ``NormedLinear`` cosine layer (LDAM); else an ``nn.Linear`` with bias.

    Returns:
        The head module mapping [B, in_features] to [B, num_outputs].

    Raises:
        ValueError: If ``in_features`` or ``num_outputs`` is not a positive int.
    """
    check_positive_int("in_features", in_features)
    check_positive_int("num_outputs", num_outputs)
    if normed:
        return NormedLinear(in_features, num_outputs)
    return nn.Linear(in_features, num_outputs)
