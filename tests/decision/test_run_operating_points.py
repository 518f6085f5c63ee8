"""A tiny digits run's operating_points.json, recomputed by naive loops from the run's own saved scores."""

import csv
import json
import math

import pytest
from scipy import stats


def _rows(path):
    with path.open() as stream:
        return [(int(row["sample_id"]), int(row["label"]), float(row["score"])) for row in csv.DictReader(stream)]


def _certified_order(positives, target, delta=0.05):
    """Largest k with P(Binomial(n, 1 - t) <= k - 1) <= delta, by summing the binomial terms; 0 when none."""
    best = 0
    for order in range(1, positives + 1):
        tail = sum(math.comb(positives, i) * (1 - target) ** i * target ** (positives - i) for i in range(order))
        best = order if tail <= delta else best
    return best


@pytest.mark.slow
def test_digits_run_operating_points_match_a_naive_recomputation(train, tmp_path):
    result = train(
        "trainer.max_epochs=1", "data.calibration_per_class=30", "metrics.prevalence=0.02", "hydra.run.dir=run"
    )
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "run"
    document = json.loads((run_dir / "operating_points.json").read_text())
    calibration, test = _rows(run_dir / "calibration_scores.csv"), _rows(run_dir / "test_scores.csv")
    # 30 images of each of the ten digits, the same for every seed, none of them a test image
    assert len(calibration) == 300 and sum(label for _, label, _ in calibration) == 30
    assert not {sample for sample, _, _ in calibration} & {sample for sample, _, _ in test}
    assert document["calibration_split"] == "calibration" and document["prevalence"] == 0.02
    positives = sorted(score for _, label, score in calibration if label == 1)
    for point in document["operating_points"]:
        target = point["target_tpr"]
        order = _certified_order(30, target)
        if order:  # 30 positives certify only targets t with t**30 <= 0.05: t <= 0.905
            assert point["certified"] and point["threshold"] == positives[order - 1]
        else:
            # the empirical threshold: the largest one keeping >= t of the 30 positives at or above it
            kept = [score for score in positives if sum(other >= score for other in positives) >= target * 30 - 1e-9]
            assert not point["certified"] and point["threshold"] == max(kept)
        threshold = point["threshold"]
        hits = sum(1 for _, label, score in test if label == 1 and score >= threshold)
        alarms = sum(1 for _, label, score in test if label == 0 and score >= threshold)
        assert point["test"]["tpr"] == hits / 50 and point["test"]["fpr"] == alarms / 450
        assert point["test"]["fpr_ci"] == pytest.approx(
            [
                stats.beta.ppf(0.025, alarms, 451 - alarms) if alarms else 0.0,
                stats.beta.ppf(0.975, alarms + 1, 450 - alarms) if alarms < 450 else 1.0,
            ]
        )
        tpr, fpr = hits / 50, alarms / 450
        assert point["missed_per_1000"] == pytest.approx(1000 * 0.02 * (1 - tpr))
        assert point["false_alarms_per_1000"] == pytest.approx(1000 * 0.98 * fpr)
    assert [point["certified"] for point in document["operating_points"]] == [False, False, False, True]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["calibration"]["split"] == "calibration" and (run_dir / "reliability.png").is_file()
    assert "TPR 0.90: threshold" in result.stdout and "certified;" in result.stdout
