from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torchvision import datasets

from almlit.benchmark.synthetic import write_random_cifar
from almlit.data import BinaryCIFAR
from almlit.data.cifar_files import load_cifar_split
from tests.helpers.cifar_files import fake_torchvision_cifar

TRAIN_PER_CLASS, TEST_PER_CLASS, VAL_PER_CLASS = 60, 10, 5
NUM_SOURCE_TRAIN = {"cifar10": 10 * TRAIN_PER_CLASS, "cifar100": 100 * TRAIN_PER_CLASS}
# The settings of conf/data/{cifar10,cifar100}.yaml, on fake files of 60 training images per class.
SETTINGS = {
    "cifar10": {"negative_classes": [1], "positive_classes": [9], "majority_fraction": 1.0},
    "cifar100": {"negative_classes": [72, 4, 95, 30, 55], "positive_classes": [73], "majority_fraction": 0.9},
}


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    for variant in SETTINGS:
        write_random_cifar(root, variant, TRAIN_PER_CLASS, TEST_PER_CLASS)
    return root


def make_datamodule(root, variant="cifar100", imbalance_ratio=10, split_seed=0, **overrides):
    arguments = {
        "root": root,
        "variant": variant,
        "imbalance_ratio": imbalance_ratio,
        "val_per_class": VAL_PER_CLASS,
        "split_seed": split_seed,
        "batch_size": 16,
        **SETTINGS[variant],
        **overrides,
    }
    datamodule = BinaryCIFAR(**arguments)
    datamodule.setup()
    return datamodule


# By hand: 60 - 5 = 55 images per class remain after validation. CIFAR100 keeps floor(0.9 * 55) = 49 of each of
# 5 negative classes (245); CIFAR10 keeps all 55 of its one negative class.
@pytest.mark.parametrize(
    ("variant", "imbalance_ratio", "expected_counts"),
    [("cifar100", 10, (245, 24)), ("cifar100", 100, (245, 2)), ("cifar10", 10, (55, 5)), ("cifar10", 1, (55, 55))],
)
def test_class_counts_follow_the_ratio(fake_root, variant, imbalance_ratio, expected_counts):
    datamodule = make_datamodule(fake_root, variant, imbalance_ratio)
    assert datamodule.class_counts == expected_counts
    num_selected_classes = len(SETTINGS[variant]["negative_classes"]) + 1
    assert len(datamodule.val_dataset) == num_selected_classes * VAL_PER_CLASS
    assert len(datamodule.test_dataset) == num_selected_classes * TEST_PER_CLASS
    assert datamodule.num_train_samples == NUM_SOURCE_TRAIN[variant]
    assert (datamodule.num_classes, datamodule.num_outputs, datamodule.input_shape) == (2, 1, (3, 32, 32))


@pytest.mark.parametrize("variant", ["cifar10", "cifar100"])
def test_images_labels_and_ids_come_from_the_source_files(fake_root, variant):
    datamodule = make_datamodule(fake_root, variant)
    positives = SETTINGS[variant]["positive_classes"]
    selected = [*SETTINGS[variant]["negative_classes"], *positives]
    for train, datasets_of_split, id_offset in (
        (True, [datamodule.train_dataset, datamodule.val_dataset], 0),
        (False, [datamodule.test_dataset], datamodule.num_train_samples),
    ):
        source_images, source_labels = load_cifar_split(fake_root, variant, train=train)
        for dataset in datasets_of_split:
            positions = dataset.sample_ids.numpy() - id_offset
            assert np.array_equal(dataset.images.numpy(), source_images[positions])
            assert np.isin(source_labels[positions], selected).all()
            assert np.array_equal(dataset.labels.numpy(), np.isin(source_labels[positions], positives))
    assert np.array_equal(datamodule.test_sample_ids, datamodule.test_dataset.sample_ids)
    test_positions = datamodule.test_sample_ids.numpy() - datamodule.num_train_samples
    assert sorted(test_positions) == np.flatnonzero(np.isin(source_labels, selected)).tolist()


def test_ids_are_unique_disjoint_and_bounded(fake_root):
    datamodule = make_datamodule(fake_root)
    ids = {name: set(getattr(datamodule, f"{name}_dataset").sample_ids.tolist()) for name in ("train", "val", "test")}
    assert sum(map(len, ids.values())) == len(ids["train"] | ids["val"] | ids["test"])
    assert max(ids["train"] | ids["val"]) < datamodule.num_train_samples


@pytest.mark.parametrize(("other_seed", "same"), [(0, True), (1, False)])
def test_split_seed_decides_the_subsets(fake_root, other_seed, same):
    first, second = make_datamodule(fake_root, split_seed=0), make_datamodule(fake_root, split_seed=other_seed)
    for name in ("train_dataset", "val_dataset"):
        ids = [getattr(datamodule, name).sample_ids for datamodule in (first, second)]
        assert torch.equal(*ids) == same
    assert torch.equal(first.test_sample_ids, second.test_sample_ids)


