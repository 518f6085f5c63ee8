"""``hydra/launcher=stacked``: a sweep's jobs trained as stacks give the folders and (within the stacking tolerance of
tests/stacking/test_equivalence.py) the scores of the same sweep run job by job by Hydra's basic launcher."""

from pathlib import Path

import pytest
import torch
import yaml
from omegaconf import OmegaConf

from almlit.bad_overrides import BadOverride, stacked_sweep_overrides
from almlit.report.ensemble_members import compose_member, resolve_member
from almlit.runs.folder import COMPLETE_FILE
from almlit.stacking.launcher import Sweep, SweepJob, launch_stacked, stack_plan, stackable
from tests.helpers.commands import QUIET, main_in_process
from tests.helpers.file_tree import file_states
from tests.helpers.stack_runs import SCORE_TOLERANCE, saved_test_scores

# ---------------------------------------------------------------- which jobs stack together (fast)


def job(index, **data):
    """A job whose resolved config has the small CNN of ``width`` and the data settings ``data``."""
    width = data.pop("width", 4)
    resolved = {"model": {"name": "small_cnn", "width": width}, "num_outputs": 1, "num_classes": 2, "data": data}
    return SweepJob(index, OmegaConf.create({}), Path(f"job{index}"), resolved)


def test_jobs_of_one_architecture_stack_in_grid_order_and_the_others_stack_apart():
    jobs = [
        job(0, batch_size=64),
        job(1, batch_size=64),
        job(2, batch_size=32),  # another batch shape
        job(3, batch_size=64),
        job(4, batch_size=64, width=8),  # another network
        job(5, batch_size=64),
        job(6, batch_size=32),
    ]
    plan = [[one.index for one in part] for part in stack_plan(jobs, 3)]
    assert plan == [[0, 1, 3], [5], [2, 6], [4]]
    assert [[one.index for one in part] for part in stack_plan(jobs, 8)] == [[0, 1, 3, 5], [2, 6], [4]]


def composed_job(tmp_path, *overrides):
    run_dir = tmp_path / "job"
    return SweepJob(0, OmegaConf.create({}), run_dir, resolve_member(compose_member(list(overrides)), run_dir))


def test_a_job_stacks_unless_finished_or_with_a_setting_a_stack_cannot_reproduce(tmp_path):
    plain = composed_job(tmp_path)
    assert stackable(plain)
    assert not stackable(composed_job(tmp_path, "loss=cb_bce", "callbacks=deferred_reweighting"))
    assert not stackable(composed_job(tmp_path, "trainer.precision=bf16-mixed"))
    (plain.run_dir / "checkpoints").mkdir(parents=True)
    (plain.run_dir / "checkpoints" / "last.ckpt").write_bytes(b"")  # an interrupted run: it resumes in its stack
    assert stackable(plain)
    (plain.run_dir / COMPLETE_FILE).write_text("2026-01-01T00:00:00+00:00\n")  # finished: the task function skips it
    assert not stackable(plain)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        (["-m", "sweep.stack=true", "seed=0,1"], ["-m", "hydra/launcher=stacked", "seed=0,1"]),
        (["sweep.stack=4", "--multirun"], ["hydra/launcher=stacked", "hydra.launcher.stack=4", "--multirun"]),
        (["+sweep.stack=TRUE", "hydra.mode=MULTIRUN"], ["hydra/launcher=stacked", "hydra.mode=MULTIRUN"]),
        (["-m", "sweep.stack=false", "seed=0,1"], ["-m", "seed=0,1"]),
        (["-m", "sweep=alm_stage1", "seed=0,1"], ["-m", "sweep=alm_stage1", "seed=0,1"]),
    ],
)
def test_issue_18s_sweep_stack_is_read_as_the_stacked_launcher(written, read):
    assert stacked_sweep_overrides(written) == read


NOT_A_STACK = "sweep.stack must be true, false or the jobs per stack (an integer >= 1)"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["-m", "sweep.stack=maybe"],
            "sweep.stack must be true, false or the jobs per stack (an integer >= 1), got 'maybe'",
        ),
        (["-m", "sweep.stack=0"], "sweep.stack must be true, false or the jobs per stack (an integer >= 1), got '0'"),
        (["sweep.stack=true"], "sweep.stack stacks the jobs of a sweep: add -m (python -m almlit.train -m ...)"),
    ],
)
def test_a_sweep_stack_value_that_is_no_stack_is_refused(arguments, message):
    with pytest.raises(BadOverride) as refusal:
        stacked_sweep_overrides(arguments)
    assert str(refusal.value) == message


