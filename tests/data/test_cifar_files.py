import os
import pickle
import re

import numpy as np
import pytest
from torchvision import datasets

from almlit.benchmark.synthetic import write_random_cifar
from almlit.data.cifar_files import cifar_files_present, download_cifar, load_cifar_split
from tests.helpers.cifar_files import fake_torchvision_cifar, rewrite_cifar_file, with_str_keys
from tests.helpers.pickles import RunsCode

# variant -> (training files, test files, label key) of the real layout, written out independently of the code.
FILES = {
    "cifar10": ([f"data_batch_{number}" for number in range(1, 6)], ["test_batch"], b"labels"),
    "cifar100": (["train"], ["test"], b"fine_labels"),
}


@pytest.mark.parametrize("variant", ["cifar10", "cifar100"])
@pytest.mark.parametrize("train", [True, False])
def test_load_cifar_split_matches_the_raw_pickles(tmp_path, variant, train):
    folder = write_random_cifar(tmp_path, variant, train_per_class=3, test_per_class=2)
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
        (
            lambda path: write_pickle(path, {b"data": np.zeros((2, 3072), np.uint8)}),
            r"key 'labels' \(str or bytes\) is missing; it has \['data'\]",
        ),
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
    folder = write_random_cifar(tmp_path, "cifar10", train_per_class=1, test_per_class=1)
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


# --- files written by Python 3 (str keys) and files that would run code -----------------------------------------


@pytest.mark.parametrize("variant", ["cifar10", "cifar100"])
def test_python3_files_with_str_keys_read_like_the_original_ones(tmp_path, variant):
    original = write_random_cifar(tmp_path / "bytes", variant, train_per_class=3, test_per_class=2)
    python3 = write_random_cifar(tmp_path / "str", variant, train_per_class=3, test_per_class=2)
    for path in python3.iterdir():
        rewrite_cifar_file(path, with_str_keys)
    assert b"data" not in pickle.loads((python3 / FILES[variant][1][0]).read_bytes())
    for train in (True, False):
        expected = load_cifar_split(tmp_path / "bytes", variant, train=train)
        images, labels = load_cifar_split(tmp_path / "str", variant, train=train)
        assert np.array_equal(images, expected[0]) and np.array_equal(labels, expected[1])
    assert original.name == python3.name


def python2_style(content: dict) -> bytes:
    """Protocol 2 with numpy 1's module names, as the original files (written by Python 2 and numpy 1) hold them."""
    return pickle.dumps(content, protocol=2).replace(b"numpy._core.", b"numpy.core.")


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_arrays_of_any_pickle_protocol_and_numpy_version_are_read(tmp_path, protocol):
    folder = write_random_cifar(tmp_path, "cifar10", train_per_class=1, test_per_class=2)
    images = np.arange(20 * 3072, dtype=np.int64).reshape(20, 3072).astype(np.uint8)
    labels = [label % 10 for label in range(20)]
    content = {"data": images, "labels": np.array(labels)}
    raw = python2_style(content) if protocol == 2 else pickle.dumps(content, protocol=protocol)
    (folder / "test_batch").write_bytes(raw)
    read_images, read_labels = load_cifar_split(tmp_path, "cifar10", train=False)
    assert np.array_equal(read_images.reshape(20, -1), images) and read_labels.tolist() == labels


@pytest.mark.parametrize("where", ["the whole file", "a value", "the labels"])
def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path, where):
    folder = write_random_cifar(tmp_path, "cifar10", train_per_class=1, test_per_class=1)
    marker = tmp_path / "marker"
    evil = RunsCode(f"touch {marker}")
    content = {
        "the whole file": evil,
        "a value": {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0], b"batch_label": evil},
        "the labels": {b"data": np.zeros((1, 3072), np.uint8), b"labels": evil},
    }[where]
    write_pickle(folder / "data_batch_1", content)
    message = (
        f"{folder / 'data_batch_1'} is not a CIFAR python-pickle file: UnpicklingError: it names"
        f" {os.system.__module__}.system, which is refused (a CIFAR file holds only dicts, lists and numpy arrays;"
        " reading it could run code)"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        load_cifar_split(tmp_path, "cifar10", train=True)
    assert not marker.exists()
