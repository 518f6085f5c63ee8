"""Run folders found again by the same command: finished runs left alone, interrupted ones resumed exactly.

The slow tests train the embedded digits in subprocesses and kill them (SIGKILL) or preempt them (SIGTERM) in the
middle of their second epoch; the restarted command must end with the bank, mu, weights, optimizer state and test
scores of a run that was never interrupted, bit for bit (CPU, ``trainer.deterministic=true``).
"""

import json
import signal
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from almlit.report.ensemble_members import compose_member, resolve_member
from almlit.runs.resume import check_same_run, is_new_folder, plan_start
from tests.helpers.file_tree import file_states
from tests.helpers.interrupted_runs import DETERMINISTIC_DIGITS, STEPS_PER_EPOCH, kill_at, load, run_dir, train_in


def member_config(folder, *overrides):
    """The resolved config that ``almlit.train <overrides>`` writes into ``folder``."""
    return resolve_member(compose_member(list(overrides)), folder)


def write_config(folder, config):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(config)))


# ---------------------------------------------------------------- deciding how a run starts (fast)


def test_new_folder_starts_from_epoch_zero(tmp_path):
    start = plan_start(tmp_path / "run", member_config(tmp_path / "run"))
    assert (start.finished, start.ckpt_path, start.message) == (False, None, None)


def test_interrupted_folder_resumes_from_its_last_checkpoint(tmp_path):
    folder = tmp_path / "run"
    config = member_config(folder)
    write_config(folder, config)
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "last.ckpt").write_bytes(b"")
    start = plan_start(folder, config)
    assert not start.finished and start.ckpt_path == str(folder / "checkpoints" / "last.ckpt")
    assert start.message == f"resuming the interrupted run from {folder / 'checkpoints' / 'last.ckpt'}"
    # a continuation of another folder's checkpoint, stopped and run again, goes on from its own last epoch end
    continued = plan_start(folder, config, ckpt_path=str(tmp_path / "elsewhere.ckpt"))
    assert continued.ckpt_path == str(folder / "checkpoints" / "last.ckpt")
    # a checkpoint of the folder itself, named explicitly, is where it restarts
    (folder / "checkpoints" / "best-epoch000.ckpt").write_bytes(b"")
    explicit = plan_start(folder, config, ckpt_path=str(folder / "checkpoints" / "best-epoch000.ckpt"))
    assert explicit.ckpt_path == str(folder / "checkpoints" / "best-epoch000.ckpt")
    assert plan_start(tmp_path / "new", config, ckpt_path="elsewhere.ckpt").ckpt_path == "elsewhere.ckpt"


def test_finished_folder_trains_nothing_and_says_when_it_finished(tmp_path):
    folder = tmp_path / "run"
    config = member_config(folder)
    write_config(folder, config)
    (folder / "COMPLETE").write_text("2026-01-02T03:04:05+00:00\n")
    start = plan_start(folder, config)
    assert start.finished and start.ckpt_path is None
    assert start.message.startswith(f"{folder} holds a run finished at 2026-01-02T03:04:05+00:00: nothing to train")


ANOTHER_IMBALANCE = (("imb=20",), ("imb=10", "trainer.enable_progress_bar=false"))
ANOTHER_IMBALANCE_KEYS = "data.imbalance_ratio (20 vs 10); imb (20 vs 10)"
# The second cohort of ``data=mri data.root=...`` is refused, not skipped as finished (issue 13, item 1).
ANOTHER_COHORT = (("data=mri", "data.root=cohortA"), ("data=mri", "data.root=cohortB"))
ANOTHER_COHORT_KEYS = "data.root ('cohortA' vs 'cohortB')"


@pytest.mark.parametrize("complete", [True, False])
@pytest.mark.parametrize(
    ("settings", "keys"), [(ANOTHER_IMBALANCE, ANOTHER_IMBALANCE_KEYS), (ANOTHER_COHORT, ANOTHER_COHORT_KEYS)]
)
def test_folder_of_another_configuration_is_refused_naming_the_keys(tmp_path, complete, settings, keys):
    folder = tmp_path / "run"
    write_config(folder, member_config(folder, *settings[0]))
    if complete:
        (folder / "COMPLETE").write_text("2026-01-02T03:04:05+00:00\n")
    with pytest.raises(ValueError) as error:
        plan_start(folder, member_config(folder, *settings[1]))
    state = "a finished run" if complete else "an interrupted run"
    assert str(error.value) == (
        f"{folder} holds {state} with another configuration (folder vs this command): "
        f"{keys}; give this run its own folder with run_name=<new name>"
    )