@pytest.mark.parametrize("stack", [0, "abc", True])
def test_a_stack_size_below_one_or_not_an_integer_is_refused_in_one_line(stack, capsys):
    with pytest.raises(SystemExit) as exit_:
        launch_stacked(Sweep(OmegaConf.create({}), None, None), [], 0, stack)
    assert exit_.value.code == 2
    message = capsys.readouterr().err.strip()
    assert (
        message
        == f"almlit: error: hydra.launcher.stack must be an integer >= 1 (members trained as one model), got {stack!r}"
    )


# ---------------------------------------------------------------- a 2 x 2 grid, stacked and job by job (slow)

GRID = [
    "+sweep=alm_stage1",
    "data=digits",
    "loss=bce",
    "model.width=4",
    "trainer.max_epochs=2",
    "optim.lr=0.05",
    "alm.penalty_init=1e-3,1e-2",
    "alm.schedule.growth=2,3",
]
SWEEP = Path("outputs/sweeps/alm_stage1_digits_bce_imb100")


def sweep(cwd, monkeypatch, *extra):
    cwd.mkdir(exist_ok=True)
    outcome = main_in_process("almlit.train", ["--multirun", *QUIET, *GRID, *extra], cwd, monkeypatch)
    assert outcome.returncode == 0, outcome.stderr
    return outcome


def folder_text(path, root):
    return path.read_text().replace(str(root.resolve()), "<root>")


@pytest.mark.slow
def test_a_stacked_grid_gives_the_folders_and_scores_of_the_grid_run_job_by_job(tmp_path, monkeypatch):
    basic, stacked = tmp_path / "basic", tmp_path / "stacked"
    sweep(basic, monkeypatch)
    printed = sweep(stacked, monkeypatch, "sweep.stack=4").stdout  # issue 18's spelling of the launcher's
    assert "training 4 of 4 jobs as stacks of 4" in printed
    assert printed.count("test: auc=") == 4
    names = sorted(path.name for path in (basic / SWEEP).iterdir() if path.is_dir())
    assert names == [
        f"alm.penalty_init={mu0},alm.schedule.growth={rho},alm=binary,model.width=4,optim.lr=0.05,trainer.max_epochs=2"
        for mu0 in ("0.001", "0.01")
        for rho in ("2", "3")
    ]
    assert sorted(path.name for path in (stacked / SWEEP).iterdir() if path.is_dir()) == names
    for name in names:
        alone, member = basic / SWEEP / name, stacked / SWEEP / name
        files = {path.relative_to(alone) for path in alone.rglob("*") if path.is_file()}
        assert {path.relative_to(member) for path in member.rglob("*") if path.is_file()} == files
        assert folder_text(member / "config.yaml", stacked) == folder_text(alone / "config.yaml", basic)
        assert (member / ".hydra/overrides.yaml").read_text() == (alone / ".hydra/overrides.yaml").read_text()
        mine, theirs = (yaml.safe_load((folder / "metrics.json").read_text()) for folder in (member, alone))
        for key in ("best_checkpoint", "epochs_trained", "final_penalty", "seeds"):
            assert mine[key] == theirs[key], key
        torch.testing.assert_close(saved_test_scores(member), saved_test_scores(alone), rtol=0, atol=SCORE_TOLERANCE)

    trained = file_states(stacked / SWEEP)
    again = sweep(stacked, monkeypatch, "hydra/launcher=stacked").stdout  # nothing trained: the same job folders
    assert "test: auc=" not in again and "training" not in again
    assert again.count("holds a run finished at ") == 4
    assert file_states(stacked / SWEEP) == {
        **trained,
        Path("multirun.yaml"): file_states(stacked / SWEEP)[Path("multirun.yaml")],
    }

    choices = [
        main_in_process("almlit.select", [str(folder / SWEEP)], folder, monkeypatch).stdout.splitlines()
        for folder in (basic, stacked)
    ]
    assert [line for line in choices[0] if line.startswith("chosen:")] == [
        line for line in choices[1] if line.startswith("chosen:")
    ]
    assert any(line.startswith("chosen: alm.penalty_init=") for line in choices[1])
