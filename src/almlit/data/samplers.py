"""Training samplers chosen with ``sampler=``: the global order of one epoch, drawn from ``(seed, epoch)`` only.

Every sampler yields positions into the training dataset; the dataset maps them to sample ids, so the multiplier
bank (one lambda per sample id) is indexed correctly whatever the order, and a sample drawn twice into one batch
simply adds both of its increments (``MultiplierBank.update_`` accumulates repeated ids). Each epoch's order is a pure
function of ``(seed, epoch)`` (see :mod:`almlit.data.epoch_seeding`), so a run resumed at an epoch boundary replays it
exactly, and its length is known before it is drawn. The order is global: consecutive runs of ``batch_size``
positions form the batches (the last one may be shorter); a distributed wrapper may split those batches across
processes, the samplers know nothing of ranks.

- ``shuffle`` (:class:`EpochShuffleSampler`): a permutation of the training set.
- ``dual`` (:class:`DualSampler`, after LibAUC's DualSampler): every batch holds ``round(positive_rate * B)``
  positives (samples of the critical classes); every negative appears once per epoch, the positives are recycled.
- ``class_balanced`` (:class:`ClassBalancedSampler`): each position's class is drawn uniformly among the classes
  present, i.e. a sample of class c is drawn with weight 1 / n_c.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from numbers import Real

import torch
from torch import Tensor
from torch.utils.data import Sampler

from almlit.data.epoch_seeding import SHUFFLE_STREAM, epoch_generator
from almlit.data.imbalance import ceil_significant


def check_labels(labels: Tensor) -> Tensor:
    """The training labels as a CPU int64 tensor of class ids >= 0.

    Raises:
        TypeError: if ``labels`` is not an integer tensor.
        ValueError: if it is not 1-D, is empty or holds a negative class id.
    """
    if (
        not isinstance(labels, Tensor)
        or labels.is_floating_point()
        or labels.is_complex()
        or labels.dtype == torch.bool
    ):
        found = labels.dtype if isinstance(labels, Tensor) else type(labels).__name__
        raise TypeError(f"sampler labels must be an integer tensor of class ids, got {found}")
    if labels.dim() != 1 or labels.numel() == 0:
        raise ValueError(f"sampler labels must be a non-empty 1-D tensor, got shape {tuple(labels.shape)}")
    labels = labels.detach().cpu().long()
    if int(labels.min()) < 0:
        raise ValueError(f"sampler labels must be class ids >= 0, got {int(labels.min())}")
    return labels


def recycled(indices: Tensor, length: int, generator: torch.Generator) -> Tensor:
    """``length`` entries of ``indices``: fresh random permutations of them, concatenated and cut to ``length``.

    No entry repeats before every entry has appeared, so the counts of any two entries differ by at most one.
    """
    cycles = math.ceil(length / len(indices))
    permutations = [indices[torch.randperm(len(indices), generator=generator)] for _ in range(cycles)]
    return torch.cat(permutations)[:length] if permutations else indices[:0]


class EpochSampler(Sampler[int], ABC):
    """An order of the training set that depends only on ``(seed, epoch)``.

    Lightning calls ``set_epoch`` at the start of every epoch, including the first one after a resume.

    Args:
        labels: class id of every training sample, in dataset order.
        seed: seed of the order; each epoch draws from ``(seed, epoch)``.
        batch_size: number of consecutive positions forming one (global) batch.
        critical_classes: the critical class ids (binary data: ``(1,)``).
    """

    def __init__(self, labels: Tensor, seed: int, batch_size: int = 1, critical_classes: Sequence[int] = (1,)) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.labels = check_labels(labels)
        self.seed = seed
        self.batch_size = batch_size
        self.critical_classes = tuple(int(class_id) for class_id in critical_classes)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        order = self.epoch_order(epoch_generator(self.seed, self.epoch, SHUFFLE_STREAM))
        return iter(order.tolist())

    @abstractmethod
    def epoch_order(self, generator: torch.Generator) -> Tensor:
        """Dataset positions of one epoch, int64 ``[len(self)]``, drawn only from ``generator``."""

    @abstractmethod
    def __len__(self) -> int:
        """Positions per epoch, known without drawing them."""


class EpochShuffleSampler(EpochSampler):
    """A random permutation of the training set, a new one every epoch."""

    def epoch_order(self, generator: torch.Generator) -> Tensor:
        return torch.randperm(len(self.labels), generator=generator)

    def __len__(self) -> int:
        return len(self.labels)


class DualSampler(EpochSampler):
    """Batches with a fixed number of positives (samples of the critical classes), the rest negatives.

    A batch of B positions holds ``p = round(positive_rate * B)`` positives (Python's round, half to even) and
    ``B - p`` negatives, in random positions. An epoch has ``K = max(ceil(n_neg / (B - p)), ceil(n_pos / p))``
    batches. In the usual case (the data hold fewer positives than the rate), the K-th term is the negatives': every
    negative appears exactly once, the last batch holds the negatives left over, and positives fill p positions of
    every batch by recycling (each appears at least once, no two positives' counts differ by more than one). When the
    positives need more batches it is the other way round: each positive appears once, negatives are recycled and
    the last batch holds the positives left over.

    Args:
        labels: class id of every training sample.
        seed: seed of the order.
        batch_size: B.
        critical_classes: the positive classes; every other class is negative.
        positive_rate: share of positives per batch, in (0, 1).

    Raises:
        ValueError: for a rate outside (0, 1), one that gives a batch no positive or no negative, or labels without
            a positive or without a negative.
    """

    def __init__(
        self,
        labels: Tensor,
        seed: int,
        batch_size: int = 1,
        critical_classes: Sequence[int] = (1,),
        positive_rate: float = 0.5,
    ) -> None:
        super().__init__(labels, seed, batch_size, critical_classes)
        if isinstance(positive_rate, bool) or not isinstance(positive_rate, Real) or not 0 < positive_rate < 1:
            raise ValueError(f"sampler.positive_rate must be in (0, 1), got {positive_rate}")
        self.positives_per_batch = round(positive_rate * batch_size)
        if not 0 < self.positives_per_batch < batch_size:
            which = "positive" if self.positives_per_batch == 0 else "negative"
            # a rate in [1/B, 1 - 1/B] gives 1..B-1 positives; there is none when B = 1
            advice = (
                f"use a rate in [{ceil_significant(1 / batch_size):.10g}, {1 - ceil_significant(1 / batch_size):.10g}]"
                " or a larger data.batch_size"
                if batch_size >= 2
                else "use data.batch_size >= 2 (a batch of 1 cannot hold both a positive and a negative)"
            )
            raise ValueError(
                f"sampler.positive_rate={positive_rate} leaves no {which} in a batch of {batch_size} "
                f"(round({positive_rate} * {batch_size}) = {self.positives_per_batch}); {advice}"
            )
        is_positive = torch.isin(self.labels, torch.tensor(self.critical_classes, dtype=torch.long))
        self.positives = torch.nonzero(is_positive).flatten()
        self.negatives = torch.nonzero(~is_positive).flatten()
        for name, group in (("positive (critical classes)", self.positives), ("negative", self.negatives)):
            if len(group) == 0:
                raise ValueError(
                    f"sampler=dual needs at least one {name} training sample, got none among {len(self.labels)} "
                    f"samples (critical classes {list(self.critical_classes)}, labels {self.labels.unique().tolist()})"
                )
        self.positive_rate = positive_rate
        quotas = (self.positives_per_batch, batch_size - self.positives_per_batch)
        self.num_batches: int = max(
            math.ceil(len(self.positives) / quotas[0]), math.ceil(len(self.negatives) / quotas[1])
        )
        # The group that needs all K batches to appear once is used exactly once; the other one is recycled.
        negatives_drive = math.ceil(len(self.negatives) / quotas[1]) == self.num_batches
        self._groups: tuple[Tensor, Tensor] = (
            (self.negatives, self.positives) if negatives_drive else (self.positives, self.negatives)
        )
        self._quotas: tuple[int, int] = (quotas[1], quotas[0]) if negatives_drive else quotas

    def epoch_order(self, generator: torch.Generator) -> Tensor:
        (once, recycled_group), (once_quota, recycled_quota) = self._groups, self._quotas
        padding = self.num_batches * once_quota - len(once)  # empty positions of the last batch, marked -1
        once_part = torch.cat([once[torch.randperm(len(once), generator=generator)], once.new_full((padding,), -1)])
        recycled_part = recycled(recycled_group, self.num_batches * recycled_quota, generator)
        batches = torch.cat(
            [once_part.view(self.num_batches, once_quota), recycled_part.view(self.num_batches, recycled_quota)], dim=1
        )
        within = torch.argsort(torch.rand(batches.shape, generator=generator), dim=1)  # positives at random places
        order = batches.gather(1, within).flatten()
        return order[order >= 0]

    def __len__(self) -> int:
        return self.num_batches * self._quotas[1] + len(self._groups[0])


class ClassBalancedSampler(EpochSampler):
    """Every position's class drawn uniformly among the classes present: sample weight 1 / n_c.

    The class of each position is drawn independently with probability 1 / (classes present); within a class the
    samples come in a fresh random order, recycled when the class runs out, so a sample is drawn with probability
    1 / (C n_c) per position while no sample of a class repeats before all of them have appeared.

    Args:
        labels: class id of every training sample.
        seed: seed of the order.
        batch_size: B (the order does not depend on it).
        critical_classes: the critical classes (every class is balanced alike).
        num_samples: positions per epoch; ``None`` means the size of the training set.

    Raises:
        ValueError: if ``num_samples`` is given and < 1.
    """

    def __init__(
        self,
        labels: Tensor,
        seed: int,
        batch_size: int = 1,
        critical_classes: Sequence[int] = (1,),
        num_samples: int | None = None,
    ) -> None:
        super().__init__(labels, seed, batch_size, critical_classes)
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples < 1):
            raise ValueError(f"sampler.num_samples must be >= 1 or null (the training set size), got {num_samples}")
        self.num_samples = len(self.labels) if num_samples is None else int(num_samples)
        self.classes = self.labels.unique()

    def epoch_order(self, generator: torch.Generator) -> Tensor:
        drawn = self.classes[torch.randint(len(self.classes), (self.num_samples,), generator=generator)]
        order = torch.empty(self.num_samples, dtype=torch.long)
        for class_id in self.classes:
            slots = drawn == class_id
            members = torch.nonzero(self.labels == class_id).flatten()
            order[slots] = recycled(members, int(slots.sum()), generator)
        return order

    def __len__(self) -> int:
        return self.num_samples
