"""Lagrange multipliers indexed by dataset sample id (one lambda per training sample)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def check_sample_ids(sample_ids: Tensor, argument: str = "sample_ids") -> None:
    """Reject ids that cannot index the bank (checked on dtype and shape only: no device sync)."""
    if not isinstance(sample_ids, Tensor) or sample_ids.dtype != torch.long:
        found = sample_ids.dtype if isinstance(sample_ids, Tensor) else type(sample_ids).__name__
        raise TypeError(f"{argument} must be a torch.long tensor of dataset sample ids, got {found}")
    if sample_ids.dim() != 1:
        raise ValueError(f"{argument} must be 1-D, got shape {tuple(sample_ids.shape)}")


class MultiplierBank(nn.Module):
    """State of the Augmented Lagrangian: ``lambda_j`` for every training sample id.

    The multipliers are a buffer, so they are saved in every checkpoint and follow the module's
    device. Only positives ever receive non-zero increments (their violations are the only
    non-zero ones), but indexing by any sample id keeps the training step free of masking.

    Args:
        num_samples: number of id slots (``1 + `` the largest sample id).
        initial_value: lambda^(0); the paper and the authors' code use 0.
    """

    multipliers: Tensor

    def __init__(self, num_samples: int, initial_value: float = 0.0) -> None:
        super().__init__()
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
        self.register_buffer("multipliers", torch.full((num_samples,), float(initial_value)))

    def lookup(self, sample_ids: Tensor) -> Tensor:
        """Current ``lambda_j`` for ``sample_ids`` (a copy: later updates do not change it)."""
        check_sample_ids(sample_ids)
        return self.multipliers.index_select(0, sample_ids)

    @torch.no_grad()
    def update_(self, sample_ids: Tensor, increments: Tensor) -> None:
        """``lambda_j <- lambda_j + increment_j`` in place, outside autograd.

        Repeated ids accumulate (``index_add_``), so a sampler that draws with replacement is safe.
        """
        check_sample_ids(sample_ids)
        if increments.shape != sample_ids.shape:
            raise ValueError(
                f"increments must have the shape of sample_ids {tuple(sample_ids.shape)}, got {tuple(increments.shape)}"
            )
        self.multipliers.index_add_(0, sample_ids, increments.detach().to(self.multipliers.dtype))

    def extra_repr(self) -> str:
        return f"num_samples={self.multipliers.numel()}"
