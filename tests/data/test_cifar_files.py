import pickle

import numpy as np
import pytest
from torchvision import datasets

from almlit.data.cifar_files import cifar_files_present, download_cifar, load_cifar_split
from tests.fakes import fake_torchvision_cifar, write_fake_cifar

# variant -> (training files, test files, label key) of the real layout, written out independently of the code.
FILES = {
    "cifar10": ([f"data_batch_{number}" for number in range(1, 6)], ["test_batch"], b"labels"),
    "cifar100": (["train"], ["test"], b"fine_labels"),
}


@pytest.mark.parametrize("variant", ["cifar10", "cifar100"])
@pytest.mark.parametrize("train", [True, False])
def test_load_cifar_split_matches_the_raw_pickles(tmp_path, variant, train):
    folder = write_fake_cifar(tmp_path, variant, train_per_class=3, test_per_class=2)
    train_files, test_files, label_key = FILES[variant]
    raw = []
    for name in train_files if train else test_files:
        with (folder / name).open("rb") as file:
            raw.append(pickle.load(file, encoding="bytes"))
    images, labels = load_cifar_split(tmp_path, variant, train=train)
    assert images.dtype == np.uint8 and labels.dtype == np.int64
    assert images.shape == (sum(len(part[b"data"]) for part in raw), 3, 32, 32)
    assert np.array_equal(images.reshape(len(images), -1), np.concatenate([part[b"data"] for part in raw]))
    assert labels.tolist() == [label for part in raw for label in part[label_key]]


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        (
            "cifar10",
            r"CIFAR10 not found under {root}: expected {root}/cifar-10-batches-py/\{{data_batch_1..5,test_batch\}}",
        ),
        ("cifar100", r"CIFAR100 not found under {root}: expected {root}/cifar-100-python/\{{train,test\}}"),
    ],
)
def test_missing_files_name_the_layout(tmp_path, variant, message):
    with pytest.raises(FileNotFoundError, match=message.format(root=tmp_path) + r".*set data.download=true"):
        load_cifar_split(tmp_path, variant, train=True)


def write_pickle(path, content):
    with path.open("wb") as file:
        pickle.dump(content, file)


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda path: path.write_bytes(b"\x00garbage bytes, not a pickle"), "UnpicklingError"),
        (lambda path: write_pickle(path, [1, 2]), "it holds a list, not a dict"),
        (lambda path: write_pickle(path, {b"data": np.zeros((2, 3072), np.uint8)}), r"key 'labels' \(str or bytes\) is missing; it has \['data'\]"),
        (
            lambda path: write_pickle(path, {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}),
            r"'data' is uint8 of shape \(2, 100\), expected uint8 \[N, 3072\]",
        ),
        (
            lambda path: write_pickle(path, {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}),
            r"'labels' has shape \(1,\), expected \(2,\)",
        ),
        (
            lambda path: write_pickle(path, {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}),
            r"'labels' holds values outside 0..9",
        ),
    ],
)
def test_a_file_that_is_not_cifar_is_rejected(tmp_path, spoil, reason):
    folder = write_fake_cifar(tmp_path, "cifar10", train_per_class=1, test_per_class=1)
    spoil(folder / "data_batch_3")
    with pytest.raises(ValueError, match=rf"{folder / 'data_batch_3'} is not a CIFAR python-pickle file: {reason}"):
        load_cifar_split(tmp_path, "cifar10", train=True)


def test_unknown_variant_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"variant must be one of \['cifar10', 'cifar100'\], got 'cifar20'"):
        load_cifar_split(tmp_path, "cifar20", train=True)


@pytest.mark.parametrize(("variant", "class_name"), [("cifar10", "CIFAR10"), ("cifar100", "CIFAR100")])
def test_download_fetches_both_splits_with_torchvision(tmp_path, monkeypatch, variant, class_name):
    recorder = fake_torchvision_cifar(variant)
    monkeypatch.setattr(datasets, class_name, recorder)
    assert not cifar_files_present(tmp_path, variant)
    download_cifar(tmp_path, variant)
    assert recorder.calls == [(str(tmp_path), True, True), (str(tmp_path), False, True)]
    assert cifar_files_present(tmp_path, variant)
