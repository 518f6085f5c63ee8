"""``python -m almlit.train`` on the digits: the logged pair coverage against a replay of the batches' labels."""

import csv

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from almlit.config import CONFIG_DIR

EPOCHS = 3


def batch_labels_of_each_epoch(overrides):
    """The labels of every training batch of every epoch, as the configured sampler orders them."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=list(overrides))
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    labels = datamodule.train_dataset.labels
    sampler = datamodule.training_sampler(labels)
    size, epochs = cfg.data.batch_size, []
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        order = list(sampler)
        epochs.append([labels[order[start : start + size]].tolist() for start in range(0, len(order), size)])
    return epochs, datamodule


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["shuffle", "dual"])
def test_digits_run_logs_the_share_of_batches_with_a_pair_and_writes_the_hardest_positives(train, tmp_path, sampler):
    overrides = (f"sampler={sampler}", "data.batch_size=64")
    every_epoch = "++callbacks.model_checkpoint.save_top_k=-1"  # so that last.ckpt holds the final bank
    result = train(*overrides, f"trainer.max_epochs={EPOCHS}", every_epoch, "hydra.run.dir=run")
    assert result.returncode == 0, result.stderr
    with (tmp_path / "run" / "logs" / "metrics.csv").open() as stream:
        logged = [row for row in csv.DictReader(stream) if row.get("train/pair_batches")]
    epochs, datamodule = batch_labels_of_each_epoch(overrides)
    expected = [sum(0 < sum(batch) < len(batch) for batch in batches) / len(batches) for batches in epochs]
    assert [float(row["train/pair_batches"]) for row in logged] == pytest.approx(expected)
    if sampler == "shuffle":  # 9 positives among 957 samples: about half of the 15 batches hold one
        assert min(expected) < 0.5 and "only 47% of the training batches of epoch 1" in result.stdout
    else:
        assert expected == [1.0] * EPOCHS and "positive-negative pair" not in result.stdout
    # every positive training sample (9 at 1:100) is in hardest_positives.csv with its lambda from the final bank
    bank = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    with (tmp_path / "run" / "hardest_positives.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    positives = datamodule.train_dataset.sample_ids[datamodule.train_dataset.labels == 1].tolist()
    assert sorted(int(row["sample_id"]) for row in rows) == sorted(positives) and len(positives) == 9
    lambdas = [float(row["lambda"]) for row in rows]
    assert lambdas == sorted(lambdas, reverse=True)
    assert lambdas == [float(bank["bank.multipliers"][int(row["sample_id"])]) for row in rows]
