"""Sweep job folders are named after the jobs' own values: the same sweep command finds its folders again.

The fast tests expand the grids as Hydra's BasicSweeper does (its own ``split_arguments``) and resolve each job's
folder from the real conf/ tree; the expected names are written out by hand. The slow test runs a real sweep on the
embedded digits three times: as is, again (nothing trained), and with a value added to its grid (only that job
trained, an interrupted one resumed).
"""

import hashlib
import re

import pytest
from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser

from almlit import select
from almlit.runs.resume import MAX_JOB_FOLDER, job_folder_name
from almlit.train import CONFIG_DIR
from tests.helpers.commands import QUIET, run_module
from tests.helpers.configs import SWEEP_RUNS
from tests.helpers.file_tree import file_states

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d")


def composed(*overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


def job_overrides(*arguments):
    """Every job's overrides of ``python -m almlit.train -m <arguments>``, as Hydra's BasicSweeper expands them:
    the sweep config's ``hydra.sweeper.params`` first, then the command line."""
    parsed = OverridesParser.create().parse_overrides(list(arguments))
    config = composed(*(override.input_line for override in parsed if not override.is_sweep_override()))
    params = [f"{key}={value}" for key, value in (config.hydra.sweeper.params or {}).items()]
    (batch,) = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides([*params, *arguments]), None)
    return batch


def job_folders(*arguments):
    """``(sweep folder, job folder)`` of every job of ``python -m almlit.train -m <arguments>``.

    The first job's config is composed; each job's folder is resolved with that job's overrides as its
    ``hydra.overrides.task`` (what Hydra composes for the job), which is all the job folder depends on in these grids.
    """
    jobs = job_overrides(*arguments)
    config = composed(*jobs[0])
    folders = []
    for job in jobs:
        config.hydra.overrides.task = job
        folders.append((config.hydra.sweep.dir, config.hydra.sweep.subdir))
    return folders


# ---------------------------------------------------------------- the name of a job folder


def test_job_folder_lists_the_jobs_own_overrides_sorted_less_the_named_keys():
    overrides = ["alm=binary", "alm.penalty_init=1e-07", "+sweep=alm_grid", "loss=bce", "data=cifar10", "imb=100"]
    assert job_folder_name(overrides, ["sweep", "data", "loss", "imb"]) == "alm.penalty_init=1e-07,alm=binary"
    everything = "+sweep=alm_grid,alm.penalty_init=1e-07,alm=binary,data=cifar10,imb=100,loss=bce"
    assert job_folder_name(overrides) == everything


def test_keys_that_change_no_training_stay_out_and_run_name_and_seed_stay_in():
    overrides = [
        "loss=bce",
        "paths.output_root=/scratch/me/outputs",
        "data.download=false",
        "data.cache_dir=/scratch/cache",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "seed=3",
        "run_name=again",
    ]
    assert job_folder_name(overrides) == "loss=bce,run_name=again,seed=3"
    assert job_folder_name(["trainer.enable_progress_bar=false"]) == "default"


def test_the_data_read_names_the_folder():
    """Two cohorts, or CIFAR files at two roots, are two runs (issue 13, item 1): data.root and paths.data_dir, which
    data.root is derived from, stay in the name."""
    assert job_folder_name(["data=mri", "data.root=cohortA"]) == "data.root=cohortA,data=mri"
    assert job_folder_name(["paths.data_dir=/scratch/data"]).startswith("paths.data_dir=_scratch_data_")
    folders = job_folders("data=mri", "data.root=cohortA,cohortB")
    assert folders == [
        ("outputs/multiruns", "data.root=cohortA,data=mri"),
        ("outputs/multiruns", "data.root=cohortB,data=mri"),
    ]


def test_unsafe_characters_give_a_hashed_name_distinct_from_its_safe_twin():
    text = "metrics.tpr_levels=[0.9,0.8],monitor=val/accuracy"
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    name = job_folder_name(["monitor=val/accuracy", "metrics.tpr_levels=[0.9,0.8]"])
    assert name == f"metrics.tpr_levels=_0.9,0.8_,monitor=val_accuracy_{digest}"
    assert job_folder_name(["monitor=val_accuracy", "metrics.tpr_levels=_0.9,0.8_"]) != name


def test_long_names_are_cut_and_stay_distinct():
    many = [f"+callbacks.extra{index}.patience={index}" for index in range(20)]
    names = {job_folder_name([*many, f"seed={seed}"]) for seed in range(5)}
    assert len(names) == 5
    assert all(len(name) == MAX_JOB_FOLDER for name in names)


# ---------------------------------------------------------------- the sweep configs


@pytest.mark.parametrize(("name", "runs"), SWEEP_RUNS.items())
def test_every_grid_point_gets_its_own_folder_without_a_time_stamp(name, runs):
    folders = job_folders(f"+sweep={name}", "data=cifar10", "imb=200")
    loss = "bce_" if name.startswith("alm") else ""
    assert {folder for folder, _ in folders} == {f"outputs/sweeps/{name}_cifar10_{loss}imb200"}
    assert len({job for _, job in folders}) == len(folders) == runs
    assert not any(TIMESTAMP.search(folder + job) or "/" in job for folder, job in folders)


