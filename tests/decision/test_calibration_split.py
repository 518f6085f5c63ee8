"""The calibration split: held out of training and validation, the same images for every seed, off by default."""

import numpy as np
import pytest

from almlit.data import BinaryDigits


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


def test_negative_calibration_count_is_refused():
    with pytest.raises(ValueError, match="data.calibration_per_class must be an integer >= 0, got -1"):
        BinaryDigits(imbalance_ratio=10, calibration_per_class=-1)
