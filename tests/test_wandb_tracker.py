"""``logger=wandb`` (:func:`almlit.runs.trackers.wandb_logger`): real offline W&B runs, read back from disk.

An offline run is a folder ``<save_dir>/wandb/offline-run-<time>-<id>/`` holding ``files/`` (what ``wandb sync``
uploads as the run's files) and ``run-<id>.wandb``, W&B's transaction log: a LevelDB-style log of protobuf
``Record`` messages (config updates, history rows, summary updates, saved files, the exit). :func:`records` reads it
with W&B's own message classes; what it holds is compared with what the test gave the logger, or (end to end) with
the run folder that the same run wrote: ``config.yaml``, ``logs/metrics.csv`` of the CSV logger, ``metrics.json``.
"""

import csv
import json
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from almlit.config import CONFIG_DIR
from almlit.runs.folder import CONFIG_FILE
from almlit.runs.trackers import log_config, log_run_folder, run_folder_files, wandb_logger
from tests.helpers.commands import run_in_process

wandb = pytest.importorskip("wandb")
from wandb.proto import wandb_internal_pb2  # noqa: E402  (after the skip: W&B is an optional extra)

# W&B's transaction log (wandb-core's store): a 7-byte file header (":W&B", magic, version), then LevelDB log blocks
# of 32 KiB whose chunks carry a 7-byte header (CRC, little-endian length, type: full, first, middle, last).
FILE_HEADER, BLOCK, CHUNK_HEADER = 7, 32768, 7
FULL, LAST = 1, 4


@pytest.fixture(autouse=True)
def offline_wandb(tmp_path, monkeypatch):
    """No W&B setting of this machine's environment, nothing written to its home, W&B's own lines silenced."""
    for name in ("WANDB_MODE", "WANDB_PROJECT", "WANDB_ENTITY", "WANDB_API_KEY", "WANDB_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")
    for name in ("WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "wandb_home" / name.lower()))
    monkeypatch.setenv("HOME", str(tmp_path / "wandb_home"))  # no ~/.netrc with an API key


def records(path):
    """The protobuf records of a ``run-<id>.wandb`` file, in order."""
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", data[:FILE_HEADER]
    offset, pending = FILE_HEADER, b""
    while offset + CHUNK_HEADER <= len(data):
        if BLOCK - offset % BLOCK < CHUNK_HEADER:  # a block's tail too short for a chunk header is padding
            offset += BLOCK - offset % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[offset : offset + CHUNK_HEADER])
        pending += data[offset + CHUNK_HEADER : offset + CHUNK_HEADER + length]
        offset += CHUNK_HEADER + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def item_key(item):
    return "/".join(item.nested_key) if item.nested_key else item.key


@dataclass
class OfflineRun:
    """What an offline run's transaction log holds."""

    folder: Path
    config: dict = field(default_factory=dict)  # the last value of every key
    history: list = field(default_factory=list)  # one dict per logged row
    summary: dict = field(default_factory=dict)
    files: list = field(default_factory=list)  # paths below files/, as W&B recorded them
    exit_code: int | None = None


def read_offline_run(save_dir):
    """The one offline run below ``save_dir``, read back from its folder.

    ``run.finish()`` hands the run to W&B's service process, which writes the transaction log out on its own time;
    ``wandb.teardown()`` waits for it (as it does when the process that trained exits).
    """
    wandb.teardown()
    (folder,) = (Path(save_dir) / "wandb").glob("offline-run-*")
    (log,) = folder.glob("run-*.wandb")
    run = OfflineRun(folder)
    for record in records(log):
        kind = record.WhichOneof("record_type")
        if kind == "config":
            run.config.update({item_key(item): json.loads(item.value_json) for item in record.config.update})
        elif kind == "history":
            run.history.append({item_key(item): json.loads(item.value_json) for item in record.history.item})
        elif kind == "summary":
            run.summary.update({item_key(item): json.loads(item.value_json) for item in record.summary.update})
        elif kind == "files":
            run.files += [file.path for file in record.files.files]
        elif kind == "exit":
            run.exit_code = record.exit.exit_code
    return run


def series(run, name):
    """``(step, value)`` of one metric, the step being Lightning's ``trainer/global_step``."""
    return [(row["trainer/global_step"], row[name]) for row in run.history if name in row]


