"""Decoding image files with torchvision.io: bits, channels, sizes, bad files, the cache and the statistics."""

import numpy as np
import pytest
import torch
from PIL import Image

import almlit.data.images.decode as decode
from almlit.data.images.decode import DecodeSettings, channel_statistics, decode_one, load_images
from tests.helpers.image_folders import digit_images, photo_crops, write_digit_folder, write_jpeg_file


def test_8_bit_gray_png_decodes_to_the_written_digits(tmp_path):
    files = write_digit_folder(tmp_path, {"d": 5}, {"d": 4})
    images, targets = digit_images()
    loaded = load_images(files, DecodeSettings(channels=1))
    assert loaded.dtype == np.uint8 and loaded.shape == (5, 1, 8, 8)
    np.testing.assert_array_equal(loaded[:, 0], images[np.flatnonzero(targets == 4)[:5]])
    rgb = load_images(files, DecodeSettings(channels=3))  # gray -> RGB repeats the channel
    np.testing.assert_array_equal(rgb, np.repeat(loaded, 3, axis=1))


def test_rgb_jpeg_matches_an_independent_decoder(tmp_path):
    path = write_jpeg_file(tmp_path / "photo.jpg", photo_crops(1, (40, 50))[0])
    reference = np.asarray(Image.open(path).convert("RGB")).transpose(2, 0, 1).astype(int)
    decoded = decode_one(path, DecodeSettings(channels=3)).numpy().astype(int)
    assert decoded.shape == (3, 40, 50)
    assert np.abs(decoded - reference).max() <= 2  # libjpeg builds may round the colour transform differently
    gray = decode_one(path, DecodeSettings(channels=1)).numpy()[0].astype(int)
    luma = np.asarray(Image.open(path).convert("L")).astype(int)  # ITU-R 601-2: 0.299 R + 0.587 G + 0.114 B
    assert np.abs(gray - luma).max() <= 2


@pytest.mark.parametrize(("intensity_max", "divisor"), [(None, 65535), (4095, 4095)])
def test_16_bit_png_is_scaled_to_8_bits(tmp_path, intensity_max, divisor):
    values = (np.arange(48).reshape(6, 8) * 85).astype(np.uint16)  # 0..3995: a 12-bit range
    Image.fromarray(values).save(tmp_path / "xray.png")
    decoded = decode_one(tmp_path / "xray.png", DecodeSettings(channels=1, intensity_max=intensity_max))
    expected = np.clip(np.round(values.astype(np.float64) * 255 / divisor), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(decoded.numpy()[0], expected)


def test_resize_is_antialiased_bilinear(tmp_path):
    crop = photo_crops(1, (64, 96))[0]
    path = tmp_path / "photo.png"
    Image.fromarray(crop).save(path)
    decoded = decode_one(path, DecodeSettings(channels=3, shape=(16, 24)))
    source = torch.from_numpy(crop).permute(2, 0, 1)[None].float()
    reference = torch.nn.functional.interpolate(source, size=(16, 24), mode="bilinear", antialias=True)
    np.testing.assert_array_equal(decoded.numpy(), reference[0].round().clamp(0, 255).to(torch.uint8).numpy())


def test_bad_files_are_named(tmp_path):
    files = write_digit_folder(tmp_path, {"d": 1}, {"d": 4})
    files[0].write_bytes(files[0].read_bytes()[:40])
    corrupted = "Out of bound read in decode_png. Probably, the input image is corrupted"
    with pytest.raises(ValueError, match=rf"^image .*d/\d+.png cannot be decoded: {corrupted}$"):
        decode_one(files[0], DecodeSettings(channels=1))
    (tmp_path / "text.png").write_text("not an image at all")
    with pytest.raises(ValueError, match=r"text.png cannot be decoded: Unsupported image file"):
        decode_one(tmp_path / "text.png", DecodeSettings(channels=1))


def test_mixed_sizes_need_a_shape(tmp_path):
    crops = [write_jpeg_file(tmp_path / f"{index}.jpg", crop) for index, crop in enumerate(photo_crops(2, (20, 30)))]
    crops.append(write_jpeg_file(tmp_path / "big.jpg", photo_crops(1, (24, 30))[0]))
    with pytest.raises(ValueError, match=r"0.jpg is 20x30, .*big.jpg is 24x30 \(HxW\); set data.shape=\[H,W\]"):
        load_images(crops, DecodeSettings())
    assert load_images(crops, DecodeSettings(shape=(12, 10))).shape == (3, 3, 12, 10)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="data.channels must be 1 .grayscale. or 3 .RGB., got 4"):
        DecodeSettings(channels=4)
    with pytest.raises(ValueError, match=r"data.shape must be null or two positive ints \[H, W\], got \[224\]"):
        DecodeSettings(shape=(224,))
    with pytest.raises(ValueError, match="data.intensity_max must be null or in 1..65535, got 0"):
        DecodeSettings(intensity_max=0)


def test_a_second_load_comes_from_the_cache(tmp_path, monkeypatch):
    files = write_digit_folder(tmp_path / "images", {"d": 6}, {"d": 4})
    settings = DecodeSettings(channels=1, shape=(16, 16))
    first = load_images(files, settings, tmp_path / "cache")

    def no_decoding(path, settings):
        raise AssertionError(f"{path} was decoded again")

    monkeypatch.setattr(decode, "decode_one", no_decoding)
    np.testing.assert_array_equal(load_images(files, settings, tmp_path / "cache"), first)
    with pytest.raises(AssertionError, match="decoded again"):  # other settings: another key
        load_images(files, DecodeSettings(channels=1, shape=(12, 12)), tmp_path / "cache")


def test_channel_statistics_match_numpy():
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (10, 3, 5, 7), dtype=np.uint8))
    mean, std = channel_statistics(images, chunk=3)
    scaled = images.numpy() / 255
    np.testing.assert_allclose(mean, scaled.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(std, scaled.std(axis=(0, 2, 3)), rtol=1e-9)
    constant = channel_statistics(torch.full((2, 1, 3, 3), 7, dtype=torch.uint8))
    assert constant == ((7 / 255,), (1.0,))