def test_where_outputs_go_and_what_is_printed_are_not_identity(tmp_path):
    folder = tmp_path / "run"
    write_config(folder, member_config(folder, "data=mri", "data.root=cohortA"))
    quiet = ["trainer.enable_progress_bar=false", "data.cache_dir=elsewhere", "data.eval_batch_size=2"]
    check_same_run(folder, member_config(folder, "data=mri", "data.root=cohortA", "paths.output_root=o", *quiet))


def test_another_seed_is_another_run(tmp_path):
    folder = tmp_path / "run"
    write_config(folder, member_config(folder))  # seed 0
    config = member_config(folder)
    config["seed"] = config["data"]["seed"] = config["data"]["split_seed"] = 1
    with pytest.raises(ValueError, match=r"data.seed \(0 vs 1\); data.split_seed \(0 vs 1\); seed \(0 vs 1\)"):
        check_same_run(folder, config)


def test_only_a_folder_holding_what_hydra_wrote_is_new(tmp_path):
    assert is_new_folder(tmp_path / "absent")
    (tmp_path / "run" / ".hydra").mkdir(parents=True)
    (tmp_path / "run" / "train.log").write_text("")
    assert is_new_folder(tmp_path / "run")
    (tmp_path / "run" / "config.yaml").write_text("seed: 0\n")
    assert not is_new_folder(tmp_path / "run")


# ---------------------------------------------------------------- end to end (slow)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Two uninterrupted runs of the same command in two folders (``whole`` and ``again``)."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    for name in ("whole", "again"):
        result = train_in(folder, *DETERMINISTIC_DIGITS, f"run_name={name}")
        assert result.returncode == 0, result.stderr
    return folder


def without_timer(callback_states):
    """Callback states less the Timer's (training time) and ModelCheckpoint's ``current_score``: the score of the
    last best checkpoint written, which Lightning does not restore on resume and never reads (it stays None after a
    resume inside a plateau, where no best checkpoint is written)."""
    return {
        key: {name: value for name, value in state.items() if name != "current_score"}
        for key, state in callback_states.items()
        if key != "Timer"
    }


def assert_same_run(reference, other):
    """Bank, mu, weights, optimizer and callback states, best checkpoint and test results all equal, bit for bit."""
    best = Path(json.loads((reference / "metrics.json").read_text())["best_checkpoint"]).name
    for name in ("last.ckpt", best):
        expected, got = load(reference / "checkpoints" / name), load(other / "checkpoints" / name)
        assert (got["epoch"], got["global_step"]) == (expected["epoch"], expected["global_step"]), name
        assert expected["state_dict"].keys() == got["state_dict"].keys()
        for key, value in expected["state_dict"].items():
            assert torch.equal(got["state_dict"][key], value), f"{name}: {key}"
        for index, state in expected["optimizer_states"][0]["state"].items():
            for key, value in state.items():
                assert torch.equal(got["optimizer_states"][0]["state"][index][key], value), f"{name}: momentum"
        # callback states (best score, early-stopping counters, mu schedule) equal, up to the folder in their paths;
        # the Timer's is the training time, which differs (tests/test_train_seconds.py)
        expected_states, got_states = (without_timer(checkpoint["callbacks"]) for checkpoint in (expected, got))
        assert str(got_states).replace(str(other), str(reference)) == str(expected_states), name
    assert torch.count_nonzero(load(reference / "checkpoints" / "last.ckpt")["state_dict"]["bank.multipliers"]) > 0
    expected_metrics = json.loads((reference / "metrics.json").read_text())
    got_metrics = json.loads((other / "metrics.json").read_text())
    for key in ("test", "best_val", "best_checkpoint", "final_penalty", "epochs_trained", "seeds"):
        assert got_metrics[key] == expected_metrics[key], key
    assert (other / "test_scores.csv").read_bytes() == (reference / "test_scores.csv").read_bytes()


