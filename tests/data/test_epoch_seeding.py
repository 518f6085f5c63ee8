"""Epoch-seeded randomness: every (seed, epoch, stream) gets its own seed (the samplers: test_samplers.py)."""

from almlit.data.epoch_seeding import epoch_seed


def test_streams_and_seeds_differ():
    seeds = {epoch_seed(seed, epoch, stream) for seed in range(3) for epoch in range(3) for stream in range(2)}
    assert len(seeds) == 18
    assert all(0 <= value < 2**63 for value in seeds)
