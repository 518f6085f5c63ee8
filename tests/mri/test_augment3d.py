"""3D batch augmentation against a per-sample numpy reference; seeded, and the identity at evaluation."""

import numpy as np
import pytest
import torch

from almlit.data.mri.augment3d import VolumeAugment, shift_flip


def reference_shift_flip(volume, shift, flip, max_shift):
    """One sample: move the content by ``shift`` voxels (zeros entering), then mirror the chosen axes."""
    padded = np.pad(volume, [(0, 0)] + [(pad, pad) for pad in max_shift])
    starts = [pad - move for pad, move in zip(max_shift, shift, strict=True)]
    sizes = volume.shape[1:]
    moved = padded[
        :, starts[0] : starts[0] + sizes[0], starts[1] : starts[1] + sizes[1], starts[2] : starts[2] + sizes[2]
    ]
    for axis in range(3):
        if flip[axis]:
            moved = np.flip(moved, axis=axis + 1)
    return moved


def test_shift_flip_matches_the_per_sample_reference():
    generator = torch.Generator().manual_seed(0)
    volumes = torch.randn(6, 2, 4, 5, 7, generator=generator)
    max_shift = (1, 2, 3)
    limits = torch.tensor(max_shift)
    shifts = torch.floor(torch.rand(6, 3, generator=generator) * (2 * limits + 1)).long() - limits
    flips = torch.rand(6, 3, generator=generator) < 0.5
    out = shift_flip(volumes, shifts, flips, max_shift)
    for sample in range(6):
        expected = reference_shift_flip(
            volumes[sample].numpy(), shifts[sample].tolist(), flips[sample].tolist(), max_shift
        )
        np.testing.assert_array_equal(out[sample].numpy(), expected)


def test_a_shift_moves_the_content():
    volumes = torch.zeros(1, 1, 3, 3, 3)
    volumes[0, 0, 1, 1, 1] = 1.0
    out = shift_flip(volumes, torch.tensor([[1, -1, 0]]), torch.zeros(1, 3, dtype=torch.bool), (1, 1, 1))
    assert out[0, 0, 2, 0, 1] == 1.0 and out.sum() == 1.0


def test_evaluation_is_the_identity():
    volumes = torch.randn(3, 2, 4, 4, 4)
    assert VolumeAugment()(volumes, train=False) is volumes


def test_training_draws_are_seeded_and_channels_move_together():
    volumes = torch.arange(4 * 6 * 6, dtype=torch.float32).reshape(1, 1, 4, 6, 6).repeat(8, 2, 1, 1, 1)
    augment = VolumeAugment(flip_axes=(0, 1, 2), max_shift=(1, 2, 2), intensity_scale=0.0, intensity_shift=0.0)
    first = augment(volumes, train=True, generator=torch.Generator().manual_seed(4))
    again = augment(volumes, train=True, generator=torch.Generator().manual_seed(4))
    other = augment(volumes, train=True, generator=torch.Generator().manual_seed(5))
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert torch.equal(first[:, 0], first[:, 1])
    assert len({tuple(sample.flatten().tolist()) for sample in first[:, 0]}) > 1


def test_only_the_enabled_axis_is_flipped():
    volumes = torch.randn(16, 1, 3, 4, 5)
    augment = VolumeAugment(flip_axes=(2,), max_shift=(0, 0, 0), intensity_scale=0.0, intensity_shift=0.0)
    out = augment(volumes, train=True, generator=torch.Generator().manual_seed(0))
    flipped = [torch.equal(out[n], volumes[n].flip(-1)) for n in range(16)]
    kept = [torch.equal(out[n], volumes[n]) for n in range(16)]
    assert all(a or b for a, b in zip(flipped, kept, strict=True)) and any(flipped) and any(kept)


def test_intensity_jitter_is_an_affine_map_per_channel_within_bounds():
    volumes = torch.randn(5, 3, 2, 3, 4)
    augment = VolumeAugment(flip_axes=(), max_shift=(0, 0, 0), intensity_scale=0.2, intensity_shift=0.3)
    out = augment(volumes, train=True, generator=torch.Generator().manual_seed(1))
    for sample in range(5):
        for channel in range(3):
            x, y = volumes[sample, channel].flatten(), out[sample, channel].flatten()
            scale, offset = np.polyfit(x.numpy(), y.numpy(), 1)
            assert 0.8 - 1e-5 <= scale <= 1.2 + 1e-5 and abs(offset) <= 0.3 + 1e-5
            torch.testing.assert_close(y, x * float(scale) + float(offset), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"flip_axes": (0, 5)}, r"data.flip_axes must hold axes 0 \(D\), 1 \(H\), 2 \(W\), got \[0, 5\]"),
        ({"max_shift": (1, 2)}, r"data.max_shift must be three ints >= 0 \[D, H, W\], got \[1, 2\]"),
        ({"intensity_shift": -1.0}, r"data.intensity_shift must be >= 0, got -1.0"),
    ],
)
def test_bad_arguments_are_named(arguments, message):
    with pytest.raises(ValueError, match=message):
        VolumeAugment(**arguments)
