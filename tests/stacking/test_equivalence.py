"""A stack against the same members trained alone by ``almlit.train`` (the existing code path), same seeds.

Tolerances: a stacked member's forward and backward passes run as batched (vmapped) kernels, which may sum in another
order than the single-network ones, so its float32 state drifts from the alone run's by rounding only. Measured on
these settings (3 members, digits, 6 epochs): test logits differ by at most 7.6e-6 (logits of magnitude ~1-5) and
multipliers by at most 7.7e-7 (mu up to 0.04 in the grid); the tolerances (SCORE_TOLERANCE and
MULTIPLIER_TOLERANCE in tests/helpers/stack_runs.py) are about five times
that. Decisions (best epoch, epochs trained, mu) are taken on the float32-rounded validation metric, as Lightning
takes them, and must be equal.
"""

import pytest
import torch

from almlit.stacking.loop import fit_stack
from almlit.stacking.run import prepare_stack, train_stack
from tests.helpers.stack_runs import (
    MULTIPLIER_TOLERANCE,
    SCORE_TOLERANCE,
    best_state,
    member_config,
    saved_test_scores,
    train_alone,
)


def hardest_positives(run_dir):
    """``hardest_positives.csv`` of a run folder: lambda by sample id."""
    rows = (run_dir / "hardest_positives.csv").read_text().splitlines()[1:]
    return {int(row.split(",")[0]): float(row.split(",")[2]) for row in rows}


SEEDS = (0, 1, 2)
ENSEMBLE = ([], [], [])  # members that differ by their seed only
GRID = (  # a hyper-parameter grid as one stack: loss, ALM and optimiser settings differ too
    ["alm.penalty_init=1e-3", "optim.lr=0.05"],
    ["alm.penalty_init=1e-2", "optim.lr=0.02"],
    ["alm.constraint.margin=0.5", "alm.schedule.growth=3", "optim.weight_decay=0", "loss=s_fl"],
)


@pytest.mark.slow
@pytest.mark.parametrize("settings", [ENSEMBLE, GRID], ids=["ensemble", "grid"])
def test_a_stack_of_three_equals_the_three_trained_alone(tmp_path, settings):
    alone_dirs = [tmp_path / "alone" / f"member{seed}" for seed in SEEDS]
    stack_dirs = [tmp_path / "stack" / f"member{seed}" for seed in SEEDS]
    alone = [
        train_alone(member_config(extra, seed, run_dir), run_dir)
        for seed, extra, run_dir in zip(SEEDS, settings, alone_dirs, strict=True)
    ]
    configs = [
        member_config(extra, seed, run_dir) for seed, extra, run_dir in zip(SEEDS, settings, stack_dirs, strict=True)
    ]
    stacked = train_stack(configs, stack_dirs, [[f"seed={seed}"] for seed in SEEDS], report=lambda line: None)
    for mine, theirs, stack_dir, alone_dir in zip(stacked, alone, stack_dirs, alone_dirs, strict=True):
        for key in ("best_checkpoint", "epochs_trained", "final_penalty", "class_counts", "seeds"):
            assert mine[key] == theirs[key], key
        scores = saved_test_scores(stack_dir), saved_test_scores(alone_dir)
        torch.testing.assert_close(*scores, rtol=0, atol=SCORE_TOLERANCE)
        for name, value in theirs["test"].items():
            assert mine["test"][name] == pytest.approx(value, abs=1e-3), name  # ranks equal up to a near-tie
        banks = best_state(stack_dir, mine)["bank.multipliers"], best_state(alone_dir, theirs)["bank.multipliers"]
        torch.testing.assert_close(*banks, rtol=0, atol=MULTIPLIER_TOLERANCE)
        assert (stack_dir / "COMPLETE").is_file() and (stack_dir / "operating_points.json").is_file()
        hardest = [hardest_positives(folder) for folder in (stack_dir, alone_dir)]  # lambda at the end of training
        assert hardest[0].keys() == hardest[1].keys()
        for sample_id, value in hardest[1].items():
            assert hardest[0][sample_id] == pytest.approx(value, abs=MULTIPLIER_TOLERANCE)


@pytest.mark.slow
def test_a_member_that_stopped_receives_no_update_at_all(tmp_path):
    """Members stop at different epochs (patience 1, a high learning rate); the state of each (network, BatchNorm
    statistics, multipliers, mu, optimiser momentum) is kept when it stops and must be bit-identical at the end."""
    run_dirs = [tmp_path / f"member{seed}" for seed in SEEDS]
    overrides = ["optim.lr=0.5", "trainer.max_epochs=4"]
    configs = [member_config(overrides, seed, run_dir) for seed, run_dir in zip(SEEDS, run_dirs, strict=True)]
    members, images = prepare_stack(configs, run_dirs, [[] for _ in SEEDS])
    at_stop = {}

    def snapshot(line):
        for member in members:
            if member.stopped and member.run_dir not in at_stop:
                at_stop[member.run_dir] = (
                    {name: value.clone() for name, value in member.module.state_dict().items()},
                    [state["momentum_buffer"].clone() for state in member.optimizer.state.values()],
                    member.epochs_trained,
                )

    fit_stack(members, images, 64, 1024, report=snapshot)  # trainer.max_epochs=4 of every member
    first_stop = min(epochs for _, _, epochs in at_stop.values())
    assert first_stop < max(member.epochs_trained for member in members)  # the stack trained on after it
    for member in members:
        if member.run_dir not in at_stop:
            continue
        state, momentum, epochs = at_stop[member.run_dir]
        assert member.epochs_trained == epochs
        for name, value in member.module.state_dict().items():
            assert torch.equal(value, state[name]), name
        for kept, buffer in zip(momentum, (s["momentum_buffer"] for s in member.optimizer.state.values()), strict=True):
            assert torch.equal(kept, buffer)
