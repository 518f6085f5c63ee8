"""Which samples each process loads in a distributed (DDP) run, so that it replays the single-process run.

``data.batch_size`` is the batch of ONE process (Lightning's convention): with W processes a training step uses a
global batch of ``W * data.batch_size`` samples. The training sampler (any of :mod:`almlit.data.samplers`) draws the
global order of the epoch, unaware of ranks; global batch ``b`` is its positions ``[b * G, (b + 1) * G)`` with
``G = W * data.batch_size``, exactly the batches of a single-process run with ``data.batch_size = G``, and
:class:`GlobalBatchShard` hands each process its contiguous share of every global batch. Concatenating the shares
in rank order (:func:`almlit.alm.distributed.gather_batch`) gives the global batch back in its order. Nothing is
padded or dropped: when the last global batch is shorter, the first ranks get one sample more.

Validation and test sets are split the same way (:class:`RankBlockSampler`): each process scores one contiguous
block, every sample exactly once, so the metrics synchronised across processes are those of the whole set.

Lightning must leave these samplers alone: the trainer runs with ``use_distributed_sampler=False``
(``conf/trainer/default.yaml``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from torch.utils.data import Sampler


class SizedSampler(Protocol):
    """A sampler that knows its length before iterating (every epoch order of :mod:`almlit.data.samplers`)."""

    def __iter__(self) -> Iterator[int]: ...

    def __len__(self) -> int: ...


def process_rank(trainer: Any) -> tuple[int, int]:
    """``(global rank, world size)`` of a Lightning trainer's process; ``(0, 1)`` without one (or a stand-in)."""
    return getattr(trainer, "global_rank", 0), getattr(trainer, "world_size", 1)


def shard_bounds(size: int, rank: int, world_size: int) -> tuple[int, int]:
    """``[start, stop)`` of rank ``rank``'s contiguous share of ``size`` items split over ``world_size`` ranks.

    The shares differ by at most one item, the first ``size % world_size`` ranks holding the longer ones.

    Raises:
        ValueError: if ``world_size < 1`` or ``rank`` is not in ``0..world_size - 1``.
    """
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in 0..{world_size - 1} for world_size {world_size}, got {rank}")
    base, longer = divmod(size, world_size)
    start = rank * base + min(rank, longer)
    return start, start + base + (rank < longer)


class GlobalBatchShard(Sampler[int]):
    """This rank's share of every global batch of ``sampler``'s order, as one sequence of positions.

    Every global batch but the last is full, so every share but the last holds exactly ``batch_size`` positions: a
    ``DataLoader`` with ``batch_size`` cuts this sequence back into the shares, one per step. With one process it is
    ``sampler``'s order unchanged.

    Args:
        sampler: the global order of an epoch (e.g. an :class:`~almlit.data.samplers.EpochSampler`): a sampler with
            ``__len__`` and, optionally, ``set_epoch``.
        batch_size: samples per process; a global batch holds ``batch_size * world_size``.
        rank: this process's global rank.
        world_size: number of processes.

    Raises:
        ValueError: if ``batch_size < 1``, the rank does not fit the world size, or the last global batch has fewer
            samples than there are processes (some process would have no batch for the last step).
    """

    def __init__(self, sampler: SizedSampler, batch_size: int, rank: int = 0, world_size: int = 1) -> None:
        if batch_size < 1:
            raise ValueError(f"data.batch_size must be >= 1, got {batch_size}")
        shard_bounds(0, rank, world_size)
        global_batch_size = batch_size * world_size
        last_batch = len(sampler) % global_batch_size
        if 0 < last_batch < world_size:
            raise ValueError(
                f"the last global batch of an epoch ({len(sampler)} samples in batches of {world_size} x "
                f"{batch_size}) holds {last_batch} samples, fewer than the {world_size} processes; "
                "change data.batch_size or the number of devices"
            )
        self.sampler = sampler
        self.global_batch_size = global_batch_size
        self.rank = rank
        self.world_size = world_size

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch of the wrapped sampler (Lightning calls this at the start of every epoch)."""
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[int]:
        order = list(self.sampler)
        for begin in range(0, len(order), self.global_batch_size):
            batch = order[begin : begin + self.global_batch_size]
            start, stop = shard_bounds(len(batch), self.rank, self.world_size)
            yield from batch[start:stop]

    def __len__(self) -> int:
        full_batches, last_batch = divmod(len(self.sampler), self.global_batch_size)
        start, stop = shard_bounds(last_batch, self.rank, self.world_size)
        return full_batches * self.global_batch_size // self.world_size + stop - start


def rank_shard(sampler: SizedSampler, batch_size: int, trainer: Any) -> SizedSampler:
    """The training sampler of this process: ``sampler`` itself with one process, else its :class:`GlobalBatchShard`.

    Args:
        sampler: the global order of an epoch.
        batch_size: samples per process.
        trainer: the Lightning trainer the data module is attached to (``None``: one process).
    """
    rank, world_size = process_rank(trainer)
    return sampler if world_size == 1 else GlobalBatchShard(sampler, batch_size, rank, world_size)


class RankBlockSampler(Sampler[int]):
    """Positions ``[start, stop)`` of this rank's contiguous block of a dataset of ``num_samples``, in order.

    With one process this is the whole dataset in order (a sequential sampler).

    Args:
        num_samples: dataset size.
        rank: this process's global rank.
        world_size: number of processes.
    """

    def __init__(self, num_samples: int, rank: int = 0, world_size: int = 1) -> None:
        self.start, self.stop = shard_bounds(num_samples, rank, world_size)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.start, self.stop))

    def __len__(self) -> int:
        return self.stop - self.start
