"""Randomness that depends only on (seed, epoch), so a run resumed at an epoch boundary replays it exactly.

A global RNG carries state from every earlier draw; after a resume it is not where an uninterrupted run
had it. Deriving each epoch's batch order and augmentation from ``(seed, epoch)`` removes that history.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler

SHUFFLE_STREAM = 0
AUGMENT_STREAM = 1


def epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """A well-mixed 63-bit seed for one (seed, epoch, stream) triple."""
    return int(np.random.SeedSequence([seed, epoch, stream]).generate_state(1, dtype=np.uint64)[0] >> 1)


def epoch_generator(seed: int, epoch: int, stream: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A fresh generator on ``device`` seeded for ``(seed, epoch, stream)``."""
    return torch.Generator(device=device).manual_seed(epoch_seed(seed, epoch, stream))


class EpochShuffleSampler(Sampler[int]):
    """Shuffles ``range(num_samples)`` with a permutation fixed by ``(seed, epoch)``.

    Lightning calls ``set_epoch`` at the start of every epoch, including the first one after a resume.
    """

    def __init__(self, num_samples: int, seed: int) -> None:
        self.num_samples = num_samples
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = epoch_generator(self.seed, self.epoch, SHUFFLE_STREAM)
        return iter(torch.randperm(self.num_samples, generator=generator).tolist())

    def __len__(self) -> int:
        return self.num_samples
