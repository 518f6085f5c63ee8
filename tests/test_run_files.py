"""A real (tiny) run folder: every file readable as the umask allows, and metrics.json in float64 as scikit-learn
computes them from the run's own test_scores.csv."""

import csv
import json
import math
import stat

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from tests.helpers.commands import main_in_process

TINY = ("debug=smoke", "hydra.run.dir=run")


def train_under(umask, tmp_path, monkeypatch):
    result = main_in_process("almlit.train", list(TINY), tmp_path, monkeypatch, umask=umask)
    assert result.returncode == 0, result.stderr
    return tmp_path / "run"


def check_modes(run_dir, umask):
    """Every file 0666 & ~umask and every folder 0777 & ~umask, as ``open`` and ``mkdir`` give them."""
    files = sorted(path.relative_to(run_dir).as_posix() for path in run_dir.rglob("*") if path.is_file())
    for name in ("metrics.json", "config.yaml", "COMPLETE", "roc.png", "test_scores.csv", "checkpoints/last.ckpt"):
        assert name in files
    modes = {name: stat.S_IMODE((run_dir / name).stat().st_mode) for name in files}
    assert modes == dict.fromkeys(files, 0o666 & ~umask)
    folders = [run_dir, *(path for path in run_dir.rglob("*") if path.is_dir())]
    assert {stat.S_IMODE(path.stat().st_mode) for path in folders} == {0o777 & ~umask}


def read_test_scores(run_dir):
    with (run_dir / "test_scores.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    return np.array([float(row["score"]) for row in rows]), np.array([int(row["label"]) for row in rows])


def test_run_folder_files_get_the_umask_mode_and_float64_metrics(tmp_path, monkeypatch):
    run_dir = train_under(0o002, tmp_path, monkeypatch)  # a shared group folder: the group may read and write
    check_modes(run_dir, 0o002)

    test = json.loads((run_dir / "metrics.json").read_text())["test"]
    scores, labels = read_test_scores(run_dir)
    # scikit-learn's trapezoids add up in another order (a last-bit difference); float32 rounding is ~1e-8 off
    assert math.isclose(test["auc"], roc_auc_score(labels, scores), rel_tol=1e-14)
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    for level in (98, 95, 92, 90):  # lowest FPR among the ROC points with TPR >= level
        assert test[f"fpr@{level}tpr"] == fpr[tpr >= level / 100].min()
    positives = int(labels.sum())
    true_positives = np.rint(tpr * positives)
    for budget in (0, 1):  # lowest FPR among the thresholds missing at most `budget` positives
        assert test[f"fpr@{budget}fn"] == fpr[true_positives >= positives - budget].min()


@pytest.mark.slow  # a second run, under the common default umask
def test_run_folder_files_get_the_default_umask_mode(tmp_path, monkeypatch):
    check_modes(train_under(0o022, tmp_path, monkeypatch), 0o022)
