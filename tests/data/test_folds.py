"""Grouped, stratified hold-outs and K folds, checked by naive counting."""

from collections import Counter

import numpy as np
import pytest

from almlit.data.folds import assign_splits


def cohort(num_patients=60, seed=1):
    """Patients with 1-4 images each; about a quarter of the patients are positive (all their images label 1)."""
    generator = np.random.default_rng(seed)
    labels, groups = [], []
    for patient in range(num_patients):
        label = int(generator.random() < 0.25)
        for _ in range(generator.integers(1, 5)):
            labels.append(label)
            groups.append(f"p{patient:03d}")
    return np.array(labels), np.array(groups)


def sides_of_every_group(splits, groups):
    sides = {}
    for name, positions in splits.items():
        for position in positions:
            sides.setdefault(groups[position], set()).add(name)
    return sides


@pytest.mark.parametrize("split_seed", [0, 3])
def test_no_group_crosses_a_split(split_seed):
    labels, groups = cohort()
    splits = assign_splits(labels, groups=groups, split_seed=split_seed)
    assert sorted(np.concatenate(list(splits.values())).tolist()) == list(range(len(labels)))
    assert all(len(sides) == 1 for sides in sides_of_every_group(splits, groups).values())


def test_the_test_set_is_fixed_across_seeds_and_folds():
    labels, groups = cohort()
    tests = [assign_splits(labels, groups=groups, split_seed=seed)["test"] for seed in range(3)]
    tests += [assign_splits(labels, groups=groups, folds=4, fold=fold, split_seed=9)["test"] for fold in range(4)]
    assert all(np.array_equal(test, tests[0]) for test in tests)


def test_k_folds_validate_every_non_test_image_once_and_keep_class_ratios():
    labels, groups = cohort(num_patients=120)
    folds = [assign_splits(labels, groups=groups, folds=5, fold=fold, split_seed=2) for fold in range(5)]
    pool = np.setdiff1d(np.arange(len(labels)), folds[0]["test"])
    validated = Counter(position for split in folds for position in split["validation"].tolist())
    assert sorted(validated) == pool.tolist() and set(validated.values()) == {1}
    pool_ratio = labels[pool].mean()
    for split in folds:
        assert all(len(sides) == 1 for sides in sides_of_every_group(split, groups).values())
        positives = sum(labels[position] for position in split["validation"])  # naive count
        assert abs(positives / len(split["validation"]) - pool_ratio) < 0.08
        assert len(split["validation"]) == pytest.approx(len(pool) / 5, rel=0.15)


def test_without_groups_fractions_are_one_fold_and_stratified():
    labels = np.array([0] * 80 + [1] * 20)
    splits = assign_splits(labels, val_fraction=0.25, test_fraction=0.2)
    assert [int(labels[splits["test"]].sum()), len(splits["test"])] == [4, 20]  # 1 of 5 folds of each class
    assert [int(labels[splits["validation"]].sum()), len(splits["validation"])] == [4, 20]  # 1 of 4 of the rest
    assert len(splits["train"]) == 60


def test_declared_splits_are_kept_and_validation_is_drawn_only_if_absent():
    labels = np.array([0, 1] * 10)
    declared = ["train"] * 12 + ["validation"] * 4 + ["test"] * 4
    splits = assign_splits(labels, declared)
    assert splits["validation"].tolist() == [12, 13, 14, 15] and splits["test"].tolist() == [16, 17, 18, 19]
    no_validation = assign_splits(labels, ["train"] * 16 + ["test"] * 4, val_fraction=0.25)
    assert len(no_validation["validation"]) == 4 and set(no_validation["validation"]) < set(range(16))


def test_refusals_name_the_setting():
    labels, groups = cohort(num_patients=6)
    declared = np.where(groups == groups[-1], "test", "train")  # 5 patients left for the folds
    with pytest.raises(ValueError, match=r"data.folds asks for 10 folds but the images form only 5 group\(s\)"):
        assign_splits(labels, declared, groups=groups, folds=10, fold=0)
    with pytest.raises(ValueError, match="data.folds and data.fold go together"):
        assign_splits(labels, folds=5)
    with pytest.raises(ValueError, match="data.fold in 0..folds-1, got folds=5, fold=5"):
        assign_splits(labels, folds=5, fold=5)
    with pytest.raises(ValueError, match=r"data.val_fraction must be in \(0, 0.5\]"):
        assign_splits(labels, val_fraction=0.8)
    with pytest.raises(ValueError, match=r"group p1 has images in more than one split: \['test', 'train'\]"):
        assign_splits([0, 1, 0, 1], ["train", "test", "train", "test"], groups=["p0", "p1", "p1", "p2"])
