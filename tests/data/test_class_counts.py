"""A split without a class it needs is refused in setup, before any training, naming data set, split, class, counts.

Expected messages are written out by hand from the fake files' contents; every suggested bound is tried: the value
it names must work and the next one must not.
"""

import re

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from almlit.benchmark.synthetic import write_random_cifar
from almlit.data import BinaryCIFAR, BinaryDigits, LongTailCIFAR
from almlit.data.class_counts import BINARY_CLASS_NAMES, check_class_counts, check_hold_out, check_splits
from almlit.data.imbalance import (
    ceil_significant,
    long_tail_counts,
    minority_count,
    split_binary_imbalanced,
)
from almlit.data.samplers import DualSampler
from tests.helpers.cifar_files import rewrite_cifar_file, without_class
from tests.helpers.commands import run_in_process

TRAIN_PER_CLASS, TEST_PER_CLASS, VAL_PER_CLASS = 12, 5, 2


def binary_cifar(root, **overrides):
    arguments = {
        "root": root,
        "variant": "cifar10",
        "negative_classes": [1],
        "positive_classes": [9],
        "imbalance_ratio": 2,
        "val_per_class": VAL_PER_CLASS,
        "majority_fraction": 1.0,
        "split_seed": 0,
        **overrides,
    }
    return BinaryCIFAR(**arguments)


def long_tail(root, variant="cifar10", **overrides):
    return LongTailCIFAR(root, variant, imbalance_ratio=2, **{"val_per_class": VAL_PER_CLASS, **overrides})


