"""A stacked member writes Lightning's epoch-end checkpoint every epoch, so a killed stack resumes like any run.

References: the ``last.ckpt`` that ``almlit.train``'s ``run`` (Lightning's Trainer and callbacks) writes for the same
member trained alone; an uninterrupted stack; the loop counters Lightning saves, read off a real checkpoint.
"""

import csv
import io
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from almlit.runs.checkpoint_io import AtomicCheckpointIO
from almlit.stacking import checkpoints
from almlit.stacking.checkpoints import epochs_done, fit_loops
from almlit.stacking.run import train_stack
from tests.helpers import stack_runs
from tests.helpers.stack_runs import best_state, member_config, saved_test_scores, train_alone

SEEDS = (0, 1)
LAST = "checkpoints/last.ckpt"
# an epoch-interval learning-rate schedule: its state and Lightning's scheduler counters are checked too
SCHEDULE = (
    "scheduler={_target_:almlit.optim.schedules.warmup_step_schedule,_partial_:true,"
    "warmup_epochs:1,milestones:[2],factors:[0.1]}"
)


def load(path):
    return torch.load(path, map_location="cpu", weights_only=False)


def quiet(line):
    pass


class Stack:
    """The members ``seeds`` as one stack in ``folder/member<seed>``, composed as ``almlit.ensemble`` composes them."""

    def __init__(self, folder, overrides, seeds=SEEDS):
        self.run_dirs = [folder / f"member{seed}" for seed in seeds]
        self.configs = [
            member_config(overrides, seed, run_dir) for seed, run_dir in zip(seeds, self.run_dirs, strict=True)
        ]
        self.overrides = [[f"seed={seed}"] for seed in seeds]

    def train(self, report=quiet):
        return train_stack(self.configs, self.run_dirs, self.overrides, report=report)


# ---------------------------------------------------------------- the loops counters (fast)


def test_the_loop_counters_are_those_of_lightnings_checkpoint_after_two_epochs_of_sixteen_batches():
    """Hand-copied from the ``loops`` of a ``last.ckpt`` that ``python -m almlit.train data=digits loss=bce imb=50
    trainer.max_epochs=2 alm=binary`` wrote (Lightning 2.6): 16 batches, 1 validation batch, no scheduler."""
    fit = fit_loops(2, 16, 1, 0)["fit_loop"]
    assert fit["epoch_progress"]["current"] == {"ready": 2, "started": 2, "processed": 2, "completed": 1}
    assert fit["epoch_loop.batch_progress"] == {
        "current": {"ready": 16, "started": 16, "processed": 16, "completed": 16},
        "total": {"ready": 32, "started": 32, "processed": 32, "completed": 32},
        "is_last_batch": True,
    }
    assert fit["epoch_loop.automatic_optimization.optim_progress"]["optimizer"]["zero_grad"]["total"] == {
        "ready": 32,
        "started": 32,
        "completed": 32,
    }
    assert fit["epoch_loop.state_dict"] == {"_batches_that_stepped": 32}
    assert fit["epoch_loop.scheduler_progress"]["total"] == {"ready": 0, "completed": 0}
    assert epochs_done({"loops": fit_loops(3, 16, 1, 1)}, "x", 3) == 3


def test_a_checkpoint_saved_inside_an_epoch_or_beyond_max_epochs_is_refused_in_one_line():
    mid_epoch = fit_loops(2, 16, 1, 0)
    mid_epoch["fit_loop"]["epoch_progress"]["current"]["completed"] = 2  # processed == completed: inside epoch 3
    with pytest.raises(ValueError, match=r"^x.ckpt is not a checkpoint saved at the end of a training epoch"):
        epochs_done({"loops": mid_epoch}, "x.ckpt", 10)
    with pytest.raises(ValueError, match=r"^x.ckpt is not a checkpoint saved at the end"):
        epochs_done({"state_dict": {}}, "x.ckpt", 10)  # e.g. weights only
    with pytest.raises(ValueError) as error:
        epochs_done({"loops": fit_loops(4, 16, 1, 0)}, "x.ckpt", 3)
    assert (
        str(error.value)
        == "x.ckpt ends epoch 4 but trainer.max_epochs=3; set trainer.max_epochs to 4 or more to resume it"
    )


