"""A stack that does not fit in memory is split in halves until it does; one member that does not fit is refused."""

import pytest
import torch

from almlit.errors import TrainingFailure
from almlit.stacking import run as stacking_run
from tests.helpers.stack_runs import member_config

SEEDS = (0, 1, 2)


def fit_fitting_at_most(limit, fitted):
    """A ``fit_stack`` on a device that holds at most ``limit`` members: larger stacks run out of memory."""
    real = stacking_run.fit_stack

    def fit_stack(members, *arguments, **options):
        if len(members) > limit:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        fitted.append(len(members))
        return real(members, *arguments, **options)

    return fit_stack


@pytest.mark.slow
def test_a_stack_that_does_not_fit_is_trained_as_halves(tmp_path, monkeypatch):
    fitted, lines = [], []
    monkeypatch.setattr(stacking_run, "fit_stack", fit_fitting_at_most(1, fitted))
    run_dirs = [tmp_path / f"member{seed}" for seed in SEEDS]
    configs = [member_config(["trainer.max_epochs=1"], seed, path) for seed, path in zip(SEEDS, run_dirs, strict=True)]
    metrics = stacking_run.train_stacks(configs, run_dirs, [[] for _ in SEEDS], report=lines.append)
    assert fitted == [1, 1, 1]
    assert [line for line in lines if "does not fit" in line] == [
        "a stack of 3 members does not fit in memory: training it as stacks of 2 and 1",
        "a stack of 2 members does not fit in memory: training it as stacks of 1 and 1",
    ]
    assert [m["seeds"]["seed"] for m in metrics] == list(SEEDS)
    assert all((run_dir / "COMPLETE").is_file() for run_dir in run_dirs)


def test_one_member_that_does_not_fit_is_refused_with_the_batch_sizes_to_lower(tmp_path, monkeypatch):
    monkeypatch.setattr(stacking_run, "fit_stack", fit_fitting_at_most(0, []))
    run_dir = tmp_path / "member0"
    with pytest.raises(TrainingFailure, match=r"^out of memory during fit with data.batch_size=64, data.eval_batch"):
        stacking_run.train_stacks([member_config([], 0, run_dir)], [run_dir], [[]], report=lambda line: None)
    assert not (run_dir / "COMPLETE").exists()
