"""operating_points.json: built by naive loops here and compared, loaded back, applied to logits."""

import json

import numpy as np
import pytest

from almlit.decision.operating_points import (
    apply_operating_points,
    assign_critical_classes,
    binary_operating_points,
    load_operating_points,
    multiclass_operating_points,
    operating_points_json,
    screening_figures,
)
from almlit.report.decision_files import operating_point_lines


def _data(seed, positives, negatives):
    rng = np.random.default_rng(seed)
    scores = np.r_[rng.normal(2, 1, positives), rng.normal(0, 1, negatives)]
    return scores, np.r_[np.ones(positives, int), np.zeros(negatives, int)]


def test_test_scores_without_their_targets_are_refused():
    calibration = _data(0, 20, 80)
    with pytest.raises(
        ValueError, match=r"^test_scores need test_targets \(their 0/1 labels, one per score\), got None$"
    ):
        binary_operating_points(*calibration, [0.9], test_scores=calibration[0])


def test_binary_document_counts_by_hand(tmp_path):
    calibration = _data(0, 200, 800)
    test = _data(1, 100, 900)
    document = binary_operating_points(
        *calibration, [0.95, 0.9], test_scores=test[0], test_targets=test[1], prevalence=0.02
    )
    (tmp_path / "operating_points.json").write_text(operating_points_json(document))
    loaded = load_operating_points(tmp_path)
    assert loaded["schema"] == 1 and loaded["score"] == "logit" and loaded["prevalence"] == 0.02
    for point in loaded["operating_points"]:
        threshold = point["threshold"]
        assert point["certified"] and point["calibration_positives"] == 200 and point["calibration_negatives"] == 800
        positives = [s for s, y in zip(*calibration, strict=True) if y == 1]
        assert threshold in positives
        assert point["calibration_tpr"] == sum(s >= threshold for s in positives) / 200
        hits = sum(1 for s, y in zip(*test, strict=True) if y == 1 and s >= threshold)
        alarms = sum(1 for s, y in zip(*test, strict=True) if y == 0 and s >= threshold)
        assert point["test"]["tpr"] == hits / 100 and point["test"]["fpr"] == alarms / 900
        assert point["test"]["tpr_ci"][0] <= hits / 100 <= point["test"]["tpr_ci"][1]
        tpr, fpr = hits / 100, alarms / 900
        assert point["ppv"] == pytest.approx(0.02 * tpr / (0.02 * tpr + 0.98 * fpr))
        assert point["missed_per_1000"] == pytest.approx(20 * (1 - tpr))
        assert point["false_alarms_per_1000"] == pytest.approx(980 * fpr)
    decisions = apply_operating_points(test[0], loaded)
    assert decisions.shape == (1000, 2)
    assert (decisions[:, 0] == (test[0] >= loaded["operating_points"][0]["threshold"])).all()


def test_screening_figures_by_hand():
    figures = screening_figures(0.9, 0.1, 0.5)
    assert figures == pytest.approx({"ppv": 0.9, "npv": 0.9, "false_alarms_per_1000": 50.0, "missed_per_1000": 50.0})


def test_multiclass_document_uses_the_table4_rule_at_frozen_thresholds():
    rng = np.random.default_rng(2)
    labels = np.arange(400) % 4
    scores = rng.normal(size=(400, 4)) + 2 * np.eye(4)[labels]
    test_labels = np.arange(200) % 4
    test_scores = rng.normal(size=(200, 4)) + 2 * np.eye(4)[test_labels]
    document = multiclass_operating_points(
        scores, labels, [0], [0.8], test_scores=test_scores, test_targets=test_labels
    )
    entry = document["classes"][0]
    threshold = entry["operating_points"][0]["threshold"]
    assert entry["class"] == 0 and threshold in scores[labels == 0, 0]
    wrong = 0
    for row, label in zip(test_scores, test_labels, strict=True):
        if label == 0:
            continue
        predicted = 0 if row[0] >= threshold else 1 + int(np.argmax(row[1:]))
        wrong += predicted != label
    assert entry["operating_points"][0]["test"]["error_noncritical"] == pytest.approx(wrong / 150)
    assigned = assign_critical_classes(test_scores, document)[(0, 0.8)]
    assert ((assigned == 0) == (test_scores[:, 0] >= threshold)).all()
    assert operating_point_lines(document)[0].startswith(
        f"class 0 TPR 0.80: threshold {threshold:.3f}, certified; test"
    )
    with pytest.raises(ValueError, match="apply_operating_points needs a binary document"):
        apply_operating_points(test_scores[:, 0], document)


def test_loader_refuses_what_is_not_an_operating_points_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no operating_points.json at"):
        load_operating_points(tmp_path)
    path = tmp_path / "operating_points.json"
    path.write_text("{")
    with pytest.raises(ValueError, match="is not valid JSON"):
        load_operating_points(path)
    path.write_text(json.dumps({"schema": 7}))
    with pytest.raises(ValueError, match="schema 1, got schema 7"):
        load_operating_points(path)