def test_binary_cifar_test_file_without_the_positive_class_is_refused_in_setup(tmp_path):
    folder = write_random_cifar(tmp_path, "cifar10", TRAIN_PER_CLASS, TEST_PER_CLASS)
    rewrite_cifar_file(folder / "test_batch", without_class(9))
    datamodule = binary_cifar(tmp_path)
    message = (
        f"CIFAR10 under {tmp_path}, test split: positive class (label 1): 0 images, at least 1 needed to compute the"
        f" test metrics (counts per label {{0: {TEST_PER_CLASS}, 1: 0}})"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        datamodule.setup("fit")


def test_binary_cifar_training_file_without_the_positive_class_names_the_file_and_no_impossible_bound(tmp_path):
    folder = write_random_cifar(tmp_path, "cifar10", TRAIN_PER_CLASS, TEST_PER_CLASS)
    for number in range(1, 6):
        rewrite_cifar_file(folder / f"data_batch_{number}", without_class(9))
    counts = {label: 0 if label == 9 else TRAIN_PER_CLASS for label in range(10)}
    message = (
        f"CIFAR10 under {tmp_path}, training files: class 9: 0 images, at least {VAL_PER_CLASS + 1} needed"
        f" (data.val_per_class={VAL_PER_CLASS} held out, 1 to train) (counts per label {counts}); no"
        " data.val_per_class >= 1 can split class 9: a class needs 2 images, 1 held out and 1 to train"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        binary_cifar(tmp_path).setup("fit")


@pytest.mark.parametrize(("missing", "name"), [(9, "class 9 (critical)"), (3, "class 3")])
def test_long_tail_test_file_without_a_class_is_refused_in_setup(tmp_path, missing, name):
    folder = write_random_cifar(tmp_path, "cifar10", TRAIN_PER_CLASS, TEST_PER_CLASS)
    rewrite_cifar_file(folder / "test_batch", without_class(missing))
    counts = {label: 0 if label == missing else TEST_PER_CLASS for label in range(10)}
    message = (
        f"CIFAR10 under {tmp_path}, test split: {name}: 0 images, at least 1 needed to compute the test metrics"
        f" (counts per label {counts})"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        long_tail(tmp_path).setup("fit")


def test_long_tail_cifar100_names_the_range_of_the_other_classes(tmp_path):
    folder = write_random_cifar(tmp_path, "cifar100", 4, 1)
    rewrite_cifar_file(folder / "test", without_class(42))
    message = (
        f"CIFAR100 under {tmp_path}, test split: class 42: 0 images, at least 1 needed to compute the test metrics"
        " (the other 99 classes have 1 to 1)"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        long_tail(tmp_path, "cifar100", critical_classes=[99], val_per_class=1).setup("fit")


def test_complete_files_pass_and_every_split_holds_every_class(tmp_path):
    write_random_cifar(tmp_path, "cifar10", TRAIN_PER_CLASS, TEST_PER_CLASS)
    for datamodule, num_classes in ((binary_cifar(tmp_path), 2), (long_tail(tmp_path), 10)):
        datamodule.setup("fit")
        for dataset in (datamodule.train_dataset, datamodule.val_dataset, datamodule.test_dataset):
            assert torch.bincount(dataset.labels, minlength=num_classes).min() >= 1


def test_check_splits_names_each_split_and_its_purpose():
    labels = {"train": np.array([0, 1]), "validation": np.array([0, 0, 0]), "test": np.array([0, 1])}
    message = (
        "cohort X, validation split: positive class (label 1): 0 subjects, at least 1 needed to select the best epoch"
        " on it (counts per label {0: 3, 1: 0})"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check_splits("cohort X", labels, BINARY_CLASS_NAMES, unit="subjects")
    labels["validation"] = np.array([1, 0])
    check_splits("cohort X", labels, BINARY_CLASS_NAMES, unit="subjects")  # every class everywhere: no error


def test_check_class_counts_returns_the_counts_and_reports_the_first_short_class():
    names = [f"class {label}" for label in range(3)]
    assert check_class_counts(np.array([0, 2, 2]), {0: 1, 2: 2}, "here", names).tolist() == [1, 0, 2]
    with pytest.raises(ValueError, match=re.escape("here: class 2: 2 images, at least 3 needed (counts per label")):
        check_class_counts(np.array([0, 2, 2]), {1: 0, 2: 3, 0: 5}, "here", names)


# --- every suggested bound is satisfiable (issue 13, 9(c)) -------------------------------------------------------


@pytest.mark.parametrize(("count_of_class_1", "suggested"), [(0, None), (1, None), (2, 1), (3, 2), (7, 6)])
def test_hold_out_advice_is_the_largest_value_that_works_or_says_what_is_missing(count_of_class_1, suggested):
    labels = np.array([0] * 10 + [1] * count_of_class_1)
    with pytest.raises(ValueError) as error:
        check_hold_out(labels, [0, 1], 8, "data")
    message = str(error.value)
    assert message.startswith(f"data: class 1: {count_of_class_1} images, at least 9 needed")
    if suggested is None:
        assert message.endswith(
            "no data.val_per_class >= 1 can split class 1: a class needs 2 images, 1 held out and 1 to train"
        )
        assert "<=" not in message
    else:
        assert message.endswith(f"; use data.val_per_class <= {suggested}")
        check_hold_out(labels, [0, 1], suggested, "data")  # the suggestion works
        with pytest.raises(ValueError):
            check_hold_out(labels, [0, 1], suggested + 1, "data")  # and is the largest that does


def test_long_tail_with_no_training_image_of_a_class_gets_no_negative_bound(tmp_path):
    folder = write_random_cifar(tmp_path, "cifar10", TRAIN_PER_CLASS, TEST_PER_CLASS)
    for number in range(1, 6):
        rewrite_cifar_file(folder / f"data_batch_{number}", without_class(4))
    with pytest.raises(ValueError) as error:
        long_tail(tmp_path).setup("fit")
    assert "class 4: 0 images" in str(error.value) and "<= -1" not in str(error.value)
    assert str(error.value).endswith(
        "no data.val_per_class >= 1 can split class 4: a class needs 2 images, 1 held out and 1 to train"
    )


def test_digits_test_hold_out_advice_is_the_smallest_digit_count_minus_one():
    smallest = int(np.bincount(load_digits().target).min())  # scikit-learn's own count, not almlit's
    datamodule = BinaryDigits(imbalance_ratio=2, test_per_class=smallest)
    with pytest.raises(ValueError, match=rf"; use data.test_per_class <= {smallest - 1}$"):
        datamodule.setup("fit")


def suggested_value(message: str, setting: str) -> float:
    return float(re.search(rf"use {re.escape(setting)} >= ([0-9.e+-]+)", message).group(1))


def test_imb_lower_bound_is_rounded_up_so_that_it_works():
    # 8004 negatives and 4001 positives left after validation: 8004 / 4001 = 2.0005 would print as 2 with 4 digits,
    # and floor(8004 / 2) = 4002 positives are more than there are.
    labels = np.array([0] * 8005 + [1] * 4002)
    with pytest.raises(ValueError) as error:
        split_binary_imbalanced(labels, [0], [1], 1.5, 1, 1.0, seed=0)
    bound = suggested_value(str(error.value), "imb")
    assert bound >= 8004 / 4001 and 8004 // bound <= 4001
    train, _ = split_binary_imbalanced(labels, [0], [1], bound, 1, 1.0, seed=0)
    assert np.count_nonzero(labels[train] == 1) == 8004 // bound


def test_a_majority_fraction_that_keeps_no_negative_gets_a_fraction_that_does():
    labels = np.array([0] * 4 + [1] * 5)  # after one validation image each: 3 negatives, 4 positives
    with pytest.raises(ValueError) as error:
        split_binary_imbalanced(labels, [0], [1], 1, 1, 0.2, seed=0)
    message = str(error.value)
    assert message.startswith("data.majority_fraction=0.2 keeps no negative training sample (floor(0.2 * 3) = 0")
    assert "imb <= 0" not in message
    fraction = suggested_value(message, "data.majority_fraction")
    assert fraction == pytest.approx(1 / 3, abs=1e-4) and fraction >= 1 / 3
    train, _ = split_binary_imbalanced(labels, [0], [1], 1, 1, fraction, seed=0)
    assert np.count_nonzero(labels[train] == 0) == 1


def test_minority_count_never_suggests_an_imb_below_1():
    with pytest.raises(ValueError, match=r"^0 negatives leave no positive training sample at any imb >= 1$"):
        minority_count(0, 2)
    with pytest.raises(ValueError, match=r"use imb <= 1$"):
        minority_count(1, 1.5)
    assert minority_count(1, 1) == 1  # the suggested imb works


@pytest.mark.parametrize("num_max", [1, 2, 55])
def test_long_tail_imb_bound_works(num_max):
    with pytest.raises(ValueError, match=rf"use imb <= {num_max}$"):
        long_tail_counts(num_max, 10, num_max + 1)
    assert long_tail_counts(num_max, 10, num_max)[-1] == 1


@pytest.mark.parametrize("value", [1 / 3, 2.0004998750312422, 0.1 * 3, 12345.0, 7.0, 1e-5 / 3])
def test_ceil_significant_never_rounds_down(value):
    rounded = ceil_significant(value)
    assert rounded >= value and rounded == pytest.approx(value, rel=1e-3)
    assert rounded == (value if value.is_integer() else float(f"{rounded:.4g}"))  # 4 significant digits


def test_dual_sampler_rate_advice_works_at_both_ends_and_is_a_batch_size_when_no_rate_can():
    labels = torch.tensor([0] * 6 + [1] * 3)
    with pytest.raises(ValueError, match=r"; use data.batch_size >= 2 \(a batch of 1 cannot hold both"):
        DualSampler(labels, seed=0, batch_size=1, positive_rate=0.9)
    for batch_size in (2, 3, 7, 11):
        with pytest.raises(ValueError) as error:
            DualSampler(labels, seed=0, batch_size=batch_size, positive_rate=0.01)
        low, high = map(float, re.search(r"use a rate in \[([0-9.]+), ([0-9.]+)\]", str(error.value)).groups())
        for rate in (low, high):
            positives = DualSampler(labels, seed=0, batch_size=batch_size, positive_rate=rate).positives_per_batch
            assert 1 <= positives <= batch_size - 1


def test_training_refuses_before_fit_and_leaves_no_run_folder(tmp_path, monkeypatch):
    cifar = write_random_cifar(tmp_path / "cifar", "cifar10", 30, TEST_PER_CLASS)
    rewrite_cifar_file(cifar / "test_batch", without_class(9))
    arguments = ["data=cifar10", "data.root=cifar", "data.download=false", "data.val_per_class=5", "imb=5"]
    outcome = run_in_process("almlit.train", arguments, tmp_path, monkeypatch)
    assert outcome.returncode == 2
    assert outcome.stderr.strip().splitlines()[-1] == (
        "almlit: error: CIFAR10 under cifar, test split: positive class (label 1): 0 images, at least 1 needed to"
        f" compute the test metrics (counts per label {{0: {TEST_PER_CLASS}, 1: 0}})"
    )
    assert not (tmp_path / "run").exists() and "Epoch" not in outcome.stdout + outcome.stderr
