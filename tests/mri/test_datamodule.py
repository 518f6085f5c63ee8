"""MRICohort on a tiny generated cohort: the contract train.py and the module read, splits, seeding, memory."""

import csv
import json
import tracemalloc
from types import SimpleNamespace

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from almlit.data.mri import MRICohort
from almlit.train import CONFIG_DIR

SHAPE = (8, 16, 16)


def manifest_rows(root):
    with (root / "manifest.csv").open() as handle:
        return list(csv.DictReader(handle))


def cohort(root, **overrides):
    datamodule = MRICohort(root, shape=SHAPE, **overrides)
    datamodule.setup("fit")
    return datamodule


def test_contract_read_by_train_and_the_module(generated_cohort):
    root, _ = generated_cohort
    datamodule = cohort(root)
    rows = manifest_rows(root)
    train_rows = [index for index, row in enumerate(rows) if row["cohort"] == "train"]
    test_rows = [index for index, row in enumerate(rows) if row["cohort"] == "test"]
    assert (datamodule.num_classes, datamodule.num_outputs, datamodule.critical_classes) == (2, 1, (1,))
    assert datamodule.num_train_samples == 1 + max(train_rows)
    labels = datamodule.train_dataset.labels.tolist()
    assert datamodule.class_counts == (labels.count(0), labels.count(1))
    assert datamodule.test_sample_ids.tolist() == test_rows
    assert datamodule.test_dataset.labels.tolist() == [int(rows[index]["label"]) for index in test_rows]
    used = datamodule.train_dataset.sample_ids.tolist() + datamodule.val_dataset.sample_ids.tolist()
    assert sorted(used) == train_rows
    for dataset in datamodule.datasets.values():
        assert [int(rows[index]["label"]) for index in dataset.sample_ids.tolist()] == dataset.labels.tolist()
    assert datamodule.input_shape == (3, *SHAPE)


def test_batches_have_the_documented_types(generated_cohort):
    datamodule = cohort(generated_cohort[0], batch_size=4)
    volumes, labels, sample_ids = next(iter(datamodule.train_dataloader()))
    assert volumes.dtype == torch.float32 and volumes.shape == (4, 3, *SHAPE)
    assert labels.dtype == torch.long and sample_ids.dtype == torch.long and labels.shape == sample_ids.shape == (4,)
    test_ids = torch.cat([ids for _, _, ids in datamodule.test_dataloader()])
    assert torch.equal(test_ids, datamodule.test_sample_ids)


def test_setup_is_idempotent(generated_cohort):
    datamodule = cohort(generated_cohort[0])
    datasets = datamodule.datasets
    datamodule.setup("fit")
    datamodule.setup("test")
    assert datamodule.datasets is datasets


def test_validation_is_a_stratified_fifth_that_moves_with_split_seed(generated_cohort):
    root, summary = generated_cohort
    negatives, positives = summary.counts["train"]
    splits = {seed: cohort(root, split_seed=seed) for seed in (0, 1, 2)}
    for datamodule in splits.values():
        assert datamodule.val_dataset.labels.tolist().count(1) == max(1, round(0.2 * positives))
        assert datamodule.val_dataset.labels.tolist().count(0) == round(0.2 * negatives)
        assert torch.equal(datamodule.test_sample_ids, splits[0].test_sample_ids)
        assert datamodule.num_train_samples == splits[0].num_train_samples
    validation_sets = {tuple(datamodule.val_dataset.sample_ids.tolist()) for datamodule in splits.values()}
    assert len(validation_sets) > 1
    again = cohort(root, split_seed=1)
    assert torch.equal(again.val_dataset.sample_ids, splits[1].val_dataset.sample_ids)


def test_manifest_without_cohort_column_holds_out_a_fixed_test_set(cohort_copy):
    rows = manifest_rows(cohort_copy)
    columns = [name for name in rows[0] if name != "cohort"]
    with (cohort_copy / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    first, second = cohort(cohort_copy, split_seed=0), cohort(cohort_copy, split_seed=5)
    assert torch.equal(first.test_sample_ids, second.test_sample_ids)
    assert first.test_dataset.labels.tolist().count(1) == 1 and len(first.test_dataset) == 4


def test_augmentation_replays_from_seed_and_epoch_and_is_off_outside_training(generated_cohort):
    root, _ = generated_cohort

    def augmented(seed, epoch, training=True):
        datamodule = cohort(root, seed=seed)
        datamodule.trainer = SimpleNamespace(training=training, current_epoch=epoch)
        batch = datamodule.train_dataset.__getitems__(list(range(6)))
        return batch, datamodule.on_after_batch_transfer(batch, 0)

    batch, first = augmented(seed=0, epoch=3)
    _, again = augmented(seed=0, epoch=3)
    _, next_epoch = augmented(seed=0, epoch=4)
    assert torch.equal(first[0], again[0]) and not torch.equal(first[0], next_epoch[0])
    assert not torch.equal(first[0], batch[0]) and torch.equal(first[1], batch[1]) and torch.equal(first[2], batch[2])
    batch, evaluated = augmented(seed=0, epoch=3, training=False)
    assert evaluated[0] is batch[0]


def test_memory_holds_one_copy_of_the_cohort(generated_cohort, tmp_path):
    """Peak allocation while loading stays within the cohort's size plus a few subjects (no second copy)."""
    root, summary = generated_cohort
    shape = (16, 48, 48)
    for cache_dir in (None, tmp_path / "cache", tmp_path / "cache"):  # no cache, filling it, reading it
        datamodule = MRICohort(root, shape=shape, cache_dir=cache_dir)
        tracemalloc.start()
        datamodule.setup()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        cohort_bytes = sum(dataset.images.numpy().nbytes for dataset in datamodule.datasets.values())
        subject_bytes = cohort_bytes // 16
        assert cohort_bytes == 16 * 3 * np.prod(shape) * 4
        hashing_buffer = 1 << 20  # the cache reads files in 1 MiB chunks to hash them
        assert peak < cohort_bytes + 4 * subject_bytes + hashing_buffer, (cache_dir, peak / subject_bytes)


def test_real_configs_compose_into_a_cohort_and_a_network_that_fit(generated_cohort, tmp_path):
    root, _ = generated_cohort
    overrides = [
        "data=mri",
        f"data.root={root}",
        "data.shape=[8,16,16]",
        f"data.cache_dir={tmp_path}",
        "model.widths=[4,8]",
    ]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        config = compose("train", overrides=overrides)
    assert config.model._target_ == "almlit.models.cnn3d.CNN3D"
    datamodule = instantiate(config.data)
    datamodule.setup("fit")
    network = instantiate(config.model)
    volumes, _, _ = next(iter(datamodule.val_dataloader()))
    assert network(volumes).shape == (len(volumes), 1)
    assert (datamodule.seed, datamodule.split_seed) == (config.seed, config.seed)


def test_one_epoch_of_train_on_a_generated_cohort(train, generated_cohort, tmp_path):
    root, _ = generated_cohort
    result = train(
        "data=mri",
        f"data.root={root}",
        "data.shape=[8,16,16]",
        "data.cache_dir=cache",
        "model.widths=[4,8]",
        "trainer.max_epochs=1",
        "loss=bce",
        "alm=binary",
        "hydra.run.dir=run",
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"auc", "fpr@0fn", "fpr@1fn"} <= set(metrics["test"])
    rows = manifest_rows(root)
    with (tmp_path / "run" / "test_scores.csv").open() as handle:
        scored = sorted(int(row["sample_id"]) for row in csv.DictReader(handle))
    assert scored == [index for index, row in enumerate(rows) if row["cohort"] == "test"]
