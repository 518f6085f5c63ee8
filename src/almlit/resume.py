"""Where a run starts: its folder (``runs/<run_name>``) is looked at before anything is trained.

- finished (its ``COMPLETE`` marker exists): nothing is trained and nothing in it is touched;
- interrupted (a ``checkpoints/last.ckpt`` from a run killed, preempted or crashed): training resumes from it;
- otherwise: training starts from epoch 0 (or from an explicit ``ckpt_path``).

A folder whose ``config.yaml`` (written when training starts) differs from this command's configuration, outside the
keys that only change where data is read or what is printed, is refused: resuming it would mix two settings, and a
finished run is never overwritten. Seeds count here: two seeds are two runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping

from almlit.report.folders import comparable, differences, is_finished, read_config
from almlit.run_folder import COMPLETE_FILE, CONFIG_FILE

LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"
# Files Hydra writes into a run folder before the run starts: a folder holding nothing else is new.
HYDRA_FILES = frozenset({".hydra", "train.log"})
SHOWN_DIFFERENCES = 5


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


def describe_differences(differing: list[str]) -> str:
    """The first few differences of :func:`~almlit.report.folders.differences` joined on one line."""
    shown = "; ".join(differing[:SHOWN_DIFFERENCES])
    more = len(differing) - SHOWN_DIFFERENCES
    return shown + (f" (and {more} more)" if more > 0 else "")


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
        ckpt_path: an explicit checkpoint to resume from (``ckpt_path=...``); it wins over ``last.ckpt``.

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
    if ckpt_path is not None:
        return Start(finished=False, ckpt_path=str(ckpt_path), message=f"resuming from {ckpt_path}")
    last = run_dir / LAST_CHECKPOINT
    if last.is_file():
        return Start(finished=False, ckpt_path=str(last), message=f"resuming the interrupted run from {last}")
    return Start(finished=False, ckpt_path=None, message=None)


def is_new_folder(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds nothing but what Hydra wrote for this command (it may then be removed on error)."""
    run_dir = Path(run_dir)
    return not run_dir.is_dir() or all(path.name in HYDRA_FILES for path in run_dir.iterdir())


class KeepEarlyStop(L.Callback):
    """A run resumed from the checkpoint of the epoch where early stopping fired stops again at once.

    ``Trainer.should_stop`` is not in the checkpoint, only the :class:`EarlyStopping` state; without this a run killed
    between that checkpoint and its ``COMPLETE`` marker would train one epoch more than the uninterrupted run.
    """

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for callback in trainer.callbacks:
            stopped = isinstance(callback, EarlyStopping) and callback.wait_count >= callback.patience
            if stopped and callback.stopped_epoch == trainer.current_epoch - 1:
                trainer.should_stop = True
