import pytest
import torch
import torch.nn.functional as F

from almlit.data.transforms import BatchAugment, random_crop_flip

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"))]


def crop_flip_one_by_one(images, offsets_y, offsets_x, flip, padding):
    crops = []
    for image, top, left, mirror in zip(images, offsets_y.tolist(), offsets_x.tolist(), flip.tolist(), strict=True):
        crop = F.pad(image, (padding, padding, padding, padding))[
            :, top : top + image.shape[1], left : left + image.shape[2]
        ]
        crops.append(torch.flip(crop, dims=[2]) if mirror else crop)
    return torch.stack(crops)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    ("shape", "padding"), [((6, 3, 5, 7), 2), ((5, 1, 8, 8), 1), ((4, 2, 4, 3), 0), ((3, 3, 4, 4), 4)]
)
def test_random_crop_flip_matches_a_per_sample_loop(shape, padding, device):
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(1, 256, shape, dtype=torch.uint8, generator=generator)
    offsets_y, offsets_x = torch.randint(0, 2 * padding + 1, (2, shape[0]), generator=generator)
    flip = torch.arange(shape[0]) % 2 == 0
    expected = crop_flip_one_by_one(images, offsets_y, offsets_x, flip, padding)
    inputs = [tensor.to(device) for tensor in (images, offsets_y, offsets_x, flip)]
    cropped = random_crop_flip(*inputs, padding)
    assert cropped.dtype == torch.uint8
    assert torch.equal(cropped.cpu(), expected)


def position_coded_images(num_images, size):
    """Channel 0 holds row + 1 and channel 1 holds column + 1, so zero marks padding."""
    rows = torch.arange(1, size + 1, dtype=torch.uint8)[:, None].expand(size, size)
    return torch.stack([rows, rows.T])[None].expand(num_images, 2, size, size).contiguous()


# mean 0 and std 1/255 make normalisation the identity on uint8 values.
IDENTITY_NORMALISATION = {"mean": (0.0, 0.0), "std": (1 / 255, 1 / 255)}


def recover_offsets_and_flip(augmented, size, padding):
    """Read back each sample's crop offsets and flip from its centre pixels (always inside the image)."""
    centre = size // 2
    source_row = augmented[:, 0, centre, centre].round().long() - 1
    source_column = augmented[:, 1, centre, centre].round().long() - 1
    flip = augmented[:, 1, centre, centre + 1] < augmented[:, 1, centre, centre]
    offsets_y = source_row - centre + padding
    offsets_x = source_column - torch.where(flip, size - 1 - centre, centre) + padding
    return offsets_y, offsets_x, flip


@pytest.mark.parametrize("padding", [1, 2])
def test_batch_augment_draws_offsets_uniformly_and_flips_half(padding):
    num_images, size = 4000, 8
    augment = BatchAugment(**IDENTITY_NORMALISATION, crop_padding=padding, hflip=True)
    augmented = augment(position_coded_images(num_images, size), train=True, generator=torch.Generator().manual_seed(0))
    offsets_y, offsets_x, flip = recover_offsets_and_flip(augmented, size, padding)
    expected_count = num_images / (2 * padding + 1)
    for offsets in (offsets_y, offsets_x):
        assert offsets.unique().tolist() == list(range(2 * padding + 1))
        assert (torch.bincount(offsets) - expected_count).abs().max() < 0.15 * expected_count
    assert abs(flip.float().mean().item() - 0.5) < 0.03
    assert torch.equal(
        augmented.byte(),
        crop_flip_one_by_one(position_coded_images(num_images, size), offsets_y, offsets_x, flip, padding),
    )


def test_batch_augment_without_hflip_never_mirrors():
    augment = BatchAugment(**IDENTITY_NORMALISATION, crop_padding=1, hflip=False)
    augmented = augment(position_coded_images(500, 8), train=True, generator=torch.Generator().manual_seed(0))
    assert not recover_offsets_and_flip(augmented, 8, 1)[2].any()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("train", [False, True])
def test_batch_augment_normalises_by_hand(train, device):
    mean, std = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
    images = torch.randint(0, 256, (5, 3, 6, 6), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    augment = BatchAugment(mean, std, crop_padding=0, hflip=False).to(device)
    normalised = augment(images.to(device), train=train)
    assert normalised.dtype == torch.float32 and normalised.device.type == device
    expected = torch.empty(images.shape)
    for channel in range(3):
        expected[:, channel] = (images[:, channel].float() / 255 - mean[channel]) / std[channel]
    torch.testing.assert_close(normalised.cpu(), expected)
