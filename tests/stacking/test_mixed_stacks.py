"""Stacks whose members differ in what one batched step cannot share, found by a new user's trial of stacked grids:
their own ``trainer.max_epochs``, training sets of other sizes, a member whose loss diverges, and Ctrl-C."""

import os
import signal

import pytest
import torch

from almlit.errors import NonFiniteLossError
from almlit.stacking.run import train_stack
from tests.helpers.stack_runs import SCORE_TOLERANCE, member_config, saved_test_scores, train_alone

SETTINGS = (
    ["trainer.max_epochs=1"],
    ["trainer.max_epochs=3"],
    ["trainer.max_epochs=3", "data.majority_fraction=0.5"],  # fewer training images: a stack of its own
)


@pytest.mark.slow
def test_members_with_their_own_max_epochs_and_epoch_lengths_train_as_when_alone(tmp_path):
    stack_dirs = [tmp_path / "stack" / f"member{index}" for index in range(len(SETTINGS))]
    configs = [member_config(extra, 0, run_dir) for extra, run_dir in zip(SETTINGS, stack_dirs, strict=True)]
    lines = []
    stacked = train_stack(configs, stack_dirs, [extra for extra in SETTINGS], report=lines.append)
    assert lines[0] == "the members see 957 and 476 training images per epoch: training them as stacks of 2, 1"
    assert [line.split(":")[0] for line in lines[1:]] == ["stack of 2"] * 3 + ["stack of 1"] * 3
    assert lines[2].startswith("stack of 2: epoch 2/3") and lines[2].split("val/auc ")[1].startswith("- ")
    for index, (extra, mine) in enumerate(zip(SETTINGS, stacked, strict=True)):
        alone_dir = tmp_path / "alone" / f"member{index}"
        theirs = train_alone(member_config(extra, 0, alone_dir), alone_dir)
        assert mine["epochs_trained"] == theirs["epochs_trained"] == int(extra[0][-1])
        assert mine["best_checkpoint"] == theirs["best_checkpoint"]
        torch.testing.assert_close(
            saved_test_scores(stack_dirs[index]), saved_test_scores(alone_dir), rtol=0, atol=SCORE_TOLERANCE
        )


@pytest.mark.slow
def test_a_diverging_member_leaves_the_stack_and_the_others_are_written(tmp_path):
    stack_dirs = [tmp_path / "stack" / name for name in ("healthy", "diverging")]
    settings = (["trainer.max_epochs=2"], ["trainer.max_epochs=2", "optim.lr=1e12"])
    configs = [member_config(extra, 0, run_dir) for extra, run_dir in zip(settings, stack_dirs, strict=True)]
    lines, written = [], []
    with pytest.raises(NonFiniteLossError) as failure:
        train_stack(
            configs,
            stack_dirs,
            [list(extra) for extra in settings],
            report=lines.append,
            on_written=lambda run_dir, metrics: written.append((run_dir, metrics["epochs_trained"])),
        )
    assert written == [(stack_dirs[0], 2)]  # the healthy member's summary can be printed before the failure
    assert str(failure.value) == (
        f"the training loss of stacked member {stack_dirs[1]} became NaN or inf in epoch 0; lower its optim.lr or "
        "alm.penalty_init (1 other member(s) of the stack finished and were written)"
    )
    assert lines[0].endswith(", 0 stopped, 1 failed (NaN or inf loss)") and " - " not in lines[0].split("val/auc")[0]
    assert (stack_dirs[0] / "COMPLETE").is_file() and not (stack_dirs[1] / "COMPLETE").exists()
    alone_dir = tmp_path / "alone"
    train_alone(member_config(list(settings[0]), 0, alone_dir), alone_dir)
    torch.testing.assert_close(
        saved_test_scores(stack_dirs[0]), saved_test_scores(alone_dir), rtol=0, atol=SCORE_TOLERANCE
    )


@pytest.mark.slow
def test_ctrl_c_stops_a_stack_with_one_line_and_the_rerun_resumes_it(tmp_path, capsys):
    stack_dirs = [tmp_path / f"member{seed}" for seed in (0, 1)]
    configs = [member_config(["trainer.max_epochs=3"], seed, run_dir) for seed, run_dir in enumerate(stack_dirs)]

    def interrupt_after_the_first_epoch(line):
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as stopped:
        train_stack(configs, stack_dirs, [[f"seed={seed}"] for seed in (0, 1)], report=interrupt_after_the_first_epoch)
    assert stopped.value.code == 130
    assert capsys.readouterr().err.strip() == (
        "almlit: stopped by SIGINT; rerun the same command: it resumes each of the 2 stacked runs from its "
        "checkpoints/last.ckpt"
    )
    lines = []
    resumed = train_stack(configs, stack_dirs, [[f"seed={seed}"] for seed in (0, 1)], report=lines.append)
    assert lines[0] == f"resuming {stack_dirs[0]} from checkpoints/last.ckpt (epochs done: 1)"
    assert [metrics["epochs_trained"] for metrics in resumed] == [3, 3]


@pytest.mark.slow
def test_a_signal_while_the_members_are_written_stops_after_the_member_under_way(tmp_path, capsys):
    stack_dirs = [tmp_path / f"member{seed}" for seed in (0, 1)]
    configs = [member_config(["trainer.max_epochs=1"], seed, run_dir) for seed, run_dir in enumerate(stack_dirs)]

    def terminated_after_the_first(run_dir, metrics):
        os.kill(os.getpid(), signal.SIGTERM)  # recorded by callbacks.stop_on_signal, acted on after this member

    with pytest.raises(SystemExit) as stopped:
        train_stack(configs, stack_dirs, [[f"seed={seed}"] for seed in (0, 1)], on_written=terminated_after_the_first)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert capsys.readouterr().err.strip().startswith("almlit: stopped by SIGTERM; rerun the same command: it resumes")
    assert (stack_dirs[0] / "COMPLETE").is_file() and not (stack_dirs[1] / "COMPLETE").exists()
    lines = []
    resumed = train_stack(configs[1:], stack_dirs[1:], [["seed=1"]], report=lines.append)  # the unfinished member
    assert lines == [f"resuming {stack_dirs[1]} from checkpoints/last.ckpt (epochs done: 1)"]  # no epoch to train
    assert resumed[0]["epochs_trained"] == 1 and (stack_dirs[1] / "COMPLETE").is_file()
