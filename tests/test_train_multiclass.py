"""``python -m almlit.train`` on generated long-tailed CIFAR10 files with ALM_m1 and ALM_m2."""

import csv
import json
import math

import pytest

from almlit.benchmark.synthetic import write_random_cifar


@pytest.mark.parametrize("alm", ["m1", "m2"])
def test_long_tailed_run_with_multiclass_constraint(train, tmp_path, alm):
    write_random_cifar(tmp_path / "cifar", "cifar10", train_per_class=40, test_per_class=6)
    result = train(
        "experiment=cifar10_lt",
        f"alm={alm}",
        "loss=ce",
        "imb=10",
        "data.root=cifar",
        "data.download=false",
        "data.val_per_class=4",
        "data.critical_classes=[8,9]",
        "debug=smoke",
        "hydra.run.dir=run",
    )
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "run"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # n_max = 40 - 4 validation images; n_c = floor(36 * 10^(-c/9))
    assert metrics["class_counts"]["train"] == [math.floor(36 * 10 ** (-c / 9) + 1e-9) for c in range(10)]
    for key in ("accuracy", "balanced_accuracy", "error_noncritical@80tpr/class8", "auc/class9"):
        assert key in metrics["test"], key
    with (run_dir / "test_scores.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 60 and list(rows[0]) == ["sample_id", "label", *[f"score_{c}" for c in range(10)]]
    assert (run_dir / "roc_class8.png").is_file() and (run_dir / "roc_class9.png").is_file()
    # the constraint's pairs (critical x non-critical): logged per epoch; its constrained samples are those of
    # classes 8 and 9, floor(36 * 10^(-8/9)) + floor(36 * 10^(-9/9)) = 4 + 3 of them, all in hardest_positives.csv
    with (run_dir / "logs" / "metrics.csv").open() as stream:
        logged = [row for row in csv.DictReader(stream) if row.get("train/pair_batches")]
    assert len(logged) == 1 and 0 <= float(logged[0]["train/violated_pairs"]) <= 1
    # one epoch of the 142 training samples is three batches (64, 64, 14); the 7 critical samples are in one at least
    assert any(float(logged[0]["train/pair_batches"]) == pytest.approx(share) for share in (1 / 3, 2 / 3, 1))
    with (run_dir / "hardest_positives.csv").open() as stream:
        hardest = list(csv.DictReader(stream))
    assert sorted(int(row["label"]) for row in hardest) == [8] * 4 + [9] * 3
    # one threshold per critical class and TPR level, chosen on the 4 validation images of that class
    document = json.loads((run_dir / "operating_points.json").read_text())
    assert [entry["class"] for entry in document["classes"]] == [8, 9] and document["calibration_split"] == "validation"
    point = document["classes"][0]["operating_points"][0]
    assert point["calibration_positives"] == 4 and point["calibration_negatives"] == 36 and not point["certified"]
    assert point["test"]["positives"] == 6 and 0 <= point["test"]["error_noncritical"] <= 1


@pytest.mark.slow  # a subprocess; the catalogue (tests/catalogue) checks the same message in process in the fast suite
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["alm=binary"], "alm=binary needs a binary data set (2 classes), but the data has 10 classes"),
        (["alm=m1", "data.critical_classes=[12]"], "data.critical_classes must hold class ids in 0..9, got [12]"),
    ],
)
def test_constraint_that_does_not_fit_the_data(train_command, tmp_path, overrides, message):
    write_random_cifar(tmp_path / "cifar", "cifar10", train_per_class=20, test_per_class=2)
    result = train_command(
        "experiment=cifar10_lt",
        "data.root=cifar",
        "data.download=false",
        "data.val_per_class=2",
        "imb=5",
        "loss=ce",
        *overrides,
        "hydra.run.dir=run",
    )
    assert result.returncode == 2
    assert message in result.stderr.strip().splitlines()[-1], result.stderr


@pytest.mark.slow  # a subprocess; the catalogue (tests/catalogue) checks the same message in process in the fast suite
def test_multiclass_constraint_on_binary_data(train_command):
    result = train_command("alm=m1", "loss=ce")
    assert result.returncode == 2
    assert "alm=m1 needs a multi-class data set (>= 3 classes), but the data has 2 classes" in result.stderr