def test_setup_is_idempotent(fake_root):
    datamodule = make_datamodule(fake_root)
    train_dataset = datamodule.train_dataset
    datamodule.setup("fit")
    assert datamodule.train_dataset is train_dataset


@pytest.mark.parametrize(("training", "augmented"), [(None, False), (False, False), (True, True)])
def test_batches_reach_the_model_as_normalised_floats(fake_root, training, augmented):
    datamodule = make_datamodule(fake_root)
    if training is not None:
        datamodule.trainer = SimpleNamespace(training=training, current_epoch=0)
    images, labels, sample_ids = next(iter(datamodule.train_dataloader()))
    assert (images.dtype, images.shape, labels.dtype, sample_ids.dtype) == (
        torch.uint8,
        (16, 3, 32, 32),
        torch.long,
        torch.long,
    )
    floats, labels_out, ids_out = datamodule.on_after_batch_transfer((images, labels, sample_ids), 0)
    assert floats.dtype == torch.float32 and floats.shape == images.shape
    assert labels_out is labels and ids_out is sample_ids
    mean = torch.tensor([0.4914, 0.4822, 0.4465])[:, None, None]
    std = torch.tensor([0.2023, 0.1994, 0.2010])[:, None, None]
    plain = (images.float() / 255 - mean) / std
    assert torch.allclose(floats, plain, atol=1e-5) != augmented


def test_eval_loaders_keep_order_in_eval_batches(fake_root):
    datamodule = make_datamodule(fake_root, eval_batch_size=25)
    for loader, dataset in (
        (datamodule.val_dataloader(), datamodule.val_dataset),
        (datamodule.test_dataloader(), datamodule.test_dataset),
    ):
        batches = list(loader)
        assert [len(batch[0]) for batch in batches[:-1]] == [25] * (len(batches) - 1)
        assert torch.equal(torch.cat([sample_ids for _, _, sample_ids in batches]), dataset.sample_ids)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"imbalance_ratio": 0.5}, r"imb must be >= 1 \(ratio 1:imb of positives to negatives\), got 0.5"),
        (
            {"positive_classes": [4]},
            r"data.negative_classes \[72, 4, 95, 30, 55\] and data.positive_classes \[4\] must be disjoint",
        ),
        ({"positive_classes": [100]}, r"data.positive_classes must hold class ids in 0..99, got \[100\]"),
        (
            {"variant": "cifar10", "negative_classes": [10]},
            r"data.negative_classes must hold class ids in 0..9, got \[10\]",
        ),
        ({"negative_classes": []}, "data.negative_classes must not be empty"),
        ({"majority_fraction": 0.0}, r"data.majority_fraction must be in \(0, 1\], got 0.0"),
        ({"val_per_class": 0}, "data.val_per_class must be >= 1, got 0"),
    ],
)
def test_bad_settings_fail_at_construction(fake_root, overrides, message):
    arguments = {
        "variant": "cifar100",
        **SETTINGS["cifar100"],
        "val_per_class": 5,
        "split_seed": 0,
        "imbalance_ratio": 10,
    }
    with pytest.raises(ValueError, match=message):
        BinaryCIFAR(fake_root, **{**arguments, **overrides})


@pytest.mark.parametrize(
    ("variant", "imbalance_ratio", "message"),
    [
        ("cifar10", 56, r"imb=56 leaves no positive training sample: 55 negatives / 56 < 1; use imb <= 55"),
        (
            "cifar100",
            1,
            r"imb=1 asks for 245 positive training samples \(245 negatives / 1\) but positive classes \[73\] have"
            r" only 55",
        ),
    ],
)
def test_impossible_ratios_fail_at_setup(fake_root, variant, imbalance_ratio, message):
    with pytest.raises(ValueError, match=message):
        make_datamodule(fake_root, variant, imbalance_ratio)


def test_missing_files_fail_at_setup_without_download(tmp_path):
    datamodule = BinaryCIFAR(tmp_path, "cifar10", [1], [9], 10, 5, 1.0, 0)
    datamodule.prepare_data()
    with pytest.raises(FileNotFoundError, match=f"CIFAR10 not found under {tmp_path}"):
        datamodule.setup()


def test_garbage_file_fails_at_setup(tmp_path):
    folder = write_random_cifar(tmp_path, "cifar100", 2, 1)
    (folder / "train").write_bytes(b"not a pickle at all")
    with pytest.raises(ValueError, match=r"train is not a CIFAR python-pickle file"):
        make_datamodule(tmp_path)


@pytest.mark.parametrize(
    ("download", "files_already_there", "downloads"), [(True, False, 2), (True, True, 0), (False, False, 0)]
)
def test_prepare_data_downloads_only_when_asked_and_absent(
    tmp_path, monkeypatch, download, files_already_there, downloads
):
    if files_already_there:
        write_random_cifar(tmp_path, "cifar10", 1, 1)
    fake = fake_torchvision_cifar("cifar10")
    monkeypatch.setattr(datasets, "CIFAR10", fake)
    BinaryCIFAR(tmp_path, "cifar10", [1], [9], 10, 5, 1.0, 0, download=download).prepare_data()
    assert len(fake.calls) == downloads
