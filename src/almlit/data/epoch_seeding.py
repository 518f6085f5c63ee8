"""Randomness that depends only on (seed, epoch), so a run resumed at an epoch boundary replays it exactly.

A global RNG carries state from every earlier draw; after a resume it is not where an uninterrupted run
had it. Deriving each epoch's batch order and augmentation from ``(seed, epoch)`` removes that history. The
training samplers that use these generators are in :mod:`almlit.data.samplers`.
"""

from __future__ import annotations

import numpy as np
import torch

SHUFFLE_STREAM = 0
AUGMENT_STREAM = 1


def epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """A well-mixed 63-bit seed for one (seed, epoch, stream) triple."""
    return int(np.random.SeedSequence([seed, epoch, stream]).generate_state(1, dtype=np.uint64)[0] >> 1)


def epoch_generator(seed: int, epoch: int, stream: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A fresh generator on ``device`` seeded for ``(seed, epoch, stream)``."""
    return torch.Generator(device=device).manual_seed(epoch_seed(seed, epoch, stream))