# ---------------------------------------------------------------- against runs trained alone (slow)


def relative(value, root):
    """``value`` with the folder ``root`` written as ``<run>`` in every path string (recursively)."""
    if isinstance(value, dict):
        return {relative(key, root): relative(item, root) for key, item in value.items()}
    if isinstance(value, str):
        return value.replace(str(root.resolve()), "<run>")
    return value


def assert_close_states(mine, theirs, path=""):
    """Nested states equal; tensors and floats within the stacking tolerance (batched kernels may sum in another
    order; on a CPU the stack calls each member's network in turn and is usually bit-identical)."""
    if isinstance(theirs, dict):
        assert mine.keys() == theirs.keys(), path
        for key in theirs:
            assert_close_states(mine[key], theirs[key], f"{path}/{key}")
    elif isinstance(theirs, list | tuple):
        assert len(mine) == len(theirs), path
        for index, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            assert_close_states(a, b, f"{path}/{index}")
    elif isinstance(theirs, torch.Tensor):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=stack_runs.SCORE_TOLERANCE, msg=path)
    elif isinstance(theirs, float):
        assert mine == pytest.approx(theirs, abs=stack_runs.SCORE_TOLERANCE), path
    else:
        assert mine == theirs, path


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], [SCHEDULE, "data.eval_batch_size=128"]], ids=["plain", "schedule"])
def test_a_stacked_members_last_checkpoint_is_the_one_its_run_trained_alone_writes(tmp_path, extra):
    overrides = ["trainer.max_epochs=2", *extra]
    alone_dirs = [tmp_path / "alone" / f"member{seed}" for seed in SEEDS]
    for seed, run_dir in zip(SEEDS, alone_dirs, strict=True):
        train_alone(member_config(overrides, seed, run_dir), run_dir)
    stack = Stack(tmp_path / "stack", overrides)
    stack.train()
    for stack_dir, alone_dir in zip(stack.run_dirs, alone_dirs, strict=True):
        mine, theirs = relative(load(stack_dir / LAST), stack_dir), relative(load(alone_dir / LAST), alone_dir)
        assert mine.keys() == theirs.keys()
        assert mine["loops"] == theirs["loops"]
        for key in ("epoch", "global_step", "pytorch-lightning_version", "hparams_name", "hyper_parameters"):
            assert mine[key] == theirs[key], key
        assert mine["callbacks"].keys() == theirs["callbacks"].keys()
        mine_timer, theirs_timer = mine["callbacks"].pop("Timer"), theirs["callbacks"].pop("Timer")
        assert mine_timer["time_elapsed"].keys() == theirs_timer["time_elapsed"].keys()
        assert mine_timer["time_elapsed"]["train"] > 0
        for key in ("callbacks", "optimizer_states", "lr_schedulers", "val_metrics", "state_dict"):
            assert_close_states(mine[key], theirs[key], key)
        checkpoint_files = sorted(path.name for path in (stack_dir / "checkpoints").iterdir())
        assert checkpoint_files == sorted(path.name for path in (alone_dir / "checkpoints").iterdir())
        assert (stack_dir / "logs/hparams.yaml").read_text() == (alone_dir / "logs/hparams.yaml").read_text()


@pytest.mark.slow
def test_a_stacked_members_folder_resumed_alone_ends_as_the_member_trained_alone(tmp_path):
    """Stack for 2 epochs, then ``almlit.train`` resumes the folder alone up to 3; against 3 epochs alone."""
    stack_dir, alone_dir = tmp_path / "stack" / "member0", tmp_path / "alone" / "member0"
    train_stack([member_config(["trainer.max_epochs=2"], 0, stack_dir)], [stack_dir], [["seed=0"]], report=quiet)
    (stack_dir / "COMPLETE").unlink()  # as if killed before its end, with max_epochs=3
    config = member_config(["trainer.max_epochs=3"], 0, stack_dir)
    with open(stack_dir / "config.yaml", "w") as stream:  # the folder of a 3-epoch command killed after epoch 2
        yaml.safe_dump(config, stream)
    resumed = train_alone(config, stack_dir)
    alone = train_alone(member_config(["trainer.max_epochs=3"], 0, alone_dir), alone_dir)
    for key in ("best_checkpoint", "epochs_trained", "final_penalty"):
        assert resumed[key] == alone[key], key
    torch.testing.assert_close(
        saved_test_scores(stack_dir), saved_test_scores(alone_dir), rtol=0, atol=stack_runs.SCORE_TOLERANCE
    )
    torch.testing.assert_close(
        best_state(stack_dir, resumed)["bank.multipliers"],
        best_state(alone_dir, alone)["bank.multipliers"],
        rtol=0,
        atol=stack_runs.MULTIPLIER_TOLERANCE,
    )