def composed(*overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("train", overrides=list(overrides))


def test_wandb_is_offline_by_default_and_adds_to_the_other_loggers(monkeypatch):
    assert list(composed("logger=wandb").logger) == ["csv", "wandb"]
    assert list(composed("logger=[mlflow,wandb]").logger) == ["csv", "mlflow", "wandb"]
    node = OmegaConf.to_container(composed("logger=wandb").logger.wandb)  # unresolved: save_dir is Hydra's run dir
    assert node["save_dir"] == "${paths.output_dir}"  # the run folder: <run folder>/wandb/offline-run-...
    assert OmegaConf.create(node).mode == "offline" and OmegaConf.create(node).project == "almlit"
    monkeypatch.setenv("WANDB_MODE", "online")  # W&B's own variable, as a W&B user has it set
    assert composed("logger=wandb").logger.wandb.mode == "online"
    assert composed("logger=wandb", "logger.wandb.mode=disabled").logger.wandb.mode == "disabled"


def test_an_unknown_mode_is_named(tmp_path):
    with pytest.raises(
        ValueError, match=r"^logger.wandb.mode=cloud is not one of W&B's modes: offline, online, disabled, shared$"
    ):
        wandb_logger(str(tmp_path), mode="cloud")
    assert not (tmp_path / "wandb").exists()


def test_missing_wandb_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb then raises ImportError
    with pytest.raises(
        ValueError, match=r"^logger=wandb needs the optional extra wandb: pip install 'almlit\[wandb\]' \(wandb is not"
    ):
        wandb_logger(str(tmp_path))


def test_online_without_an_api_key_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"^logger.wandb.mode=online: the W&B run cannot start: No API key configured"):
        wandb_logger(str(tmp_path / "run"), mode="online", project="almlit")


def test_config_metrics_and_run_folder_files_reach_an_offline_run(tmp_path):
    run_dir = tmp_path / "run"
    logger = wandb_logger(str(run_dir), project="almlit", name="digits_bce_binary_imb100_seed0")
    config = {"alm": {"penalty_init": 1e-05}, "metrics": {"tpr_levels": [0.98, 0.9]}, "trainer": {"plugins": []}}
    log_config([logger], config)
    logger.log_metrics({"val/fpr@98tpr": 0.25, "val/auc": 0.5}, step=3)
    logger.log_metrics({"val/fpr@98tpr": 0.125, "val/auc": 0.75}, step=7)
    for name in ("metrics.json", "roc.png", "roc_class3.png", "reliability.png", "config.yaml", "test_scores.csv"):
        (run_dir / name).write_text(name)
    log_run_folder([logger], run_dir)
    run = read_offline_run(run_dir)  # below the run folder: <run folder>/wandb/offline-run-...
    assert run.exit_code == 0  # finished: a later run in this process starts its own
    assert {key: run.config[key] for key in config} == config  # nested, numbers as numbers
    assert series(run, "val/fpr@98tpr") == [(3, 0.25), (7, 0.125)]
    assert run.summary["val/auc"] == 0.75
    shared = ["run/metrics.json", "run/roc.png", "run/roc_class3.png", "run/reliability.png", "run/config.yaml"]
    assert sorted(path for path in run.files if path.startswith("run/")) == sorted(shared)
    for path in shared:  # copies, below a folder named as the run folder (W&B's own config.yaml stays apart)
        copy = run.folder / "files" / path
        assert not copy.is_symlink() and copy.read_text() == Path(path).name
    assert wandb.run is None


def test_a_disabled_run_keeps_nothing_and_warns_of_nothing(tmp_path, capsys):
    run_dir = tmp_path / "run"
    logger = wandb_logger(str(run_dir), mode="disabled")
    log_config([logger], {"alm": {"penalty_init": 1e-05}})
    logger.log_metrics({"val/auc": 0.5}, step=3)
    (run_dir / "metrics.json").write_text("{}")
    log_run_folder([logger], run_dir)
    assert sorted(path.name for path in run_dir.iterdir()) == ["metrics.json"]
    assert capsys.readouterr().err == "" and wandb.run is None


def csv_history(run_dir, name):
    """``(step, value)`` of one metric in the run folder's ``logs/metrics.csv``."""
    with (run_dir / "logs" / "metrics.csv").open() as stream:
        return [(int(row["step"]), float(row[name])) for row in csv.DictReader(stream) if row.get(name)]


@pytest.mark.slow
def test_a_digits_run_is_read_back_from_its_offline_run(tmp_path, monkeypatch):
    outcome = run_in_process("almlit.train", ["logger=wandb", "trainer.max_epochs=2"], tmp_path, monkeypatch)
    assert outcome.returncode == 0, outcome.stderr
    run_dir = tmp_path / "run"
    run = read_offline_run(run_dir)
    assert run.exit_code == 0
    # config: every top-level node of the resolved config.yaml, as it is there
    written = OmegaConf.to_container(OmegaConf.load(run_dir / CONFIG_FILE))
    assert {key: run.config[key] for key in written} == json.loads(json.dumps(written))
    # epoch metrics: the history of val/auc is the CSV logger's, step for step; the test metrics are metrics.json's
    history, reference = series(run, "val/auc"), csv_history(run_dir, "val/auc")
    assert [step for step, _ in history] == [step for step, _ in reference] and len(history) == 2
    assert [value for _, value in history] == pytest.approx([value for _, value in reference])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for name, value in metrics["test"].items():
        assert run.summary[f"test/{name}"] == pytest.approx(value)
    # files: the finished run folder's, as they are there
    shared = {path.name for path in run_folder_files(run_dir)}
    assert shared >= {"config.yaml", "metrics.json", "roc.png", "operating_points.json", "reliability.png"}
    assert {path.removeprefix("run/") for path in run.files if path.startswith("run/")} == shared
    for name in shared:
        assert (run.folder / "files" / "run" / name).read_bytes() == (run_dir / name).read_bytes()
