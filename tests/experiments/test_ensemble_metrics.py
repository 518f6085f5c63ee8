"""Ensemble metrics from saved scores: hand-computed averages, scikit-learn references, run-folder checks."""

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from almlit.report.ensemble_metrics import MetricSpec, average_logits, ensemble_summary, score_metrics
from almlit.report.ensemble_report import write_ensemble_report
from almlit.runs.reader import RunScores
from tests.helpers.scored_runs import binary_config, write_scored_run

LABELS = np.array([0, 0, 0, 1, 1, 0])
MEMBER_A = np.array([0.0, 2.0, -1.0, 3.0, 1.0, 0.5])
MEMBER_B = np.array([1.0, 4.0, 0.0, 1.0, 0.0, 0.5])
SPEC = MetricSpec(tpr_levels=(1.0, 0.5), false_negatives=(0, 1))


def members(*scores):
    return [RunScores(np.arange(len(LABELS)), LABELS, np.asarray(values, dtype=float)) for values in scores]


def test_known_logits_give_the_hand_computed_ensemble():
    # average: [0.5, 3.0, -0.5, 2.0, 0.5, 0.5]; positives 2.0 and 0.5, negatives 0.5, 3.0, -0.5, 0.5.
    np.testing.assert_allclose(average_logits(np.stack([MEMBER_A, MEMBER_B])), [0.5, 3.0, -0.5, 2.0, 0.5, 0.5])
    summary = ensemble_summary(members(MEMBER_A, MEMBER_B), SPEC)
    # AUC: 2.0 beats three negatives; 0.5 beats -0.5 and ties two 0.5s: (3 + 1 + 2 * 0.5) / 8
    # TPR 1 needs threshold 0.5: three of four negatives reach it; TPR 0.5 at threshold 2.0: only 3.0.
    assert summary["ensemble"] == pytest.approx(
        {"auc": 5 / 8, "fpr@100tpr": 3 / 4, "fpr@50tpr": 1 / 4, "fpr@0fn": 3 / 4, "fpr@1fn": 1 / 4}
    )
    # member A: positives 3.0, 1.0 vs negatives 0.0, 2.0, -1.0, 0.5 -> (4 + 3) / 8
    assert summary["members"][0]["auc"] == pytest.approx(7 / 8)
    aucs = [roc_auc_score(LABELS, MEMBER_A), roc_auc_score(LABELS, MEMBER_B)]
    assert summary["members_summary"]["auc"]["mean"] == pytest.approx(np.mean(aucs))
    assert summary["members_summary"]["auc"]["std"] == pytest.approx(np.std(aucs, ddof=1))


def test_random_ensemble_matches_scikit_learn():
    generator = np.random.default_rng(0)
    labels = (generator.random(300) < 0.2).astype(int)
    stacked = generator.normal(size=(4, 300)) + 1.5 * labels
    summary = ensemble_summary([RunScores(np.arange(300), labels, scores) for scores in stacked], MetricSpec())
    average = stacked.mean(axis=0)
    assert summary["ensemble"]["auc"] == pytest.approx(roc_auc_score(labels, average))
    fpr, tpr, _ = roc_curve(labels, average)
    for level in (0.98, 0.95, 0.92, 0.90):
        assert summary["ensemble"][f"fpr@{round(100 * level)}tpr"] == pytest.approx(fpr[tpr >= level].min())


def test_multiclass_members_average_each_class_logit():
    labels = np.array([0, 1, 2, 2])
    first = np.array([[2.0, 0.0, 1.0], [0.0, 3.0, 1.0], [0.0, 2.0, 1.0], [1.0, 0.0, 2.0]])
    second = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 4.0], [0.0, 0.0, 3.0], [1.0, 0.0, 0.0]])
    spec = MetricSpec(num_classes=3, tpr_levels=(1.0,), critical_classes=(2,))
    summary = ensemble_summary([RunScores(np.arange(4), labels, scores) for scores in (first, second)], spec)
    # averaged rows: [1, .5, .5] -> 0, [0, 2, 2.5] -> 2 (wrong), [0, 1, 2] -> 2, [1, 0, 1] -> 0 (tie, first max)
    assert summary["ensemble"]["accuracy"] == pytest.approx(2 / 4)
    assert summary["members"][0]["accuracy"] == pytest.approx(3 / 4)


def test_ensemble_folder_report_is_written_from_the_member_folders(tmp_path):
    ids = np.array([7, 3, 5, 1, 9, 4])  # written unsorted: members are aligned by sample id
    for index, scores in enumerate((MEMBER_A, MEMBER_B)):
        write_scored_run(tmp_path / f"member{index}", binary_config(seed=index), scores, LABELS, ids)
    summary = write_ensemble_report(tmp_path, [tmp_path / "member0", tmp_path / "member1"])
    assert summary["ensemble"]["auc"] == pytest.approx(5 / 8)
    assert json.loads((tmp_path / "ensemble.json").read_text())["seeds"] == [0, 1]
    averaged = np.loadtxt(tmp_path / "ensemble_scores.csv", delimiter=",", skiprows=1)
    order = np.argsort(ids)
    np.testing.assert_allclose(averaged[:, 2], ((MEMBER_A + MEMBER_B) / 2)[order])
    assert (tmp_path / "roc.png").stat().st_size > 0
    assert "ensemble" in (tmp_path / "report.md").read_text()


def test_members_trained_with_different_settings_are_refused(tmp_path):
    write_scored_run(tmp_path / "member0", binary_config(seed=0, margin=0.25), MEMBER_A, LABELS)
    write_scored_run(tmp_path / "member1", binary_config(seed=1, margin=1.0), MEMBER_B, LABELS)
    with pytest.raises(
        ValueError,
        match=r"member1 was trained with another setting than member0: "
        r"alm.constraint.margin \(0.25 vs 1.0\)",
    ):
        write_ensemble_report(tmp_path, [tmp_path / "member0", tmp_path / "member1"])


def test_members_tested_on_different_samples_are_refused(tmp_path):
    write_scored_run(tmp_path / "member0", binary_config(seed=0), MEMBER_A, LABELS)
    write_scored_run(tmp_path / "member1", binary_config(seed=1), MEMBER_B, LABELS, np.arange(1, 7))
    with pytest.raises(ValueError, match="member 1 was tested on other samples than member 0"):
        write_ensemble_report(tmp_path, [tmp_path / "member0", tmp_path / "member1"])


def test_member_without_complete_marker_is_refused(tmp_path):
    write_scored_run(tmp_path / "member0", binary_config(seed=0), MEMBER_A, LABELS)
    write_scored_run(tmp_path / "member1", binary_config(seed=1), MEMBER_B, LABELS)
    (tmp_path / "member1" / "COMPLETE").unlink()  # killed after metrics.json, before the marker
    with pytest.raises(FileNotFoundError) as error:
        write_ensemble_report(tmp_path, [tmp_path / "member0", tmp_path / "member1"])
    assert str(error.value) == (
        f"{tmp_path / 'member1'} is not a finished run (no COMPLETE marker): it was interrupted or is still training; "
        "rerun its command to resume it"
    )
    assert not (tmp_path / "ensemble.json").exists()


def test_score_metrics_keys_follow_the_training_metrics():
    values = score_metrics(MEMBER_A, LABELS, MetricSpec())
    assert list(values) == ["auc", "fpr@98tpr", "fpr@95tpr", "fpr@92tpr", "fpr@90tpr", "fpr@0fn", "fpr@1fn"]