@pytest.mark.slow
def test_same_command_twice_gives_identical_results(uninterrupted):
    assert_same_run(run_dir(uninterrupted, "whole"), run_dir(uninterrupted, "again"))
    metrics = json.loads((run_dir(uninterrupted, "whole") / "metrics.json").read_text())
    assert metrics["seeds"] == {"seed": 0, "data.seed": 0, "data.split_seed": 0}


@pytest.mark.slow
@pytest.mark.parametrize(("name", "returncode"), [("SIGKILL", -signal.SIGKILL), ("SIGTERM", 128 + signal.SIGTERM)])
def test_run_stopped_mid_epoch_resumes_to_the_uninterrupted_result(uninterrupted, tmp_path, name, returncode):
    command = [*DETERMINISTIC_DIGITS, *kill_at(STEPS_PER_EPOCH + 7, name), "run_name=stopped"]
    stopped = train_in(tmp_path, *command)
    assert stopped.returncode == returncode, stopped.stderr
    folder = run_dir(tmp_path, "stopped")
    assert not (folder / "COMPLETE").exists() and not (folder / "metrics.json").exists()
    # the only checkpoint is the end of the first epoch: nothing was saved in the middle of the second
    assert load(folder / "checkpoints" / "last.ckpt")["global_step"] == STEPS_PER_EPOCH
    if name == "SIGTERM":
        last_line = stopped.stderr.strip().splitlines()[-1]
        resume = f"it resumes from {folder}/checkpoints/last.ckpt"
        assert last_line == f"almlit: stopped by SIGTERM; rerun the same command: {resume}"
    resumed = train_in(tmp_path, *command)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming the interrupted run from {folder}/checkpoints/last.ckpt" in resumed.stdout
    assert_same_run(run_dir(uninterrupted, "whole"), folder)


@pytest.mark.slow
def test_rerunning_a_finished_run_touches_nothing(uninterrupted):
    folder = run_dir(uninterrupted, "whole")
    before = file_states(folder)
    result = train_in(uninterrupted, *DETERMINISTIC_DIGITS, "run_name=whole")
    assert result.returncode == 0, result.stderr
    assert f"{folder} holds a run finished at " in result.stdout and "test: auc=" not in result.stdout
    refused = train_in(uninterrupted, *DETERMINISTIC_DIGITS, "run_name=whole", "imb=10")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        f"almlit: error: {folder} holds a finished run with another configuration (folder vs this command): "
        "data.imbalance_ratio (20 vs 10); imb (20 vs 10); give this run its own folder with run_name=<new name>"
    )
    assert file_states(folder) == before


@pytest.mark.slow
def test_truncated_last_checkpoint_is_named_in_one_line_and_kept(uninterrupted, tmp_path):
    folder = run_dir(tmp_path, "cut")
    (folder / "checkpoints").mkdir(parents=True)
    whole = run_dir(uninterrupted, "whole")
    (folder / "config.yaml").write_text((whole / "config.yaml").read_text().replace(str(whole), str(folder)))
    (folder / "checkpoints" / "last.ckpt").write_bytes((whole / "checkpoints" / "last.ckpt").read_bytes()[:5000])
    result = train_in(tmp_path, *DETERMINISTIC_DIGITS, "run_name=cut")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"almlit: error: checkpoint {folder}/checkpoints/last.ckpt is truncated or corrupt (")
    assert lines[-1].endswith("delete it to train this run from the start, or pass ckpt_path=<an intact checkpoint>")
    assert "Traceback" not in result.stderr
    assert (folder / "checkpoints" / "last.ckpt").stat().st_size == 5000


@pytest.mark.slow
def test_run_killed_after_early_stopping_fired_stops_again_at_once(tmp_path):
    # min_delta=1 on the AUC: epoch 0 is the best, epoch 1 fires early stopping (patience 0)
    command = [
        "trainer.deterministic=true",
        "imb=20",
        "trainer.max_epochs=6",
        "callbacks.early_stopping.patience=0",
        "+callbacks.early_stopping.min_delta=1.0",
        "run_name=early",
    ]
    assert train_in(tmp_path, *command).returncode == 0
    folder = run_dir(tmp_path, "early")
    uninterrupted = json.loads((folder / "metrics.json").read_text())
    assert uninterrupted["epochs_trained"] == 2
    # killed after the checkpoint of the stopping epoch, before the COMPLETE marker
    (folder / "COMPLETE").unlink()
    (folder / "metrics.json").unlink()
    resumed = train_in(tmp_path, *command)
    assert resumed.returncode == 0, resumed.stderr
    metrics = json.loads((folder / "metrics.json").read_text())
    for key in ("epochs_trained", "test", "best_val", "best_checkpoint", "final_penalty"):
        assert metrics[key] == uninterrupted[key], key


