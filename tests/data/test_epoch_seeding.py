"""Epoch-seeded randomness: the same (seed, epoch) gives the same draws whatever ran before."""

import torch

from almlit.data.epoch_seeding import EpochShuffleSampler, epoch_seed


def test_permutation_depends_only_on_seed_and_epoch():
    sampler = EpochShuffleSampler(50, seed=3)
    sampler.set_epoch(4)
    first = list(sampler)
    torch.rand(1000)  # global RNG use in between must not matter
    other = EpochShuffleSampler(50, seed=3)
    other.set_epoch(4)
    assert list(other) == first
    assert sorted(first) == list(range(50))
    other.set_epoch(5)
    assert list(other) != first
    assert len(other) == 50


def test_streams_and_seeds_differ():
    seeds = {epoch_seed(seed, epoch, stream) for seed in range(3) for epoch in range(3) for stream in range(2)}
    assert len(seeds) == 18
    assert all(0 <= value < 2**63 for value in seeds)
