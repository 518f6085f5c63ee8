"""Run folders written by an earlier layout stay the same runs after classes move.

``fixtures/c2ad181/`` was written by main at commit c2ad181, before the run lifecycle moved into ``almlit.runs``:
``digits_bce_binary_imb20_seed0/`` is the folder of ``python -m almlit.train trainer.max_epochs=1 imb=20`` (quiet;
without its pictures, calibration scores and logs), ``cifar10_lt_config.yaml`` the resolved config of ``data=cifar10_lt
loss=ldam_drw alm=m1 logger=mlflow`` (``almlit.ensemble.compose_member`` + ``resolve_member`` at that commit).
"""

import importlib
import shutil
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from almlit.report.ensemble_members import check_members, compose_member, resolve_member
from almlit.runs.identity import comparable, differences
from almlit.runs.moved_targets import MOVED_TARGETS, normalise_target
from almlit.runs.reader import read_config, read_metrics, read_scores
from almlit.runs.resume import LAST_CHECKPOINT, plan_start
from tests.helpers.commands import QUIET, main_in_process

FIXTURES = Path(__file__).parent / "fixtures" / "c2ad181"
DIGITS_RUN = FIXTURES / "digits_bce_binary_imb20_seed0"
DIGITS_OVERRIDES = ["trainer.max_epochs=1", "imb=20"]


def located(path):
    """What a dotted path names, imported the plain way (the test's own lookup, not the code's)."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def targets(node, prefix=""):
    """``{dotted key: _target_}`` for every ``_target_`` of a nested config, list items by index."""
    found = {}
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if key == "_target_":
            found[prefix.rstrip(".")] = value
        else:
            found.update(targets(value, f"{prefix}{key}."))
    return found


@pytest.fixture
def digits_run(tmp_path):
    """A copy of main's digits run folder at the path ``almlit.train`` gives it under ``tmp_path``."""
    run_dir = tmp_path / "outputs" / "runs" / DIGITS_RUN.name
    shutil.copytree(DIGITS_RUN, run_dir)
    return run_dir


def test_normalise_target_names_the_defining_module():
    assert (
        normalise_target("almlit.callbacks.PenaltySchedule")
        == located("almlit.callbacks.PenaltySchedule").__module__ + ".PenaltySchedule"
    )
    assert normalise_target("almlit.losses.BCELoss") != normalise_target("almlit.losses.FocalLoss")
    # outside almlit and unknown paths: compared as written, nothing imported
    assert normalise_target("torch.optim.SGD") == "torch.optim.SGD"
    assert normalise_target("almlit.no_such_module.Thing") == "almlit.no_such_module.Thing"


def test_moved_targets_point_from_gone_paths_to_importable_ones():
    for old, new in MOVED_TARGETS.items():
        with pytest.raises((ImportError, AttributeError)):
            located(old)  # no re-export left behind at the old path
        assert callable(located(new)), new


MOVING = {"alm.schedule", "callbacks.stop_on_signal", "callbacks.carry_over_best", "callbacks.keep_early_stop"}


@pytest.mark.parametrize(
    ("config_file", "overrides", "compared"),
    [
        (DIGITS_RUN / "config.yaml", DIGITS_OVERRIDES, {*MOVING, "trainer.plugins.0", "logger.csv", "loss"}),
        (
            FIXTURES / "cifar10_lt_config.yaml",
            # main's data=cifar10_lt loss=ldam_drw, today (tests/experiments/test_config_groups.py)
            ["experiment=cifar10_lt", "loss=ldam", "model.normed_head=true", "callbacks=deferred_reweighting"]
            + ["alm=m1", "logger=mlflow"],
            {*MOVING, "scheduler", "logger.mlflow", "callbacks.deferred_reweighting"},
        ),
    ],
)
def test_every_target_of_main_still_names_a_class_of_today(config_file, overrides, compared):
    """Each ``_target_`` main wrote resolves, through the moved table, to the object today's config names at the same
    key (both looked up by the test's plain import)."""
    old = targets(OmegaConf.to_container(OmegaConf.load(config_file)))
    today = targets(resolve_member(compose_member(overrides), Path("run")))
    shared = sorted(set(old) & set(today))
    assert compared <= set(shared)
    for key in shared:
        assert located(MOVED_TARGETS.get(old[key], old[key])) is located(today[key]), key


def test_finished_run_of_main_is_the_same_run(digits_run):
    today = resolve_member(compose_member(DIGITS_OVERRIDES), digits_run)
    start = plan_start(digits_run, today)
    assert start.finished and start.ckpt_path is None
    assert differences(comparable(read_config(digits_run)), comparable(today)) == []
    assert read_metrics(digits_run)["class_counts"] == {"train": [948, 47]}
    scores = read_scores(digits_run / "test_scores.csv")
    assert set(scores.labels.tolist()) == {0, 1} and scores.scores.shape == scores.labels.shape


def test_interrupted_run_of_main_resumes_from_its_checkpoint(digits_run):
    (digits_run / "COMPLETE").unlink()
    start = plan_start(digits_run, resolve_member(compose_member(DIGITS_OVERRIDES), digits_run))
    assert not start.finished and start.ckpt_path == str(digits_run / LAST_CHECKPOINT)
    checkpoint = torch.load(start.ckpt_path, weights_only=False, map_location="cpu")  # nothing pickled by path
    assert checkpoint["epoch"] == 0 and "PenaltySchedule" in checkpoint["callbacks"]


def test_member_folder_of_main_joins_an_ensemble(tmp_path):
    shutil.copytree(DIGITS_RUN, tmp_path / "member0")
    expected = resolve_member(compose_member(DIGITS_OVERRIDES), tmp_path / "member0")
    assert check_members(tmp_path, 2, expected) == [1]


def test_another_class_is_another_configuration(digits_run):
    not_a_schedule = "alm.schedule._target_=almlit.callbacks.NonFiniteLossCheck"
    today = resolve_member(compose_member([*DIGITS_OVERRIDES, not_a_schedule]), digits_run)
    with pytest.raises(ValueError, match=r"another configuration .*alm\.schedule\._target_ \("):
        plan_start(digits_run, today)
    other_loss = resolve_member(compose_member([*DIGITS_OVERRIDES, "loss=a_fl"]), digits_run)
    with pytest.raises(
        ValueError, match=r"loss\._target_ \('almlit\.losses\..*BCELoss' vs 'almlit\.losses\..*AsymmetricFocalLoss'\)"
    ):
        plan_start(digits_run, other_loss)


@pytest.mark.slow
def test_interrupted_run_of_main_finishes_under_today_code(digits_run, monkeypatch):
    (digits_run / "COMPLETE").unlink()
    result = main_in_process("almlit.train", [*QUIET, *DIGITS_OVERRIDES], digits_run.parents[2], monkeypatch)
    assert result.returncode == 0, result.stderr
    assert f"resuming the interrupted run from {digits_run / LAST_CHECKPOINT}" in result.stdout
    assert (digits_run / "COMPLETE").is_file()
