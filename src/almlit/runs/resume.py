"""Where a run starts: its folder is looked at before anything is trained.

The folder is found again by the same command: ``runs/<run_name>`` for a single run, ``<sweep folder>/<the job's own
overrides>`` for a job of a sweep (:func:`job_folder_name`, no time stamp in either). Then:

- finished (its ``COMPLETE`` marker exists): nothing is trained and nothing in it is touched;
- interrupted (a ``checkpoints/last.ckpt`` from a run killed, preempted or crashed): training resumes from it;
- otherwise: training starts from epoch 0 (or from an explicit ``ckpt_path``).

A folder whose ``config.yaml`` (written when training starts) differs from this command's configuration, outside the
keys that only change where data is read or what is printed, is refused: resuming it would mix two settings, and a
finished run is never overwritten. Seeds count here: two seeds are two runs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from almlit.runs.folder import COMPLETE_FILE, CONFIG_FILE
from almlit.runs.identity import (
    LOGGER_KEYS,
    OUTPUT_PATH_KEYS,
    PRESENTATION_KEYS,
    comparable,
    describe_differences,
    differences,
)
from almlit.runs.reader import is_finished, read_config

LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"
# Files Hydra writes into a run folder before the run starts: a folder holding nothing else is new.
HYDRA_FILES = frozenset({".hydra", "train.log"})
# Sweep job folders (conf/hydra/default.yaml, conf/sweep/*.yaml): hydra.sweep.subdir: ${almlit.job_folder:...}
JOB_FOLDER_RESOLVER = "almlit.job_folder"
# Overrides left out of a job folder's name: those outside a run's identity (where outputs are written, what is
# printed; see almlit.runs.identity) -- run_name stays: it is how a user asks for a run of its own.
UNNAMED_KEYS = (PRESENTATION_KEYS - {"run_name"}) | OUTPUT_PATH_KEYS
# Config options that set presentation keys only (conf/debug/quiet.yaml): left out of the name as those keys are.
UNNAMED_CHOICES = frozenset({"debug=quiet"})
DEFAULT_JOB_FOLDER = "default"
UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9._,=+@~-]")
MAX_JOB_FOLDER = 200  # characters; file systems allow 255 bytes per name
HASH_LENGTH = 8


@dataclass(frozen=True)
class Start:
    """How a run starts.

    Attributes:
        finished: the folder holds a finished run: train nothing.
        ckpt_path: the checkpoint to resume from, or ``None`` for epoch 0.
        message: the line to print about it, or ``None``.
    """

    finished: bool
    ckpt_path: str | None
    message: str | None


def check_same_run(run_dir: Path, config: Mapping[str, Any]) -> None:
    """Raise if ``run_dir`` holds a run (finished or not) whose config differs from ``config``, seeds included.

    Raises:
        ValueError: naming the folder and the differing keys (folder's value vs this command's).
    """
    if not (run_dir / CONFIG_FILE).is_file():
        return
    differing = differences(comparable(read_config(run_dir), keep_seeds=True), comparable(config, keep_seeds=True))
    if differing:
        state = "a finished run" if is_finished(run_dir) else "an interrupted run"
        raise ValueError(
            f"{run_dir} holds {state} with another configuration (folder vs this command): "
            f"{describe_differences(differing)}; give this run its own folder with run_name=<new name>"
        )


def plan_start(run_dir: Path, config: Mapping[str, Any], ckpt_path: str | None = None) -> Start:
    """Decide how the run of resolved ``config`` in ``run_dir`` starts (see the module docstring).

    Args:
        run_dir: the run folder.
        config: this command's resolved configuration.
        ckpt_path: an explicit checkpoint to start from (``ckpt_path=...``); one inside ``run_dir`` wins over its
            ``last.ckpt``, one of another folder (a continuation) only starts the run: once the folder has a
            ``last.ckpt`` of its own, the same command resumes from that.

    Raises:
        ValueError: ``run_dir`` holds a run of another configuration (:func:`check_same_run`).
    """
    run_dir = Path(run_dir)
    check_same_run(run_dir, config)
    if is_finished(run_dir):
        finished_at = (run_dir / COMPLETE_FILE).read_text().strip()
        message = (
            f"{run_dir} holds a run finished at {finished_at}: nothing to train "
            "(its results stay; train again with run_name=<new name>)"
        )
        return Start(finished=True, ckpt_path=None, message=message)
    last = run_dir / LAST_CHECKPOINT
    if last.is_file() and (ckpt_path is None or not is_inside(ckpt_path, run_dir)):
        # a continuation of another folder's checkpoint, preempted or requeued, goes on from its own last epoch end
        return Start(finished=False, ckpt_path=str(last), message=f"resuming the interrupted run from {last}")
    if ckpt_path is not None:
        return Start(finished=False, ckpt_path=str(ckpt_path), message=f"resuming from {ckpt_path}")
    return Start(finished=False, ckpt_path=None, message=None)


def is_inside(path: str | Path, folder: Path) -> bool:
    """Whether ``path`` lies in ``folder`` (both resolved)."""
    return Path(folder).resolve() in Path(path).resolve().parents


def job_folder_name(overrides: Sequence[str], named_keys: Sequence[str] = ()) -> str:
    """The folder of one sweep job, named after the job's own overrides, as Hydra's ``override_dirname``.

    The job's overrides sorted and joined by commas, e.g. ``alm.penalty_init=1e-05,alm.schedule.growth=2,alm=binary``:
    the same job always finds the same folder, and a job of another grid point never finds it. Left out: the keys
    whose values the sweep folder's name holds already (``named_keys``) and those that do not change what is trained
    or evaluated (:data:`UNNAMED_KEYS`, :data:`UNNAMED_CHOICES`, the loggers; ``data.root`` and ``paths.data_dir``
    do, so they are named).
    Characters other than letters, digits and ``._,=+@~-`` (the ``/`` of ``monitor=val/auc``, spaces, quotes,
    brackets) become ``_``; a name so changed, or longer than :data:`MAX_JOB_FOLDER` characters and then cut, ends
    with ``_`` and a hash of the whole text, so it stays unique.

    Args:
        overrides: the job's task overrides (``hydra.overrides.task``), sweeps expanded.
        named_keys: the keys (or config groups) that the sweep folder's name holds.
    """
    left_out = {*named_keys, *UNNAMED_KEYS}
    kept = sorted(
        cast(str, override.input_line)  # a parsed override keeps the text it was parsed from
        for override in OverridesParser.create().parse_overrides(list(overrides))
        if override.key_or_group not in left_out
        and not is_logger_key(override.key_or_group)
        and override.input_line not in UNNAMED_CHOICES
    )
    text = ",".join(kept) or DEFAULT_JOB_FOLDER
    name = UNSAFE_CHARACTERS.sub("_", text)
    if name == text and len(name) <= MAX_JOB_FOLDER:
        return name
    digest = hashlib.sha1(text.encode()).hexdigest()[:HASH_LENGTH]
    return f"{name[: MAX_JOB_FOLDER - HASH_LENGTH - 1]}_{digest}"


OmegaConf.register_new_resolver(JOB_FOLDER_RESOLVER, job_folder_name, replace=True)


def is_logger_key(key: str) -> bool:
    """Whether an override's key or group chooses or sets a logger (``logger=mlflow``, ``logger.mlflow.run_name=x``)."""
    return key == LOGGER_KEYS.rstrip(".") or key.startswith(LOGGER_KEYS)


def is_new_folder(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds nothing but what Hydra wrote for this command (it may then be removed on error)."""
    run_dir = Path(run_dir)
    return not run_dir.is_dir() or all(path.name in HYDRA_FILES for path in run_dir.iterdir())
