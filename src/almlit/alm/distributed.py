"""The global batch of a distributed (DDP) run: every process's rows, gathered with autograd.

The constraint of Eq. 4-7 compares every critical sample with every other sample of the batch, and some base losses
(``loss=mbauc``) are pairwise too, so a DDP step must compute them on the GLOBAL batch to equal a single-process step
with the same batch. Every process gathers the outputs, targets and sample ids of all processes, computes the same
loss and applies the same multiplier update for all global ids, so the multiplier banks stay identical without a
broadcast.

Gradient scaling: the gather's backward sums, over the W ranks, the gradient that each rank's loss gives the global
rows, and keeps this rank's rows. Every rank computes the same loss ``L`` of the global batch, so a rank's own rows
get ``W * dL/dx``; DDP then AVERAGES the parameter gradients over the ranks, which gives
``(1 / W) * sum_r W * dL/dtheta|_r = dL/dtheta``: the gradient of the single-process run. No rescaling is needed.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor


def world_size() -> int:
    """Number of processes of the default process group; 1 when none is initialised."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def gather_batch(*tensors: Tensor) -> tuple[Tensor, ...]:
    """Every process's rows of ``tensors``, concatenated in rank order: the global batch.

    With one process the tensors come back unchanged, with no collective and no host synchronisation. With
    several, the ranks may hold different numbers of rows (the last global batch of an epoch): the row counts are
    exchanged first (one small collective, read on the host), each tensor is padded to the largest count, gathered,
    and the padding is dropped. Gradients flow back to each rank's own rows (see the module docstring for the scale).

    Args:
        tensors: tensors with the same number of rows (first dimension) on this rank.

    Raises:
        ValueError: if no tensor is given or their row counts differ.
    """
    if not tensors:
        raise ValueError("gather_batch needs at least one tensor, got none")
    rows = {len(tensor) for tensor in tensors}
    if len(rows) != 1:
        raise ValueError(f"gather_batch needs tensors with the same number of rows, got {[len(t) for t in tensors]}")
    if world_size() == 1:
        return tensors
    local_rows = torch.tensor([len(tensors[0])], device=tensors[0].device)
    counts = [torch.empty_like(local_rows) for _ in range(world_size())]
    dist.all_gather(counts, local_rows)
    sizes = torch.cat(counts).tolist()
    return tuple(_GatherRows.apply(tensor, sizes) for tensor in tensors)


class _GatherRows(torch.autograd.Function):
    """All ranks' rows in rank order (each padded to ``max(sizes)`` for the collective, the padding dropped).

    Backward: the gradient of the global rows summed over the ranks, cut to this rank's rows.
    """

    @staticmethod
    def forward(
        ctx: Any,  # FunctionCtx: torch lets a Function keep its own fields on it
        tensor: Tensor,
        sizes: list[int],
    ) -> Tensor:
        rank = dist.get_rank()
        ctx.rows = (sum(sizes[:rank]), sum(sizes[: rank + 1]))
        padded = torch.cat([tensor, tensor.new_zeros((max(sizes) - len(tensor), *tensor.shape[1:]))])
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded)
        return torch.cat([part[:size] for part, size in zip(parts, sizes, strict=True)])

    @staticmethod
    def backward(ctx: Any, gradient: Tensor) -> tuple[Tensor, None]:
        gradient = gradient.contiguous()
        dist.all_reduce(gradient)
        start, stop = ctx.rows
        return gradient[start:stop], None
