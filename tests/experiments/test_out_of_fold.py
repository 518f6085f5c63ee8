"""Out-of-fold scores: ``python -m almlit.ensemble ... data.folds=3 members=folds`` on real digit images."""

import csv
import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from almlit.report.out_of_fold import concatenate_folds, held_out_scores
from almlit.runs.reader import RunScores, read_scores
from tests.helpers.commands import QUIET, run_module
from tests.helpers.image_folders import DIGIT_FOLDER_RUN, write_digit_folder


def test_folds_are_concatenated_in_sample_order():
    first = RunScores(np.array([4, 0]), np.array([1, 0]), np.array([0.5, -1.0]))
    second = RunScores(np.array([2]), np.array([1]), np.array([2.0]))
    combined = concatenate_folds([first, second])
    assert combined.sample_ids.tolist() == [0, 2, 4]
    assert combined.labels.tolist() == [0, 1, 1] and combined.scores.tolist() == [-1.0, 2.0, 0.5]


def test_a_sample_held_out_twice_is_refused():
    fold = RunScores(np.array([3, 7]), np.array([0, 1]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="sample 3 is held out in 2 folds: the members' folds differ"):
        concatenate_folds([fold, fold])


@pytest.mark.slow
def test_a_three_fold_ensemble_scores_every_training_image_once(tmp_path, monkeypatch):
    files = write_digit_folder(tmp_path / "digits", {"eight": 60, "other": 90}, {"eight": 8, "other": 3})
    result = run_module(
        "almlit.ensemble",
        *QUIET,
        *DIGIT_FOLDER_RUN,
        "trainer.max_epochs=3",
        "data.folds=3",
        "members=folds",
        "dir=ensemble",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    monkeypatch.chdir(tmp_path)  # the members' configs name data.root relative to where the ensemble ran
    ensemble = tmp_path / "ensemble"
    members = [ensemble / f"member{index}" for index in range(3)]
    test_ids = set(read_scores(members[0] / "test_scores.csv").sample_ids.tolist())
    with (ensemble / "out_of_fold_scores.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    ids = [int(row["sample_id"]) for row in rows]
    assert sorted(ids) == sorted(set(range(len(files))) - test_ids)  # every non-test image, once
    for row in rows:  # each with the label of its file
        assert int(row["label"]) == (files[int(row["sample_id"])].parent.name == "eight")
    scores = {int(row["sample_id"]): float(row["score"]) for row in rows}
    held_out = {}
    for index, member in enumerate(members):
        config = (member / "config.yaml").read_text()
        assert f"fold: {index}\n" in config and "split_seed: 0\n" in config
        # the scoring that gives the out-of-fold scores reproduces the test scores Lightning wrote from this member
        tested, saved = held_out_scores(member, "test"), read_scores(member / "test_scores.csv")
        assert tested.sample_ids.tolist() == saved.sample_ids.tolist()
        np.testing.assert_allclose(tested.scores, saved.scores, rtol=1e-6, atol=1e-6)
        fold = held_out_scores(member)
        assert not set(fold.sample_ids.tolist()) & set(held_out)  # the folds are disjoint
        held_out.update(zip(fold.sample_ids.tolist(), fold.scores.tolist(), strict=True))
    assert held_out.keys() == scores.keys()
    assert all(scores[sample] == pytest.approx(held_out[sample], abs=1e-12) for sample in scores)
    labels = [int(row["label"]) for row in rows]
    summary = json.loads((ensemble / "out_of_fold.json").read_text())
    assert summary["samples"] == len(rows) and summary["class_counts"] == [labels.count(0), labels.count(1)]
    auc = roc_auc_score(labels, [float(row["score"]) for row in rows])
    assert summary["metrics"]["auc"] == pytest.approx(auc, abs=1e-9)
    assert f"out-of-fold ({len(rows)} images, 3 folds): auc={auc:.4f}" in result.stdout
