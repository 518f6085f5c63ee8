"""An ensemble's operating points: from the members' averaged calibration logits, only on a shared calibration split."""

import json
import math

import numpy as np

from almlit.decision.operating_points import load_operating_points
from almlit.report.ensemble_report import write_ensemble_report
from tests.helpers.scored_runs import binary_config, write_scored_run


def _member(folder, seed, split, calibration_scores, calibration_labels, test_scores, test_labels):
    write_scored_run(folder, binary_config(seed=seed), test_scores, test_labels)
    lines = ["sample_id,label,score"] + [
        f"{1000 + index},{label},{float(score)!r}"
        for index, (label, score) in enumerate(zip(calibration_labels, calibration_scores, strict=True))
    ]
    (folder / "calibration_scores.csv").write_text("\n".join(lines) + "\n")
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["calibration"] = {"split": split}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def _members(tmp_path, split):
    rng = np.random.default_rng(0)
    calibration_labels = np.r_[np.ones(80, int), np.zeros(300, int)]
    test_labels = np.r_[np.ones(40, int), np.zeros(200, int)]
    members = []
    for seed in range(2):
        calibration = rng.normal(size=380) + 2 * calibration_labels
        test = rng.normal(size=240) + 2 * test_labels
        members.append(
            _member(tmp_path / f"member{seed}", seed, split, calibration, calibration_labels, test, test_labels)
        )
    return members


def _read(path):
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    return table[:, 2], table[:, 1].astype(int)


def test_thresholds_come_from_the_averaged_calibration_logits(tmp_path):
    members = _members(tmp_path, "calibration")
    summary = write_ensemble_report(tmp_path, members, "t", prevalence=0.05)
    document = load_operating_points(tmp_path)
    assert summary["calibration"]["split"] == "calibration" and document["prevalence"] == 0.05
    scores = np.mean([_read(member / "calibration_scores.csv")[0] for member in members], axis=0)
    labels = _read(members[0] / "calibration_scores.csv")[1]
    positives = sorted(scores[labels == 1])
    test_scores = np.mean([_read(member / "test_scores.csv")[0] for member in members], axis=0)
    test_labels = _read(members[0] / "test_scores.csv")[1]
    for point in document["operating_points"]:
        target = point["target_tpr"]
        # naive: largest k with sum_{i<k} C(80, i) (1-t)^i t^(80-i) <= 0.05
        orders = [
            k
            for k in range(1, 81)
            if sum(math.comb(80, i) * (1 - target) ** i * target ** (80 - i) for i in range(k)) <= 0.05
        ]
        if orders:
            assert point["certified"] and point["threshold"] == positives[orders[-1] - 1]
        else:
            assert not point["certified"]
        hits = sum(1 for s, y in zip(test_scores, test_labels, strict=True) if y == 1 and s >= point["threshold"])
        assert point["test"]["tpr"] == hits / 40
    assert (tmp_path / "reliability.png").is_file()


def test_members_calibrated_on_their_own_validation_splits_give_no_operating_points(tmp_path):
    members = _members(tmp_path, "validation")
    summary = write_ensemble_report(tmp_path, members, "t")
    assert not (tmp_path / "operating_points.json").exists()
    assert "no calibration split fixed across seeds" in summary["calibration"]["operating_points"]
    assert "data.calibration_per_class=N" in summary["calibration"]["operating_points"]
