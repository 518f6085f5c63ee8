"""``logs/metrics.csv`` continued across a resume (:mod:`almlit.runs.csv_logger`).

The fast tests give the logger a folder holding the log of an interrupted run; the slow one kills a training run
with SIGKILL in the middle of its second epoch, reruns the command, and compares the log with an uninterrupted run's.
"""

import csv
import warnings

import pytest
from lightning.pytorch.loggers import CSVLogger

from almlit.runs.csv_logger import ResumableCSVLogger, read_rows, rows_before
from tests.helpers.commands import QUIET, run_module

# The log of a run killed in epoch 2, after the checkpoint of epoch 1 (steps 0-31): a learning-rate row without an
# epoch at each epoch's first step, the epoch-end rows at its last step, a per-step row at step 39 of the replayed
# epoch with a column nothing else has (val/old_only), and a last line cut short by the kill.
EARLIER = """\
epoch,lr,step,train/loss,train/step_loss,val/auc,val/old_only
,0.1,0,,,,
0,,15,,,0.5,
0,,15,0.75,,,
,0.1,16,,,,
1,,31,,,0.625,
1,,31,0.5,,,
,0.05,32,,,,
2,,39,,0.25,,1.0
2,,47,,
"""

# The resumed run logs the replayed epoch (steps 32-47) with a column the earlier log does not have (train/new).
NEW_ROWS = [
    ({"lr": 0.05}, 32),
    ({"train/step_loss": 0.25, "epoch": 2}, 39),
    ({"val/auc": 0.75, "epoch": 2}, 47),
    ({"train/loss": 0.375, "train/new": 3.0, "epoch": 2}, 47),
]

# The rows below step 32 kept as they were, then the new ones; one header with every column still used.
EXPECTED = """\
epoch,lr,step,train/loss,train/new,train/step_loss,val/auc
,0.1,0,,,,
0,,15,,,,0.5
0,,15,0.75,,,
,0.1,16,,,,
1,,31,,,,0.625
1,,31,0.5,,,
,0.05,32,,,,
2,,39,,,0.25,
2,,47,,,,0.75
2,,47,0.375,3.0,,
"""


def log(logger, rows):
    """Log ``rows`` as Lightning's trainer does (a save after each), then finish."""
    for metrics, step in rows:
        logger.log_metrics(metrics, step=step)
        logger.save()
    logger.finalize("success")


def metrics_file(folder):
    return folder / "logs" / "metrics.csv"


def write_earlier_log(folder):
    metrics_file(folder).parent.mkdir(parents=True)
    metrics_file(folder).write_text(EARLIER)


def test_rows_before_the_first_new_step_are_kept():
    rows = read_rows(EARLIER)
    assert [row["step"] for row in rows] == ["0", "15", "15", "16", "31", "31", "32", "39"]  # the cut line dropped
    assert rows[1] == {"epoch": "0", "step": "15", "val/auc": "0.5"}
    assert [row["step"] for row in rows_before(rows, 32)] == ["0", "15", "15", "16", "31", "31"]
    assert rows_before(rows, 0) == []


def test_resumed_log_keeps_the_rows_before_the_checkpoint_and_drops_the_replayed_ones(tmp_path):
    write_earlier_log(tmp_path)
    logger = ResumableCSVLogger(save_dir=tmp_path, name="logs", version="")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert logger.experiment.metrics_file_path == str(metrics_file(tmp_path))
    assert not [warning for warning in caught if "will be deleted" in str(warning.message)]
    # until the resumed run logs its first row, the earlier log stays on disk (a second kill loses nothing)
    assert metrics_file(tmp_path).read_text() == EARLIER
    log(logger, NEW_ROWS)
    assert metrics_file(tmp_path).read_text() == EXPECTED
    assert sorted(path.name for path in metrics_file(tmp_path).parent.iterdir()) == ["metrics.csv"]


def test_restart_from_the_first_step_starts_the_log_again(tmp_path):
    write_earlier_log(tmp_path)
    log(ResumableCSVLogger(save_dir=tmp_path, name="logs", version=""), [({"val/auc": 0.5, "epoch": 0}, 0)])
    assert metrics_file(tmp_path).read_text() == "epoch,step,val/auc\n0,0,0.5\n"


def test_fresh_log_is_written_as_by_lightning(tmp_path):
    log(ResumableCSVLogger(save_dir=tmp_path / "ours", name="logs", version=""), NEW_ROWS)
    log(CSVLogger(save_dir=tmp_path / "lightning", name="logs", version=""), NEW_ROWS)
    assert metrics_file(tmp_path / "ours").read_bytes() == metrics_file(tmp_path / "lightning").read_bytes()


# ---------------------------------------------------------------- end to end (slow)

# Embedded digits at imb=20, 4 training batches per epoch, 2 epochs: killed at step 6, in the middle of epoch 1.
COMMON = [
    *QUIET,
    "trainer.deterministic=true",
    "imb=20",
    "callbacks.early_stopping=null",
    "trainer.max_epochs=2",
    "+trainer.limit_train_batches=4",
]
KILL_AT_STEP_6 = [
    "+callbacks.kill._target_=almlit.callbacks.probes.SignalAtStep",
    "+callbacks.kill.step=6",
    "+callbacks.kill.name=SIGKILL",
    "+callbacks.kill.marker=killed.marker",
]


def read_log(folder, name):
    with metrics_file(folder / "outputs" / "runs" / name).open(newline="") as stream:
        return list(csv.DictReader(stream))


@pytest.mark.slow
def test_log_of_a_run_killed_mid_epoch_and_resumed_equals_the_uninterrupted_log(tmp_path):
    whole = run_module("almlit.train", *COMMON, "run_name=whole", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    command = [*COMMON, *KILL_AT_STEP_6, "run_name=killed"]
    killed = run_module("almlit.train", *command, cwd=tmp_path)
    assert killed.returncode == -9, killed.stderr
    assert [row["epoch"] for row in read_log(tmp_path, "killed") if row["val/auc"]] == ["0"]
    resumed = run_module("almlit.train", *command, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming the interrupted run from" in resumed.stdout
    expected, got = read_log(tmp_path, "whole"), read_log(tmp_path, "killed")
    assert [row["epoch"] for row in got if row["val/auc"]] == ["0", "1"]  # one validation row per epoch
    assert got == expected
