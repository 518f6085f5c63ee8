"""``almlit.predict`` on run and ensemble folders with known networks, against references computed here by hand."""

import csv
import json

import numpy as np
import pytest
from sklearn.datasets import load_digits

from almlit.predict import main as predict_main
from tests.helpers.network_runs import (
    digits_logits,
    read_network,
    write_network_ensemble,
    write_network_run,
    write_operating_points,
)


def read_rows(path):
    with path.open() as stream:
        return list(csv.DictReader(stream))


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    run_dir = write_network_run(tmp_path_factory.mktemp("runs") / "run")
    return run_dir, write_operating_points(run_dir)


def test_digits_logits_decisions_and_probabilities(digits_run, tmp_path, capsys):
    run_dir, document = digits_run
    predict_main([str(run_dir), "--output", str(tmp_path / "out"), "--no-progress", "--prevalence", "0.02"])
    rows = read_rows(tmp_path / "out" / "predictions.csv")
    sample_ids = np.array([int(row["sample_id"]) for row in rows])
    # the digits test set: 50 images of each digit, digit 8 the positive class
    targets = load_digits().target[sample_ids]
    assert len(rows) == 500 and np.bincount(targets).tolist() == [50] * 10
    assert [int(row["label"]) for row in rows] == (targets == 8).astype(int).tolist()
    logits = np.array([float(row["logit"]) for row in rows])
    np.testing.assert_allclose(logits, digits_logits(read_network(run_dir), sample_ids), atol=1e-5)
    calibration = document["calibration"]
    shift = np.log(0.02 / 0.98) - np.log(
        calibration["calibration_prevalence"] / (1 - calibration["calibration_prevalence"])
    )
    expected = 1 / (1 + np.exp(-(calibration["slope"] * logits + calibration["intercept"] + shift)))
    np.testing.assert_allclose([float(row["probability"]) for row in rows], expected, rtol=1e-12)
    for name, point in (
        ("decision@98tpr", document["operating_points"][0]),
        ("decision@90tpr", document["operating_points"][1]),
    ):
        decisions = [int(row[name]) for row in rows]
        assert decisions == [int(logit >= point["threshold"]) for logit in logits]
        assert 0 < sum(decisions) < len(rows)  # the threshold splits the data
    summary = json.loads((tmp_path / "out" / "prediction.json").read_text())
    frozen = summary["metrics"]["operating_points"][0]
    positives = [logit for logit, target in zip(logits, targets, strict=True) if target == 8]
    assert frozen["positives"] == 50 and frozen["negatives"] == 450
    assert frozen["tpr"] == sum(logit >= frozen["threshold"] for logit in positives) / 50
    low, high = frozen["tpr_ci"]
    assert low <= frozen["tpr"] <= high
    printed = capsys.readouterr().out
    assert "predicted 500 samples" in printed and "target TPR 98%" in printed and "PPV" in printed


def test_without_operating_points_logits_only(tmp_path, capsys):
    run_dir = write_network_run(tmp_path / "run")
    predict_main([str(run_dir), "--no-progress"])
    rows = read_rows(run_dir / "predictions" / "predictions.csv")
    assert list(rows[0]) == ["sample_id", "label", "logit"]
    assert "no operating_points.json" in capsys.readouterr().out


def test_ensemble_averages_its_members_logits(tmp_path):
    folder = write_network_ensemble(tmp_path / "ensemble", members=2)
    predict_main([str(folder), "--no-progress"])
    rows = read_rows(folder / "predictions" / "predictions.csv")
    sample_ids = np.array([int(row["sample_id"]) for row in rows])
    members = [digits_logits(read_network(folder / f"member{index}"), sample_ids) for index in range(2)]
    np.testing.assert_allclose([float(row["logit"]) for row in rows], (members[0] + members[1]) / 2, atol=1e-5)
    summary = json.loads((folder / "predictions" / "prediction.json").read_text())
    assert len(summary["members"]) == 2
