"""The calibration split: held out of training and validation, the same images for every seed, off by default."""

import numpy as np
import pytest

from almlit.data import BinaryDigits
from almlit.data.mri.datamodule import split_cohort
from almlit.data.mri.manifest import Subject


def _splits(**arguments):
    datamodule = BinaryDigits(imbalance_ratio=10, **arguments)
    datamodule.setup()
    return datamodule


def _ids(dataset):
    return set(dataset.sample_ids.tolist())


def test_calibration_split_is_fixed_across_seeds_and_disjoint_from_training():
    first, second = _splits(calibration_per_class=20, split_seed=0), _splits(calibration_per_class=20, split_seed=1)
    assert first.calibration_split == "calibration"
    assert _ids(first.calibration_dataset) == _ids(second.calibration_dataset)
    assert len(first.calibration_dataset) == 200 and int(first.calibration_dataset.labels.sum()) == 20
    for datamodule in (first, second):
        calibration = _ids(datamodule.calibration_dataset)
        for other in (datamodule.train_dataset, datamodule.val_dataset, datamodule.test_dataset):
            assert not calibration & _ids(other)
    # the validation splits of the two seeds differ: a member's validation images may be another member's training
    assert _ids(first.val_dataset) != _ids(second.val_dataset)


def test_without_a_calibration_split_the_validation_split_calibrates_and_splits_are_unchanged():
    plain = _splits(split_seed=3)
    assert plain.calibration_split == "validation" and plain.calibration_dataset is plain.val_dataset
    assert np.array_equal(plain.predict_dataloader().dataset.sample_ids, plain.val_dataset.sample_ids)


def test_calibration_and_validation_hold_outs_that_leave_no_training_image_are_refused():
    with pytest.raises(ValueError, match=r"class 8: 124 images, .*use data.calibration_per_class <= 123$"):
        _splits(calibration_per_class=200)
    with pytest.raises(ValueError, match=r"after the test and calibration hold-outs: class 8: 14 images, .*<= 13$"):
        _splits(calibration_per_class=110)


def test_negative_calibration_count_is_refused():
    with pytest.raises(ValueError, match="data.calibration_per_class must be an integer >= 0, got -1"):
        BinaryDigits(imbalance_ratio=10, calibration_per_class=-1)


def test_mri_calibration_subjects_are_fixed_across_seeds_and_stratified():
    subjects = [Subject(row, f"S{row}", int(row % 5 == 0), "train" if row < 80 else "test", ()) for row in range(100)]
    first, second = (split_cohort(subjects, 0.25, seed, calibration_fraction=0.2) for seed in (0, 1))
    ids = {name: [{subject.sample_id for subject in split[name]} for split in (first, second)] for name in first}
    assert ids["calibration"][0] == ids["calibration"][1]
    # 16 positives and 64 negatives in the training cohort: round(0.2 * 16) = 3 and round(0.2 * 64) = 13 held out
    assert sum(subject.label for subject in first["calibration"]) == 3 and len(first["calibration"]) == 16
    for split in (first, second):
        calibration = {subject.sample_id for subject in split["calibration"]}
        assert not calibration & {
            subject.sample_id for name in ("train", "validation", "test") for subject in split[name]
        }
    assert ids["validation"][0] != ids["validation"][1]
    plain = split_cohort(subjects, 0.25, 0)
    assert "calibration" not in plain and len(plain["train"]) + len(plain["validation"]) == 80