class Killed(Exception):
    pass


def kill_after(epoch):
    """A ``report`` that raises after the stack's line of ``epoch`` (1-based): a kill after its checkpoints."""

    def report(line):
        if f"epoch {epoch}/" in line:
            raise Killed(line)

    return report


def stack_outcome(run_dirs):
    """What must not depend on an interruption: metrics (but the training time), test scores, the banks."""
    outcome = []
    for run_dir in run_dirs:
        metrics = yaml.safe_load((run_dir / "metrics.json").read_text())
        metrics.pop("train_seconds")
        outcome.append(
            (
                metrics,
                saved_test_scores(run_dir),
                best_state(run_dir, metrics)["bank.multipliers"],
                (run_dir / "logs/metrics.csv").read_text(),
            )
        )
    return outcome


@pytest.mark.slow
def test_a_stack_killed_after_an_epoch_resumes_and_ends_as_the_uninterrupted_stack(tmp_path):
    overrides = ["trainer.max_epochs=4", "optim.lr=0.5"]  # members stop early at different epochs
    whole, parts = (Stack(tmp_path / name, overrides, seeds=(0, 1, 2)) for name in ("whole", "parts"))
    whole.train()
    with pytest.raises(Killed):
        parts.train(report=kill_after(2))
    assert all(load(run_dir / LAST)["epoch"] == 1 for run_dir in parts.run_dirs)
    assert not any((run_dir / "COMPLETE").exists() for run_dir in parts.run_dirs)
    lines = []
    parts.train(report=lines.append)
    assert lines[0] == f"resuming {parts.run_dirs[0]} from checkpoints/last.ckpt (epochs done: 2)"
    assert not any("epoch 1/" in line or "epoch 2/" in line for line in lines)
    mine, theirs = stack_outcome(parts.run_dirs), stack_outcome(whole.run_dirs)
    # two members' early stopping fired at epoch 2, where the stack was killed: resumed, they stay stopped
    assert sorted(metrics["epochs_trained"] for metrics, *_ in theirs) == [2, 2, 4]
    for (metrics, scores, bank, log), (metrics_, scores_, bank_, log_) in zip(mine, theirs, strict=True):
        assert metrics.keys() == metrics_.keys()
        for key in ("best_checkpoint", "epochs_trained", "final_penalty", "class_counts", "seeds", "test"):
            assert metrics[key] == metrics_[key], key
        assert torch.equal(scores, scores_) and torch.equal(bank, bank_)
        assert log == log_


@pytest.mark.slow
def test_members_resumed_at_different_epochs_join_the_stack_at_their_own(tmp_path, monkeypatch):
    """Member 1's last.ckpt ends epoch 1, member 0's epoch 2 (killed between two members' writes; or one trained
    alone for a while): each goes on from its own, and both end as in an uninterrupted stack."""
    whole, parts = (Stack(tmp_path / name, ["trainer.max_epochs=3"]) for name in ("whole", "parts"))
    whole.train()
    writes = []
    original = checkpoints.write_epoch_end

    def write_then_die(member, batches, val_batches):
        original(member, batches, val_batches)
        writes.append(member.run_dir)
        if len(writes) == 3:  # epoch 1 of both members, then epoch 2 of member 0 only
            raise Killed()

    monkeypatch.setattr("almlit.stacking.loop.write_epoch_end", write_then_die)
    with pytest.raises(Killed):
        parts.train()
    monkeypatch.setattr("almlit.stacking.loop.write_epoch_end", original)
    assert [load(run_dir / LAST)["epoch"] for run_dir in parts.run_dirs] == [1, 0]
    lines = []
    parts.train(report=lines.append)
    assert any(line.startswith("stack of 2: epoch 2/3") and "- " in line for line in lines)  # member 1 alone
    for (metrics, scores, bank, log), (metrics_, scores_, bank_, log_) in zip(
        stack_outcome(parts.run_dirs), stack_outcome(whole.run_dirs), strict=True
    ):
        assert metrics["epochs_trained"] == metrics_["epochs_trained"] == 3
        assert metrics["best_checkpoint"] == metrics_["best_checkpoint"]
        assert torch.equal(scores, scores_) and torch.equal(bank, bank_)
        assert log == log_


