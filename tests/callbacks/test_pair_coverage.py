"""PairCoverageReport in a real Lightning fit, against a hand loop over the same batches.

The learning rate is 0, so the network's scores never change and the loop can recompute every batch's pairs,
violations and multiplier increments from the fixed scores (lambda_j <- lambda_j + mu q_j, Algorithm 1).
"""

import csv
import functools
import logging
from types import SimpleNamespace

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from almlit.alm import BinaryConstraint
from almlit.callbacks import PairCoverageReport
from almlit.losses import BCELoss, MiniBatchAUCLoss
from almlit.module import ALMClassifier
from almlit.runs.identity import comparable

BATCH, MARGIN, PENALTY = 4, 0.5, 0.1


class TinyData(L.LightningDataModule):
    """Features [N, 3], labels and sample ids (10 + position), in a fixed order of batches of ``BATCH``."""

    critical_classes = (1,)

    def __init__(self, labels):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.features = torch.randn(len(labels), 3, generator=generator)
        self.labels = torch.tensor(labels)
        self.sample_ids = 10 + torch.arange(len(labels))
        self.train_dataset = SimpleNamespace(labels=self.labels, sample_ids=self.sample_ids)

    def train_dataloader(self):
        return DataLoader(TensorDataset(self.features, self.labels, self.sample_ids), batch_size=BATCH)


def fit(data, loss, constraint, tmp_path, caplog, epochs=2, **report):
    torch.manual_seed(0)
    network = nn.Linear(3, 1)
    optimizer = functools.partial(torch.optim.SGD, lr=0.0)
    module = ALMClassifier(network, loss, optimizer, constraint, num_train_samples=40, penalty_init=PENALTY)
    logger = CSVLogger(tmp_path, name="logs")
    callback = PairCoverageReport(output_dir=tmp_path / "run", **report)
    trainer = L.Trainer(
        max_epochs=epochs,
        callbacks=[callback],
        logger=logger,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="almlit"):
        trainer.fit(module, datamodule=data)
    scores = network(data.features).squeeze(1).tolist()
    with open(f"{logger.log_dir}/metrics.csv") as stream:
        rows = [row for row in csv.DictReader(stream) if row.get("train/pair_batches")]
    low = [record.getMessage() for record in caplog.records if record.name.startswith("almlit.")]
    return scores, rows, low


def hand_loop(labels, scores, epochs):
    """Per epoch: share of batches with a pair, share of violated pairs, and lambda per sample id after it."""
    multipliers = {10 + index: 0.0 for index in range(len(labels))}
    per_epoch = []
    for _ in range(epochs):
        pair_batches = pairs = violated = batches = 0
        for start in range(0, len(labels), BATCH):
            rows = range(start, min(start + BATCH, len(labels)))
            batch_pairs = [(j, k) for j in rows for k in rows if labels[j] == 1 and labels[k] == 0]
            batches += 1
            pair_batches += bool(batch_pairs)
            pairs += len(batch_pairs)
            violated += sum(scores[j] - scores[k] < MARGIN for j, k in batch_pairs)
            for j in rows:
                if labels[j] == 1:
                    q = sum(max(0.0, MARGIN - (scores[j] - scores[k])) for k in rows if labels[k] == 0)
                    multipliers[10 + j] += PENALTY * q
        per_epoch.append((pair_batches / batches, violated / pairs, dict(multipliers)))
    return per_epoch


