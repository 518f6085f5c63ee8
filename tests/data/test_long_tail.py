import math

import numpy as np
import pytest
import torch
from torchvision import datasets

from almlit.benchmark.synthetic import write_random_cifar
from almlit.data import BinaryDigits, LongTailCIFAR
from almlit.data.cifar_files import load_cifar_split
from tests.helpers.cifar_files import fake_torchvision_cifar

TRAIN_PER_CLASS, TEST_PER_CLASS, VAL_PER_CLASS = 60, 10, 5
NUM_MAX = TRAIN_PER_CLASS - VAL_PER_CLASS  # 55 images per class remain after validation
NUM_CLASSES = {"cifar10": 10, "cifar100": 100}


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    for variant in NUM_CLASSES:
        write_random_cifar(root, variant, TRAIN_PER_CLASS, TEST_PER_CLASS)
    return root


def make_datamodule(root, variant="cifar10", imbalance_ratio=10, **overrides):
    datamodule = LongTailCIFAR(
        root, variant, imbalance_ratio, **{"val_per_class": VAL_PER_CLASS, "batch_size": 16, **overrides}
    )
    datamodule.setup()
    return datamodule


def by_hand(num_classes, imbalance_ratio, profile):
    if profile == "step":
        return [NUM_MAX if c < num_classes // 2 else NUM_MAX // imbalance_ratio for c in range(num_classes)]
    return [math.floor(NUM_MAX * imbalance_ratio ** (-c / (num_classes - 1))) for c in range(num_classes)]


@pytest.mark.parametrize(
    ("variant", "imbalance_ratio", "profile"),
    [
        ("cifar10", 10, "exponential"),
        ("cifar10", 50, "exponential"),
        ("cifar100", 20, "exponential"),
        ("cifar10", 10, "step"),
    ],
)
def test_train_counts_follow_the_profile_and_eval_sets_are_balanced(fake_root, variant, imbalance_ratio, profile):
    datamodule = make_datamodule(fake_root, variant, imbalance_ratio, profile=profile)
    num_classes = NUM_CLASSES[variant]
    assert datamodule.class_counts == tuple(by_hand(num_classes, imbalance_ratio, profile))
    for dataset, per_class in ((datamodule.val_dataset, VAL_PER_CLASS), (datamodule.test_dataset, TEST_PER_CLASS)):
        assert torch.bincount(dataset.labels, minlength=num_classes).tolist() == [per_class] * num_classes
    assert datamodule.num_train_samples == num_classes * TRAIN_PER_CLASS


@pytest.mark.parametrize("variant", ["cifar10", "cifar100"])
def test_images_labels_and_ids_come_from_the_source_files(fake_root, variant):
    datamodule = make_datamodule(fake_root, variant)
    for train, datasets_of_split, id_offset in (
        (True, [datamodule.train_dataset, datamodule.val_dataset], 0),
        (False, [datamodule.test_dataset], datamodule.num_train_samples),
    ):
        source_images, source_labels = load_cifar_split(fake_root, variant, train=train)
        for dataset in datasets_of_split:
            positions = dataset.sample_ids.numpy() - id_offset
            assert positions.min() >= 0 and positions.max() < len(source_labels)
            assert np.array_equal(dataset.images.numpy(), source_images[positions])
            assert np.array_equal(dataset.labels.numpy(), source_labels[positions])
    assert sorted(datamodule.test_sample_ids.tolist()) == list(
        range(datamodule.num_train_samples, datamodule.num_train_samples + len(source_labels))
    )


def test_train_val_and_test_ids_are_disjoint(fake_root):
    datamodule = make_datamodule(fake_root)
    ids = {name: set(getattr(datamodule, f"{name}_dataset").sample_ids.tolist()) for name in ("train", "val", "test")}
    assert sum(map(len, ids.values())) == len(ids["train"] | ids["val"] | ids["test"])


@pytest.mark.parametrize(("other_seed", "same"), [(0, True), (1, False)])
def test_split_seed_decides_train_and_val_not_test(fake_root, other_seed, same):
    first = make_datamodule(fake_root, split_seed=0)
    second = make_datamodule(fake_root, split_seed=other_seed)
    for name in ("train_dataset", "val_dataset"):
        assert torch.equal(getattr(first, name).sample_ids, getattr(second, name).sample_ids) == same
    assert torch.equal(first.test_sample_ids, second.test_sample_ids)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda root: BinaryDigits(10), (2, 1, (1,))),
        (lambda root: LongTailCIFAR(root, "cifar10", 10), (10, 10, (9,))),
        (lambda root: LongTailCIFAR(root, "cifar100", 10), (100, 100, (99,))),
        (lambda root: LongTailCIFAR(root, "cifar10", 10, critical_classes=[7, 3]), (10, 10, (7, 3))),
    ],
)
def test_classes_outputs_and_critical_classes(fake_root, make, expected):
    datamodule = make(fake_root)
    assert (datamodule.num_classes, datamodule.num_outputs, datamodule.critical_classes) == expected


