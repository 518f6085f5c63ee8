"""Experiment trackers beside the run folder: the loggers of ``conf/logger``, MLflow's store, W&B's offline runs, the
run folder's files.

``logger`` is a mapping of named Lightning loggers (``logger.csv``, ``logger.mlflow``, ...), each a Hydra ``_target_``
node; ``logger=mlflow``, ``logger=wandb`` or ``logger=[mlflow,wandb]`` add trackers to the CSV logger that writes the
run folder's ``logs/metrics.csv``. A tracker (MLflow, Weights & Biases) gets the resolved configuration as parameters
before training (:func:`log_config`), the epoch metrics as Lightning logs them, and the finished run folder's files at
the end (:func:`log_run_folder`). None of this changes what is trained: the ``logger`` keys are no part of a run's
identity (:mod:`almlit.runs.identity`).
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeGuard

from hydra.utils import instantiate
from lightning.pytorch.loggers import Logger, MLFlowLogger, WandbLogger
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig

from almlit.errors import optional_module
from almlit.runs.folder import CONFIG_FILE, METRICS_FILE, OPERATING_POINTS_FILE
from almlit.runs.identity import flatten

# MLflow's tracking URI schemes (https://mlflow.org/docs/latest/tracking.html): a tracking server, a database
# (``<dialect>[+<driver>]://``), a file store, Databricks.
TRACKING_SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql", "file", "databricks")
# The run folder's files a tracker receives, when present: roc.png, or roc_class<c>.png per critical class;
# reliability.png of a binary run (almlit.report.decision_files.RELIABILITY_FILE; not imported: runs/ does not
# depend on report/).
ARTIFACT_PATTERNS = (METRICS_FILE, "roc*.png", OPERATING_POINTS_FILE, "reliability.png", CONFIG_FILE)
# W&B's run modes (wandb.init's ``mode``): offline writes the run to disk only (``wandb sync`` uploads it later).
WANDB_MODES = ("offline", "online", "disabled", "shared")


def mlflow_metric_name(name: str) -> str:
    """An almlit metric name as MLflow takes it: ``test/fpr@98tpr`` -> ``test/fpr_at_98tpr`` (MLflow refuses ``@``)."""
    return name.replace("@", "_at_")


class RunMLFlowLogger(MLFlowLogger):
    """Lightning's :class:`~lightning.pytorch.loggers.MLFlowLogger`, with almlit's metric names readable in MLflow
    (:func:`mlflow_metric_name`; Lightning would drop the ``@`` and warn for each name)."""

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        super().log_metrics({mlflow_metric_name(name): value for name, value in metrics.items()}, step)


def check_tracking_uri(uri: str) -> None:
    """Refuse a tracking URI whose scheme MLflow has no store for (a path without a scheme is a file store).

    Raises:
        ValueError: naming the URI, its scheme and the allowed schemes.
    """
    scheme = uri.split("://", 1)[0].split("+", 1)[0] if "://" in uri else ""
    if scheme and scheme not in TRACKING_SCHEMES:
        raise ValueError(
            f"logger.mlflow.tracking_uri={uri} has the scheme {scheme}, not one of MLflow's: "
            f"{', '.join(TRACKING_SCHEMES)} (e.g. sqlite:///outputs/mlruns.db or http://host:5000)"
        )


def mlflow_logger(tracking_uri: str, artifact_location: str | None = None, **kwargs: Any) -> RunMLFlowLogger:
    """A :class:`RunMLFlowLogger`, its store opened at once.

    Args:
        tracking_uri: an MLflow tracking URI: ``sqlite:///<path>.db`` (a local store, its folder made if absent),
            ``http(s)://host:port`` (a tracking server), or another scheme MLflow knows.
        artifact_location: where a new experiment of a local store keeps its artifacts (a path, made absolute), or
            ``None`` for the store's default.
        **kwargs: passed to Lightning's ``MLFlowLogger`` (``experiment_name``, ``run_name``, ``tags``, ...).

    Raises:
        ValueError: if MLflow is not installed (the ``mlflow`` extra), the URI's scheme is unknown
            (:func:`check_tracking_uri`) or the store cannot be opened (a server that does not answer).
    """
    optional_module("mlflow", "mlflow", group="logger")
    check_tracking_uri(tracking_uri)
    if artifact_location is not None and "://" not in artifact_location:
        artifact_location = Path(artifact_location).resolve().as_uri()
    try:
        logger = RunMLFlowLogger(tracking_uri=tracking_uri, artifact_location=artifact_location, **kwargs)
        _ = logger.run_id  # opens the store, creates the experiment and the run (rank 0)
    except Exception as error:  # MLflow's and SQLAlchemy's errors share no base class
        message = " ".join(str(error).split()) or type(error).__name__
        raise ValueError(f"logger.mlflow.tracking_uri={tracking_uri} cannot be opened: {message[:300]}") from error
    return logger


def wandb_logger(
    save_dir: str, mode: str = "offline", settings: Mapping[str, Any] | None = None, **kwargs: Any
) -> WandbLogger:
    """Lightning's :class:`~lightning.pytorch.loggers.WandbLogger`, its W&B run started at once.

    Args:
        save_dir: the folder below which W&B writes the run (``<save_dir>/wandb/offline-run-<time>-<id>/``, or
            ``run-...`` online); made if absent (W&B would otherwise fall back to a temporary folder).
        mode: ``offline`` (nothing leaves the machine; ``wandb sync <run dir>`` uploads it later), ``online`` (needs
            ``wandb login`` or ``WANDB_API_KEY``), ``disabled`` or ``shared`` (:data:`WANDB_MODES`).
        settings: ``wandb.Settings`` fields (``console``, ``silent``, ...).
        **kwargs: passed to Lightning's ``WandbLogger`` and on to ``wandb.init`` (``project``, ``entity``, ``name``,
            ``tags``, ``group``, ...).

    Raises:
        ValueError: if W&B is not installed (the ``wandb`` extra), ``mode`` is not one of :data:`WANDB_MODES`, or the
            run cannot start (online without an API key, a server that does not answer).
    """
    optional_module("wandb", "wandb", group="logger")
    if mode not in WANDB_MODES:
        raise ValueError(f"logger.wandb.mode={mode} is not one of W&B's modes: {', '.join(WANDB_MODES)}")
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    logger = WandbLogger(save_dir=save_dir, mode=mode, settings=dict(settings or {}), **kwargs)
    # Lightning (2.6) hands wandb.init anonymous=None, which W&B (0.31) warns about on every run although unset
    if logger._wandb_init.get("anonymous", True) is None:
        del logger._wandb_init["anonymous"]
    try:
        _ = logger.experiment  # starts the W&B run (rank 0)
    except Exception as error:  # wandb's errors (UsageError, CommError, timeouts) share no base class with ours
        message = " ".join(str(error).split()) or type(error).__name__
        raise ValueError(f"logger.wandb.mode={mode}: the W&B run cannot start: {message[:300]}") from error
    return logger


def build_loggers(node: DictConfig | None) -> list[Logger]:
    """The loggers of a ``logger`` node: a mapping of named ``_target_`` nodes (``None`` entries left out).

    Raises:
        ValueError: if ``node`` is a single logger (a ``_target_`` at its top) rather than loggers by name.
    """
    if node is None:
        return []
    if "_target_" in node:
        raise ValueError(
            f"logger must name its loggers (logger.csv._target_=..., logger.mlflow._target_=...), got one unnamed "
            f"logger whose _target_ is {node._target_}"
        )
    return [instantiate(child) for child in node.values() if child is not None]


def is_tracker(logger: Logger) -> TypeGuard[MLFlowLogger | WandbLogger]:
    """Whether ``logger`` is an experiment tracker that takes the configuration and the run folder's files."""
    return isinstance(logger, (MLFlowLogger, WandbLogger))


