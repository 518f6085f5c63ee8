"""Experiment trackers (:mod:`almlit.runs.trackers`): ``logger=mlflow`` read back from a real local MLflow store.

The reference for what MLflow holds is the run folder that the same run wrote: ``config.yaml`` (parameters),
``logs/metrics.csv`` of the CSV logger beside it (metric history), ``metrics.json`` (test metrics, artifacts).
"""

import csv
import json
import sys

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from almlit.config import CONFIG_DIR
from almlit.runs.folder import COMPLETE_FILE, CONFIG_FILE
from almlit.runs.identity import comparable, flatten
from almlit.runs.resume import job_folder_name, plan_start
from almlit.runs.trackers import (
    build_loggers,
    check_tracking_uri,
    log_config,
    log_run_folder,
    mlflow_logger,
    mlflow_metric_name,
    run_folder_files,
)
from tests.helpers.commands import run_in_process

mlflow = pytest.importorskip("mlflow")

# The logger node of a run folder's config.yaml written before loggers were named (one CSV logger at `logger`).
EARLIER_LOGGER = {"_target_": "almlit.runs.csv_logger.ResumableCSVLogger", "name": "logs", "version": ""}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One local SQLite store for the module's tests (creating its tables takes seconds); each test its experiment."""
    return f"sqlite:///{tmp_path_factory.mktemp('store')}/mlruns.db"


def composed(*overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("train", overrides=list(overrides))


def resolved_config(run_dir, *overrides):
    """The resolved config of a run in ``run_dir``, as ``almlit.train`` would write it."""
    config = OmegaConf.to_container(composed(*overrides), resolve=False)
    config["paths"]["output_dir"] = str(run_dir)
    config["run_name"] = "digits_bce_binary_imb100_seed0"
    return OmegaConf.to_container(OmegaConf.create(config), resolve=True)


def test_metric_names_keep_their_at_sign_readable():
    assert mlflow_metric_name("test/fpr@98tpr") == "test/fpr_at_98tpr"
    assert mlflow_metric_name("val/tpauc@50tpr30fpr") == "val/tpauc_at_50tpr30fpr"
    assert mlflow_metric_name("val/auc") == "val/auc"


@pytest.mark.parametrize("uri", ["sqlite:///outputs/mlruns.db", "http://host:5000", "postgresql+psycopg2://h/db", "x"])
def test_known_tracking_uris_pass(uri):
    check_tracking_uri(uri)


def test_unknown_tracking_uri_scheme_is_named():
    with pytest.raises(ValueError, match=r"^logger.mlflow.tracking_uri=foo://x has the scheme foo, not one of"):
        check_tracking_uri("foo://x")


def test_missing_mlflow_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow then raises ImportError
    with pytest.raises(
        ValueError, match=r"^logger=mlflow needs the optional extra mlflow: pip install 'almlit\[mlflow\]'"
    ):
        mlflow_logger("sqlite:///mlruns.db")


def test_an_unreachable_server_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with pytest.raises(ValueError, match=r"^logger.mlflow.tracking_uri=http://127.0.0.1:9 cannot be opened: "):
        mlflow_logger("http://127.0.0.1:9", experiment_name="almlit")


def test_loggers_are_named_nodes_and_add_to_the_csv_logger():
    assert list(composed().logger) == ["csv"]
    assert list(composed("logger=mlflow").logger) == ["csv", "mlflow"]
    assert list(composed("logger=[mlflow,tensorboard]").logger) == ["csv", "mlflow", "tensorboard"]
    with pytest.raises(
        ValueError, match=r"^logger must name its loggers .*got one unnamed logger whose _target_ is x.Y$"
    ):
        build_loggers(OmegaConf.create({"_target_": "x.Y"}))
    assert build_loggers(None) == []


def test_logger_settings_are_no_part_of_a_runs_identity(tmp_path):
    today = resolved_config(tmp_path, "logger=mlflow", "logger.mlflow.experiment_name=other")
    earlier = {**today, "logger": {**EARLIER_LOGGER, "save_dir": str(tmp_path)}}
    assert comparable(earlier, keep_seeds=True) == comparable(today, keep_seeds=True)
    assert not any(key.startswith("logger") for key in comparable(today))
    # a finished run folder written with the earlier layout is found finished by the command with a tracker
    (tmp_path / CONFIG_FILE).write_text(yaml.safe_dump(earlier))
    (tmp_path / COMPLETE_FILE).write_text("2026-01-01T00:00:00+00:00\n")
    assert plan_start(tmp_path, today).finished


def test_a_sweep_job_folder_leaves_the_loggers_out():
    assert job_folder_name(["imb=50", "logger=mlflow", "logger.mlflow.run_name=x"]) == "imb=50"
    assert job_folder_name(["imb=50", "logger=[mlflow,tensorboard]"]) == job_folder_name(["imb=50"])


def test_a_failing_tracker_costs_one_warning_not_the_run(store, tmp_path, capsys):
    blocked = tmp_path / "not_a_folder"
    blocked.write_text("")  # artifacts cannot go below a file
    logger = mlflow_logger(store, artifact_location=str(blocked / "artifacts"), experiment_name="blocked")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("{}")
    capsys.readouterr()  # what opening the store printed
    log_run_folder([logger], tmp_path / "run")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "almlit: warning: the run folder's files were not logged to RunMLFlowLogger: "
    ), lines