def test_batches_carry_the_original_class_ids(fake_root):
    datamodule = make_datamodule(fake_root)
    images, labels, sample_ids = datamodule.on_after_batch_transfer(next(iter(datamodule.train_dataloader())), 0)
    assert (images.dtype, images.shape, labels.dtype, sample_ids.dtype) == (
        torch.float32,
        (16, 3, 32, 32),
        torch.long,
        torch.long,
    )
    _, source_labels = load_cifar_split(fake_root, "cifar10", train=True)
    assert np.array_equal(labels.numpy(), source_labels[sample_ids.numpy()])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"critical_classes": [12]}, r"data.critical_classes must hold class ids in 0..9, got \[12\]"),
        ({"critical_classes": []}, "data.critical_classes must not be empty"),
        ({"critical_classes": [3, 3]}, r"data.critical_classes must not repeat a class, got \[3, 3\]"),
        ({"imbalance_ratio": 0.5}, r"imb must be >= 1 .*got 0.5"),
        ({"profile": "linear"}, r"profile must be one of \['exponential', 'step'\], got 'linear'"),
        ({"val_per_class": 0}, "data.val_per_class must be >= 1, got 0"),
        ({"variant": "cifar1000"}, r"variant must be one of \['cifar10', 'cifar100'\], got 'cifar1000'"),
        ({"batch_size": 0}, "data.batch_size must be >= 1, got 0"),
    ],
)
def test_bad_settings_fail_at_construction(fake_root, overrides, message):
    arguments = {"root": fake_root, "variant": "cifar10", "imbalance_ratio": 10, **overrides}
    with pytest.raises(ValueError, match=message):
        LongTailCIFAR(**arguments)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"val_per_class": 60},
            r"CIFAR10 under .*, training files: class 0: 60 images, at least 61 needed \(data.val_per_class=60 held"
            r" out, 1 to train\) \(counts per label \{0: 60, 1: 60, .*, 9: 60\}\); use data.val_per_class <= 59$",
        ),
        # The smallest class, the critical one by default, would keep floor(55 / 56) = 0 images.
        (
            {"imbalance_ratio": 56},
            r"imb=56 leaves classes \[9\] with no training sample \(exponential profile: class 0 has 55, class 9"
            r" floor\(55 / 56\) = 0\); use imb <= 55",
        ),
    ],
)
def test_settings_the_data_cannot_serve_fail_at_setup(fake_root, overrides, message):
    with pytest.raises(ValueError, match=message):
        make_datamodule(fake_root, **overrides)


@pytest.mark.parametrize(("files_already_there", "downloads"), [(False, 2), (True, 0)])
def test_prepare_data_downloads_only_when_absent(tmp_path, monkeypatch, files_already_there, downloads):
    if files_already_there:
        write_random_cifar(tmp_path, "cifar100", 1, 1)
    fake = fake_torchvision_cifar("cifar100")
    monkeypatch.setattr(datasets, "CIFAR100", fake)
    LongTailCIFAR(tmp_path, "cifar100", 10, download=True).prepare_data()
    assert len(fake.calls) == downloads