def log_config(loggers: Sequence[Logger], config: Mapping[str, Any]) -> None:
    """Log the resolved run configuration to every tracker as parameters.

    MLflow gets one text parameter per dotted key (``alm.penalty_init``; MLflow keeps a parameter's first 250
    characters, Lightning's limit); W&B gets the nested configuration with its values as they are (numbers stay
    numbers), which its interface shows under the same dotted keys.
    """
    parameters = {key: str(value) for key, value in flatten(config)}  # lists and empty nodes as text, as in the YAML
    for logger in loggers:
        if isinstance(logger, MLFlowLogger):
            logger.log_hyperparams(parameters)
        elif isinstance(logger, WandbLogger):
            logger.log_hyperparams(dict(config))


def run_folder_files(run_dir: Path) -> list[Path]:
    """The run folder's files a tracker receives (:data:`ARTIFACT_PATTERNS`), those present, in that order."""
    return [path for pattern in ARTIFACT_PATTERNS for path in sorted(Path(run_dir).glob(pattern)) if path.is_file()]


def give_files(logger: MLFlowLogger | WandbLogger, files: Sequence[Path], run_dir: Path) -> None:
    """Give one tracker the run folder's files, then (W&B) finish its run.

    MLflow: artifacts of the run. W&B: files of the run, copied into it below a folder named as the run folder
    (``files/<run folder name>/metrics.json``: W&B keeps its own ``config.yaml`` at the top), so that an offline run
    holds them whole wherever it is synced from; the run is finished here, so that W&B writes it out and a later run
    in this process starts its own.
    """
    if isinstance(logger, MLFlowLogger):
        for path in files:
            logger.experiment.log_artifact(logger.run_id, str(path))
        return
    run = logger.experiment
    if not run.disabled:  # mode=disabled: W&B keeps nothing
        folder = Path(run.dir) / Path(run_dir).name
        folder.mkdir(exist_ok=True)
        for path in files:
            shutil.copy2(path, folder / path.name)
        run.save(os.path.join(glob.escape(str(folder)), "*"), base_path=run.dir, policy="now")
    run.finish()


@rank_zero_only
def log_run_folder(loggers: Sequence[Logger], run_dir: Path) -> None:
    """Give every tracker the finished run folder's files (:func:`run_folder_files`, :func:`give_files`).

    The run folder is complete before this is called: a tracker that fails (a server gone, a full disk) costs one
    warning line on stderr, not the run.
    """
    files = run_folder_files(run_dir)
    for logger in loggers:
        if not is_tracker(logger):
            continue
        try:
            give_files(logger, files, run_dir)
        except Exception as error:  # the run is finished and saved: a tracker's failure must not undo that
            message = " ".join(str(error).split())[:300]
            print(
                f"almlit: warning: the run folder's files were not logged to {type(logger).__name__}: {message}",
                file=sys.stderr,
            )