def test_a_baseline_sweeps_folders_composed_job_by_job():
    """Each job composed on its own, as Hydra runs it: the folders written out by hand."""
    arguments = ["+sweep=baseline_a_fl", "data=cifar10", "imb=200", "trainer.enable_progress_bar=false"]
    folders = set()
    for job in job_overrides(*arguments):
        config = composed(*job)
        folders.add(f"{config.hydra.sweep.dir}/{config.hydra.sweep.subdir}")
    folder = "outputs/sweeps/baseline_a_fl_cifar10_imb200"
    assert folders == {f"{folder}/alm=none,loss.gamma={gamma},loss=a_fl" for gamma in ("0.5", "1", "2")}


def test_a_stage2_sweep_names_the_stage1_choice_in_every_job():
    arguments = ["+sweep=alm_stage2", "loss=bce", "data=cifar10", "imb=100", "alm.penalty_init=1e-5"]
    margins = ("0", "0.1", "0.25", "0.5", "1.0")
    expected = {f"alm.constraint.margin={margin},alm.penalty_init=1e-05,alm=binary" for margin in margins}
    assert {job for _, job in job_folders(*arguments)} == expected


def test_a_value_added_to_the_grid_adds_one_folder_and_moves_none():
    before = job_folders("+sweep=baseline_s_ml", "data=cifar10", "loss.margin=0.5,2")
    after = job_folders("+sweep=baseline_s_ml", "data=cifar10", "loss.margin=0.5,2,3")
    assert set(before) < set(after) and len(set(after)) == 3


def test_ad_hoc_multirun_jobs_are_named_after_their_overrides():
    folders = job_folders("loss=bce,a_fl", "alm.penalty_init=1e-3", "trainer.enable_progress_bar=false")
    assert folders == [
        ("outputs/multiruns", "alm.penalty_init=0.001,loss=bce"),
        ("outputs/multiruns", "alm.penalty_init=0.001,loss=a_fl"),
    ]


def test_ensemble_members_keep_the_folders_almlit_ensemble_gives_them():
    config = composed("seed=3", "hydra.sweep.dir=outputs/ensembles/x", "hydra.sweep.subdir=member${seed}")
    assert (config.hydra.sweep.dir, config.hydra.sweep.subdir) == ("outputs/ensembles/x", "member3")


# ---------------------------------------------------------------- a real sweep run three times (slow)


@pytest.mark.slow
def test_rerun_sweep_skips_finished_jobs_resumes_interrupted_ones_and_trains_only_new_ones(tmp_path, capsys):
    def sweep(gammas):
        common = ["+sweep=baseline_a_fl", "data=digits", "imb=20", "trainer.max_epochs=1", f"loss.gamma={gammas}"]
        return run_module("almlit.train", "--multirun", *QUIET, *common, cwd=tmp_path)

    folder = tmp_path / "outputs" / "sweeps" / "baseline_a_fl_digits_imb20"
    job = {gamma: folder / f"alm=none,loss.gamma={gamma},loss=a_fl,trainer.max_epochs=1" for gamma in ("0.5", "1", "2")}
    first = sweep("0.5,1")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("test: auc=") == 2
    assert all((job[gamma] / "COMPLETE").is_file() for gamma in ("0.5", "1")) and not job["2"].exists()
    trained = {gamma: file_states(job[gamma]) for gamma in ("0.5", "1")}

    again = sweep("0.5,1")  # e.g. a crashed sweep, or a SLURM job requeued: the same command
    assert again.returncode == 0, again.stderr
    assert "test: auc=" not in again.stdout
    for gamma in ("0.5", "1"):
        assert f"{job[gamma]} holds a run finished at " in again.stdout
        assert file_states(job[gamma]) == trained[gamma]

    # gamma=1 killed after its last checkpoint, before its COMPLETE marker; gamma=2 added to the grid
    (job["1"] / "COMPLETE").unlink()
    (job["1"] / "metrics.json").unlink()
    grown = sweep("0.5,1,2")
    assert grown.returncode == 0, grown.stderr
    assert f"{job['0.5']} holds a run finished at " in grown.stdout
    assert f"resuming the interrupted run from {job['1']}/checkpoints/last.ckpt" in grown.stdout
    assert grown.stdout.count("test: auc=") == 2  # gamma=1 tested again, gamma=2 trained
    assert file_states(job["0.5"]) == trained["0.5"]
    assert all((job[gamma] / "COMPLETE").is_file() for gamma in ("1", "2"))
    assert sorted(path.name for path in folder.iterdir() if path.is_dir()) == sorted(path.name for path in job.values())

    select.main([str(folder)])  # the two-stage choice reads the new layout
    assert "stage 1: loss.gamma" in capsys.readouterr().out
    assert (folder / "selection.yaml").is_file()