@pytest.mark.slow
def test_sigterm_stops_a_stack_with_128_plus_15_and_says_that_the_rerun_resumes(tmp_path):
    """A real SIGTERM to ``almlit.ensemble ... ensemble.stack=2`` after its first epoch end."""
    command = [
        sys.executable,
        "-m",
        "almlit.ensemble",
        "debug=quiet",
        "model.width=4",
        "trainer.max_epochs=40",
        "callbacks.early_stopping=null",
        "members=2",
        "ensemble.stack=2",
        "dir=ens",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    last = tmp_path / "ens" / "member1" / LAST
    deadline = time.monotonic() + 120
    while not last.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.strip().splitlines()[-1] == (
        "almlit: stopped by SIGTERM; rerun the same command: it resumes each of the 2 stacked runs from its "
        "checkpoints/last.ckpt"
    )
    done = [load(tmp_path / "ens" / f"member{seed}" / LAST)["epoch"] for seed in SEEDS]
    assert done[0] == done[1] and done[0] < 39  # stopped at a step, nothing written after it
    assert not (tmp_path / "ens" / "member0" / "COMPLETE").exists()
    assert math.isfinite(AtomicCheckpointIO().load_checkpoint(last)["global_step"])


@pytest.mark.slow
def test_a_member_trained_alone_for_an_epoch_resumes_in_a_stack(tmp_path):
    """Member 0's folder holds a run trained alone by ``almlit.train`` and killed after epoch 1 (its last.ckpt and
    its Lightning log); member 1 starts. Both end as in an uninterrupted stack; member 0's log keeps epoch 1."""
    whole, parts = (Stack(tmp_path / name, ["trainer.max_epochs=3"]) for name in ("whole", "parts"))
    whole.train()
    first = parts.run_dirs[0]
    train_alone(member_config(["trainer.max_epochs=1"], 0, first), first)
    (first / "COMPLETE").unlink()  # the folder of the 3-epoch command, killed after its first epoch end
    with open(first / "config.yaml", "w") as stream:
        yaml.safe_dump(parts.configs[0], stream)
    lines = []
    parts.train(report=lines.append)
    assert lines[0] == f"resuming {first} from checkpoints/last.ckpt (epochs done: 1)"
    assert lines[1].startswith("stack of 2: epoch 1/3") and "val/auc - 0." in lines[1]  # member 0 joins at epoch 2
    assert lines[2].startswith("stack of 2: epoch 2/3") and " - " not in lines[2]
    for (metrics, scores, bank, log), (metrics_, scores_, bank_, log_) in zip(
        stack_outcome(parts.run_dirs), stack_outcome(whole.run_dirs), strict=True
    ):
        for key in ("best_checkpoint", "epochs_trained", "final_penalty"):
            assert metrics[key] == metrics_[key], key
        torch.testing.assert_close(scores, scores_, rtol=0, atol=stack_runs.SCORE_TOLERANCE)
        torch.testing.assert_close(bank, bank_, rtol=0, atol=stack_runs.MULTIPLIER_TOLERANCE)
        rows, rows_ = (list(csv.DictReader(io.StringIO(text))) for text in (log, log_))
        assert [row["epoch"] for row in rows] == [row["epoch"] for row in rows_] == ["0", "1", "2"]
        assert [row["step"] for row in rows] == [row["step"] for row in rows_]
        for row, row_ in zip(rows, rows_, strict=True):
            assert float(row["val/auc"]) == pytest.approx(float(row_["val/auc"]), abs=stack_runs.SCORE_TOLERANCE)
