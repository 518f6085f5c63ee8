"""Sweep, launcher and experiment configs compose with the real conf/ tree (no training)."""

import math

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from almlit.report.experiments import load_experiment
from almlit.train import CONFIG_DIR
from tests.conftest import REPO_ROOT

SWEEP_RUNS = {
    "alm_grid": 50,
    "alm_grid_code": 40,
    "alm_stage1": 10,
    "alm_stage2": 5,
    "baseline_s_ml": 3,
    "baseline_a_ml": 3,
    "baseline_s_fl": 3,
    "baseline_a_fl": 3,
    "baseline_w_bce": 3,
    "baseline_cb_bce": 3,
}
EXPERIMENTS = sorted((REPO_ROOT / "experiments").glob("*.yaml"))


def composed(*overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


def test_every_sweep_config_is_tested():
    assert sorted(path.stem for path in (REPO_ROOT / "conf" / "sweep").glob("*.yaml")) == sorted(SWEEP_RUNS)


@pytest.mark.parametrize(("name", "runs"), SWEEP_RUNS.items())
def test_sweep_configs_give_the_papers_grids(name, runs):
    text = (REPO_ROOT / "conf" / "sweep" / f"{name}.yaml").read_text().splitlines()
    assert text[0] == "# @package _global_" and text[1].startswith(f"# python -m almlit.train -m +sweep={name} ")
    config = composed(f"+sweep={name}", "data=cifar10", "imb=200")
    assert math.prod(len(str(values).split(",")) for values in config.hydra.sweeper.params.values()) == runs
    # the sweep folder is resolved before any job runs, when Hydra's `hydra:` resolver has no config yet
    HydraConfig.instance().cfg = None
    assert config.hydra.sweep.dir.startswith(f"outputs/sweeps/{name}_cifar10_")


def test_slurm_launcher_composes():
    pytest.importorskip(
        "hydra_plugins.hydra_submitit_launcher", reason="needs the slurm extra (hydra-submitit-launcher)"
    )
    launcher = composed("hydra/launcher=slurm", "+sweep=alm_grid", "hydra.launcher.partition=gpu").hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.partition, launcher.gpus_per_node, launcher.timeout_min) == ("gpu", 1, 240)


def test_experiment_files_cover_the_four_tables():
    tables = {load_experiment(path).table for path in EXPERIMENTS}
    assert tables == {"table1", "table2", "table3", "table4"}


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[path.stem for path in EXPERIMENTS])
def test_every_row_of_every_experiment_composes(path):
    experiment = load_experiment(path)
    assert path.read_text().startswith(f"# make {experiment.table} ")
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        for row, overrides in experiment.rows.items():
            config = compose("train", overrides=[*experiment.common, *overrides])
            assert (config.alm.constraint is None) == ("ALM" not in row), row
            for override in overrides:
                key, _, value = override.partition("=")
                if "." in key:
                    assert float(OmegaConf.select(config, key)) == float(value), (row, override)
