"""Sweep, launcher and experiment configs compose with the real conf/ tree (no training)."""

import math
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from almlit.report.experiments import load_experiment
from almlit.train import CONFIG_DIR
from tests.helpers.commands import REPO_ROOT
from tests.helpers.configs import SWEEP_RUNS

EXPERIMENTS = sorted((REPO_ROOT / "experiments").glob("*.yaml"))


def composed(*overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


def test_every_sweep_config_is_tested():
    assert sorted(path.stem for path in (Path(CONFIG_DIR) / "sweep").glob("*.yaml")) == sorted(SWEEP_RUNS)


@pytest.mark.parametrize(("name", "runs"), SWEEP_RUNS.items())
def test_sweep_configs_give_the_papers_grids(name, runs):
    text = (Path(CONFIG_DIR) / "sweep" / f"{name}.yaml").read_text().splitlines()
    assert text[0] == "# @package _global_" and text[1].startswith(f"# python -m almlit.train -m +sweep={name} ")
    config = composed(f"+sweep={name}", "data=cifar10", "imb=200")
    assert math.prod(len(str(values).split(",")) for values in config.hydra.sweeper.params.values()) == runs
    # the sweep folder is resolved before any job runs, when Hydra's `hydra:` resolver has no config yet
    HydraConfig.instance().cfg = None
    loss = "bce_" if name.startswith("alm") else ""  # a baseline's sweep name says its loss
    assert config.hydra.sweep.dir == f"outputs/sweeps/{name}_cifar10_{loss}imb200"  # no time stamp: reruns find it


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
    target = experiment.table + ("-zoo" if "_zoo_" in path.stem else "")
    assert path.read_text().startswith(f"# make {target} ")
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        for row, overrides in experiment.rows.items():
            config = compose("train", overrides=[*experiment.common, *overrides])
            assert (config.alm.constraint is None) == ("ALM" not in row), row
            for override in overrides:
                key, _, value = override.partition("=")
                if "." in key or key == "num_outputs":  # a number (1e-7 as 1e-07) or a flag (true)
                    actual = OmegaConf.select(config, key)
                    assert str(actual).lower() == value or float(actual) == float(value), (row, override)


def test_zoo_files_add_the_peer_methods_to_table1():
    for imb in (100, 200):
        paper = load_experiment(REPO_ROOT / "experiments" / f"table1_cifar10_imb{imb}.yaml")
        zoo = load_experiment(REPO_ROOT / "experiments" / f"table1_zoo_cifar10_imb{imb}.yaml")
        assert (zoo.table, zoo.setting, zoo.common, zoo.members) == (paper.table, paper.setting, paper.common, 10)
        assert list(zoo.rows)[: len(paper.rows)] == list(paper.rows)
        assert {"AUCM", "pAUC-1W", "pAUC-2W", "Balanced Softmax", "LA", "VS"} <= set(zoo.rows)
        assert zoo.metrics[-2:] == ("pauc@30fpr", "tpauc@50tpr30fpr")


def write_yaml(path, text):
    path.write_text(text)
    return path


def test_extends_inherits_keys_and_appends_rows(tmp_path):
    write_yaml(
        tmp_path / "base.yaml",
        "table: t\nsetting: s\ntitle: T\nmembers: 3\nmetrics: [auc]\ncommon: [imb=5]\nrows:\n  A: [loss=bce]\n",
    )
    child = write_yaml(tmp_path / "child.yaml", "extends: base.yaml\nmembers: 2\nrows:\n  B: [loss=s_ml]\n")
    experiment = load_experiment(child)
    assert (experiment.table, experiment.members, experiment.common) == ("t", 2, ("imb=5",))
    assert experiment.rows == {"A": ("loss=bce",), "B": ("loss=s_ml",)}


@pytest.mark.parametrize(
    ("child", "message"),
    [
        ("extends: missing.yaml\nrows: {B: [x=1]}\n", r"experiment file .*missing.yaml not found"),
        ("extends: child.yaml\nrows: {B: [x=1]}\n", r"child.yaml extends itself"),
        ("extends: base.yaml\nrows: {A: [x=1]}\n", r"repeats the row 'A' of the file it extends \(base.yaml\)"),
    ],
)
def test_extends_errors_name_the_file(tmp_path, child, message):
    write_yaml(
        tmp_path / "base.yaml",
        "table: t\nsetting: s\ntitle: T\nmembers: 1\nmetrics: [auc]\ncommon: []\nrows:\n  A: [loss=bce]\n",
    )
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        load_experiment(write_yaml(tmp_path / "child.yaml", child))