def test_config_metrics_and_run_folder_files_reach_a_local_store(store, tmp_path):
    logger = mlflow_logger(store, str(tmp_path / "artifacts"), experiment_name="files")
    config = {"alm": {"penalty_init": 1e-05}, "metrics": {"tpr_levels": [0.98, 0.9]}, "trainer": {"plugins": []}}
    log_config([logger], config)
    logger.log_metrics({"val/fpr@98tpr": 0.25, "val/auc": 0.5}, step=3)
    logger.log_metrics({"val/fpr@98tpr": 0.125, "val/auc": 0.75}, step=7)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("metrics.json", "roc.png", "roc_class3.png", "config.yaml", "test_scores.csv", "COMPLETE"):
        (run_dir / name).write_text(name)
    log_run_folder([logger], run_dir)
    client = mlflow.MlflowClient(store)
    run = client.get_run(logger.run_id)
    assert run.data.params == {
        "alm.penalty_init": "1e-05",
        "metrics.tpr_levels": "[0.98, 0.9]",
        "trainer.plugins": "[]",
    }
    history = client.get_metric_history(logger.run_id, "val/fpr_at_98tpr")
    assert [(metric.step, metric.value) for metric in history] == [(3, 0.25), (7, 0.125)]
    artifacts = [artifact.path for artifact in client.list_artifacts(logger.run_id)]
    assert sorted(artifacts) == ["config.yaml", "metrics.json", "roc.png", "roc_class3.png"]
    copy = client.download_artifacts(logger.run_id, "roc_class3.png", str(tmp_path))
    assert open(copy).read() == "roc_class3.png"


def csv_history(run_dir, name):
    """``(step, value)`` of one metric in the run folder's ``logs/metrics.csv``."""
    with (run_dir / "logs" / "metrics.csv").open() as stream:
        return [(int(row["step"]), float(row[name])) for row in csv.DictReader(stream) if row.get(name)]


@pytest.mark.slow
def test_a_digits_run_is_read_back_from_the_local_store(tmp_path, monkeypatch):
    arguments = ["logger=mlflow", "trainer.max_epochs=2"]
    outcome = run_in_process("almlit.train", arguments, tmp_path, monkeypatch)
    assert outcome.returncode == 0, outcome.stderr
    run_dir = tmp_path / "run"
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path}/outputs/mlruns.db")
    (run,) = client.search_runs([client.get_experiment_by_name("almlit").experiment_id])
    assert run.info.status == "FINISHED"
    # parameters: every leaf of the resolved config.yaml, as text (Lightning keeps the first 250 characters)
    written = dict(flatten(OmegaConf.to_container(OmegaConf.load(run_dir / CONFIG_FILE))))
    assert {key: run.data.params[key] for key in written} == {key: str(value)[:250] for key, value in written.items()}
    assert run.data.params["alm.penalty_init"] == str(written["alm.penalty_init"])
    # epoch metrics: the history of val/auc is the CSV logger's, step for step; the test metrics are metrics.json's
    history = [(metric.step, metric.value) for metric in client.get_metric_history(run.info.run_id, "val/auc")]
    reference = csv_history(run_dir, "val/auc")
    assert [step for step, _ in history] == [step for step, _ in reference] and len(history) == 2
    assert [value for _, value in history] == pytest.approx([value for _, value in reference])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for name, value in metrics["test"].items():
        assert run.data.metrics[mlflow_metric_name(f"test/{name}")] == pytest.approx(value)
    # artifacts: the finished run folder's files, as they are there
    artifacts = {artifact.path for artifact in client.list_artifacts(run.info.run_id)}
    assert artifacts == {path.name for path in run_folder_files(run_dir)} >= {"config.yaml", "metrics.json", "roc.png"}
    copy = client.download_artifacts(run.info.run_id, "metrics.json", str(tmp_path))
    assert json.loads(open(copy).read()) == metrics
    # the same command with the earlier layout of the logger node in the folder's config.yaml: still finished
    config = yaml.safe_load((run_dir / CONFIG_FILE).read_text())
    config["logger"] = {**EARLIER_LOGGER, "save_dir": config["logger"]["csv"]["save_dir"]}
    (run_dir / CONFIG_FILE).write_text(yaml.safe_dump(config))
    again = run_in_process("almlit.train", arguments[1:], tmp_path, monkeypatch)
    assert again.returncode == 0 and "holds a run finished at" in again.stdout, again.stderr