# The best checkpoint is chosen on the epoch number, smallest first: epoch 0 stays the best and every later epoch is
# a plateau of the monitored value (nothing improves), as in the tail of a run waiting for early stopping.
PLATEAU = ["callbacks.model_checkpoint.monitor=epoch", "callbacks.model_checkpoint.mode=min"]


@pytest.mark.slow
def test_run_stopped_inside_a_plateau_resumes_from_the_last_epoch_end(tmp_path):
    whole = train_in(tmp_path, *DETERMINISTIC_DIGITS, *PLATEAU, "run_name=whole")
    assert whole.returncode == 0, whole.stderr
    reference = run_dir(tmp_path, "whole")
    assert json.loads((reference / "metrics.json").read_text())["best_checkpoint"] == "checkpoints/best-epoch000.ckpt"
    command = [*DETERMINISTIC_DIGITS, *PLATEAU, *kill_at(2 * STEPS_PER_EPOCH + 7, "SIGTERM"), "run_name=stopped"]
    stopped = train_in(tmp_path, *command)
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr
    folder = run_dir(tmp_path, "stopped")
    # stopped in the third epoch: last.ckpt is the end of the second (a plateau epoch), not of the best (the first)
    last = load(folder / "checkpoints" / "last.ckpt")
    assert (last["epoch"], last["global_step"]) == (1, 2 * STEPS_PER_EPOCH)
    resumed = train_in(tmp_path, *command)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming the interrupted run from {folder}/checkpoints/last.ckpt" in resumed.stdout
    assert_same_run(reference, folder)


@pytest.mark.slow
def test_continuation_in_a_new_folder_keeps_the_best_so_far_and_the_command_lines_patience(tmp_path):
    """``run_name=<new> ckpt_path=<old>/checkpoints/last.ckpt`` (issue 13, item 3): epoch 0 stays the best (PLATEAU),
    so the continued run tests the very weights the old run tested, from a copy in its own folder; the patience and
    learning rate given on the command line are the ones it trains with."""
    common = ["trainer.deterministic=true", "imb=20", *PLATEAU]
    old = train_in(tmp_path, *common, "trainer.max_epochs=2", "run_name=old")
    assert old.returncode == 0, old.stderr
    old_folder, folder = run_dir(tmp_path, "old"), run_dir(tmp_path, "new")
    ckpt = f"ckpt_path={old_folder}/checkpoints/last.ckpt"
    settings = ["trainer.max_epochs=3", "callbacks.early_stopping.patience=7", "optim.lr=0.0123"]
    new = train_in(tmp_path, *common, *settings, "run_name=new", ckpt)
    assert new.returncode == 0, new.stderr
    expected, got = (json.loads((path / "metrics.json").read_text()) for path in (old_folder, folder))
    assert got["best_checkpoint"] == expected["best_checkpoint"] == "checkpoints/best-epoch000.ckpt"
    assert got["test"] == expected["test"] and got["best_val"] == expected["best_val"]
    copied, original = (load(path / "checkpoints" / "best-epoch000.ckpt") for path in (folder, old_folder))
    for key, value in original["state_dict"].items():
        assert torch.equal(copied["state_dict"][key], value), key
    last = load(folder / "checkpoints" / "last.ckpt")
    assert last["epoch"] == 2
    (early_stopping,) = (state for key, state in last["callbacks"].items() if key.startswith("EarlyStopping"))
    assert early_stopping["patience"] == 7  # the command line's, not the checkpoint's 30
    assert last["optimizer_states"][0]["param_groups"][0]["lr"] == 0.0123  # the command line's, not the checkpoint's
    assert load(old_folder / "checkpoints" / "last.ckpt")["epoch"] == 1  # the old folder is left as it was
