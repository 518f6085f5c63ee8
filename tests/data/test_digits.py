import lightning
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from almlit.data import BinaryDigits

DIGIT_COUNTS = np.bincount(load_digits().target)
TEST_PER_CLASS, VAL_PER_CLASS = 50, 25


def make_datamodule(imbalance_ratio=10, split_seed=0, **overrides):
    datamodule = BinaryDigits(imbalance_ratio, split_seed=split_seed, **overrides)
    datamodule.setup()
    return datamodule


@pytest.mark.parametrize(
    ("imbalance_ratio", "positive_classes", "negative_classes"),
    [(10, [8], None), (100, [8], None), (2, [5], [3]), (4, [0, 1], [6, 7])],
)
def test_counts_by_hand(imbalance_ratio, positive_classes, negative_classes):
    datamodule = make_datamodule(imbalance_ratio, positive_classes=positive_classes, negative_classes=negative_classes)
    if negative_classes is None:
        negative_classes = [digit for digit in range(10) if digit not in positive_classes]
    num_negatives = sum(DIGIT_COUNTS[digit] - TEST_PER_CLASS - VAL_PER_CLASS for digit in negative_classes)
    assert datamodule.class_counts == (num_negatives, num_negatives // imbalance_ratio)
    num_selected = len(negative_classes) + len(positive_classes)
    assert len(datamodule.val_dataset) == VAL_PER_CLASS * num_selected
    assert len(datamodule.test_dataset) == TEST_PER_CLASS * num_selected
    assert datamodule.num_train_samples == DIGIT_COUNTS.sum()
    assert datamodule.input_shape == (1, 8, 8)


def test_images_are_the_sklearn_digits_scaled_to_uint8():
    datamodule = make_datamodule()
    digits = load_digits()
    for dataset in (datamodule.train_dataset, datamodule.val_dataset, datamodule.test_dataset):
        ids = dataset.sample_ids.numpy()
        scaled = dataset.images.numpy()[:, 0].astype(np.float64) * 16 / 255
        assert np.abs(scaled - digits.images[ids]).max() < 0.04
        assert np.array_equal(dataset.labels.numpy(), digits.target[ids] == 8)
    assert datamodule.train_dataset.images.max() == 255


@pytest.mark.parametrize(("other_seed", "same"), [(0, True), (3, False)])
def test_split_seed_moves_validation_and_training_but_not_test(other_seed, same):
    first, second = make_datamodule(split_seed=0), make_datamodule(split_seed=other_seed)
    assert torch.equal(first.train_dataset.sample_ids, second.train_dataset.sample_ids) == same
    assert torch.equal(first.val_dataset.sample_ids, second.val_dataset.sample_ids) == same
    assert torch.equal(first.test_sample_ids, second.test_sample_ids)
    all_ids = torch.cat([first.train_dataset.sample_ids, first.val_dataset.sample_ids, first.test_sample_ids])
    assert len(all_ids.unique()) == len(all_ids)


def test_default_augmentation_crops_by_one_pixel_and_never_flips():
    augment = make_datamodule().augment
    assert (augment.crop_padding, augment.hflip) == (1, False)


class RecordingModule(lightning.LightningModule):
    """Records the batches the Trainer hands to each step."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(64, 1)
        self.batches = {}

    def training_step(self, batch, batch_index):
        self.batches["train"] = batch
        return self.layer(batch[0].flatten(1)).mean()

    def validation_step(self, batch, batch_index):
        self.batches["val"] = batch

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_trainer_sees_augmented_training_and_plain_validation_batches():
    datamodule = BinaryDigits(10)
    module = RecordingModule()
    trainer = lightning.Trainer(
        fast_dev_run=True, accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False
    )
    trainer.fit(module, datamodule=datamodule)
    for stage, dataset in (("train", datamodule.train_dataset), ("val", datamodule.val_dataset)):
        images, labels, sample_ids = module.batches[stage]
        assert images.dtype == torch.float32 and labels.dtype == sample_ids.dtype == torch.long
        source = dataset.images[torch.searchsorted(dataset.sample_ids, sample_ids)]
        plain = datamodule.augment(source, train=False)
        assert torch.equal(images, plain) == (stage == "val")


def test_datasets_before_setup_ask_for_it():
    with pytest.raises(RuntimeError, match=r"BinaryDigits.setup\(\) must run before its datasets are used"):
        BinaryDigits(10).train_dataloader()