# positions 1 and 9 hold the positives: 2 of the 5 batches have a pair (40% < 50%)
SPARSE = [0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
# a positive in 4 of the 5 batches (80%)
DENSE = [1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]


@pytest.mark.parametrize("labels", [SPARSE, DENSE], ids=["sparse", "dense"])
def test_logged_coverage_violations_and_lambda_quantiles_equal_a_hand_loop(labels, tmp_path, caplog):
    scores, rows, low = fit(TinyData(labels), BCELoss(), BinaryConstraint(margin=MARGIN), tmp_path, caplog)
    expected = hand_loop(labels, scores, epochs=2)
    assert len(rows) == 2
    positives = [10 + index for index, label in enumerate(labels) if label == 1]
    for row, (pair_batches, violated, multipliers) in zip(rows, expected, strict=True):
        assert float(row["train/pair_batches"]) == pytest.approx(pair_batches)
        assert float(row["train/violated_pairs"]) == pytest.approx(violated)
        lambdas = np.array([multipliers[sample_id] for sample_id in positives])
        for key, level in (("lambda_q50", 0.5), ("lambda_q90", 0.9), ("lambda_q99", 0.99), ("lambda_max", 1.0)):
            assert float(row[f"train/{key}"]) == pytest.approx(np.quantile(lambdas, level), rel=1e-5), key
    if labels is SPARSE:  # both epochs are low: one warning
        assert low == [
            "only 40% of the training batches of epoch 0 held a positive-negative pair (warning below 50%): the ALM "
            "constraint BinaryConstraint gave 0 on the others; use sampler=dual (a fixed share of positives in every "
            "batch) or a larger data.batch_size"
        ]
    else:
        assert low == []


def test_hardest_positives_file_is_the_final_bank_sorted_by_a_naive_loop(tmp_path, caplog):
    constraint = BinaryConstraint(margin=MARGIN)
    scores, _, _ = fit(TinyData(DENSE), BCELoss(), constraint, tmp_path, caplog, hardest_positives=3)
    multipliers = hand_loop(DENSE, scores, epochs=2)[-1][2]
    positives = [(10 + index, 1, multipliers[10 + index]) for index, label in enumerate(DENSE) if label == 1]
    ranked = []
    for candidate in positives:  # insertion by hand: larger lambda first, equal lambdas by smaller id
        place = 0
        while place < len(ranked) and (ranked[place][2], -ranked[place][0]) >= (candidate[2], -candidate[0]):
            place += 1
        ranked.insert(place, candidate)
    with (tmp_path / "run" / "hardest_positives.csv").open() as stream:
        written = list(csv.reader(stream))
    assert written[0] == ["sample_id", "label", "lambda"]
    assert [(int(i), int(label)) for i, label, _ in written[1:]] == [(i, label) for i, label, _ in ranked[:3]]
    assert [float(value) for _, _, value in written[1:]] == pytest.approx([value for *_, value in ranked[:3]])


def test_a_pairwise_loss_without_constraint_logs_coverage_only_and_writes_no_file(tmp_path, caplog):
    _, rows, low = fit(TinyData(SPARSE), MiniBatchAUCLoss(), None, tmp_path, caplog, epochs=1, warn_below=0.3)
    assert float(rows[0]["train/pair_batches"]) == pytest.approx(0.4)
    assert not any(row.get("train/violated_pairs") or row.get("train/lambda_max") for row in rows)
    assert low == [] and not (tmp_path / "run").exists()  # 40% is above the 30% asked for


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match=r"^callbacks.pair_coverage.warn_below must be a share in \[0, 1\], got 2$"):
        PairCoverageReport(warn_below=2)
    with pytest.raises(ValueError, match=r"lambda_quantiles must be levels in \(0, 1\), got \[0.5, 1.5\]$"):
        PairCoverageReport(lambda_quantiles=[0.5, 1.5])
    with pytest.raises(ValueError, match=r"hardest_positives must be an int >= 0, got -1$"):
        PairCoverageReport(hardest_positives=-1)


def test_the_report_settings_do_not_change_what_a_run_is():
    before = {"seed": 0, "callbacks": {"non_finite_loss": {"_target_": "almlit.callbacks.NonFiniteLossCheck"}}}
    report = {"_target_": "almlit.callbacks.PairCoverageReport", "warn_below": 0.2, "lambda_quantiles": [0.5]}
    after = {"seed": 0, "callbacks": {**before["callbacks"], "pair_coverage": {**report, "hardest_positives": 5}}}
    assert comparable(before) == comparable(after)
