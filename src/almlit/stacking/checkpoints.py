"""A stacked member's checkpoints in Lightning's own format, written at every epoch end and read back to resume.

At the end of each epoch a member writes ``checkpoints/last.ckpt`` as its ``last_checkpoint`` callback writes it for a
run trained alone by ``almlit.train`` (and, when its monitored metric improved, its best checkpoint, removing the
previous best file, as its ``model_checkpoint`` callback does): the network, optimiser and schedule states, the states
of its callbacks (taken from the member's own Lightning callbacks: ``EarlyStopping``, both ``ModelCheckpoint`` s,
``PenaltySchedule``, ``Timer``) and the progress counters of Lightning's loops (:func:`fit_loops`). So a member folder
is an ordinary run folder: ``almlit.train`` resumes it alone, and a stack resumes a member from the ``last.ckpt`` of
either (:func:`restore_member`).
"""

from __future__ import annotations

import copy
import csv
import io
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, Timer

from almlit.callbacks.keep_early_stop import early_stopping_fired
from almlit.runs.atomic_files import write_atomically
from almlit.runs.checkpoint_io import AtomicCheckpointIO
from almlit.runs.csv_logger import METRICS_FILE, read_rows
from almlit.stacking.members import BestState, StackMember

BATCH_COUNTS = ("ready", "started", "processed", "completed")  # Lightning's _BatchProgress counters
STEP_COUNTS = ("ready", "completed")  # _OptimizerProgress.step and _SchedulerProgress


def counts(current: int, total: int, names: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """A Lightning progress record: every counter in ``names`` at ``current`` this epoch and ``total`` in all."""
    return {"current": dict.fromkeys(names, current), "total": dict.fromkeys(names, total)}


def fit_loops(epochs: int, batches: int, val_batches: int, scheduler_steps: int) -> dict[str, Any]:
    """The ``loops`` entry of a Lightning checkpoint saved at the end of epoch ``epochs`` (1-based) of a fit with one
    optimiser, validation after every epoch, and no other loop run, as ``ModelCheckpoint`` saves it in
    ``on_train_epoch_end`` (the epoch is processed, not yet completed: ``epoch_progress.current.completed`` is
    ``epochs - 1``).

    Args:
        epochs: the epochs done (>= 1).
        batches: training batches (optimiser steps) per epoch.
        val_batches: validation batches per epoch.
        scheduler_steps: learning-rate scheduler steps per epoch (1 with an epoch-interval scheduler, else 0).
    """
    steps = epochs * batches
    epoch_counts = {**dict.fromkeys(BATCH_COUNTS, epochs), "completed": epochs - 1}
    idle_batches = counts(0, 0, BATCH_COUNTS)
    fit_loop = {
        "state_dict": {},
        "epoch_loop.state_dict": {"_batches_that_stepped": steps},
        "epoch_loop.batch_progress": {**counts(batches, steps, BATCH_COUNTS), "is_last_batch": True},
        "epoch_loop.scheduler_progress": counts(scheduler_steps, epochs * scheduler_steps, STEP_COUNTS),
        "epoch_loop.automatic_optimization.state_dict": {},
        "epoch_loop.automatic_optimization.optim_progress": {
            "optimizer": {
                "step": counts(batches, steps, STEP_COUNTS),
                "zero_grad": counts(batches, steps, ("ready", "started", "completed")),
            }
        },
        "epoch_loop.manual_optimization.state_dict": {},
        "epoch_loop.manual_optimization.optim_step_progress": counts(0, 0, STEP_COUNTS),
        "epoch_loop.val_loop.state_dict": {},
        "epoch_loop.val_loop.batch_progress": {**counts(val_batches, val_batches, BATCH_COUNTS), "is_last_batch": True},
        "epoch_progress": {"current": dict(epoch_counts), "total": dict(epoch_counts)},
    }
    evaluation = {"state_dict": {}, "batch_progress": {**idle_batches, "is_last_batch": False}}
    return {
        "fit_loop": fit_loop,
        "validate_loop": evaluation,
        "test_loop": copy.deepcopy(evaluation),
        "predict_loop": {"state_dict": {}, "batch_progress": copy.deepcopy(idle_batches)},
    }


def epochs_done(checkpoint: Mapping[str, Any], path: Path, max_epochs: int) -> int:
    """The epochs an epoch-end checkpoint (``last.ckpt``) ends, read from its loops' progress.

    Raises:
        ValueError: one line naming ``path``: it is no checkpoint saved at an epoch end (a mid-epoch or validation
            checkpoint, or no Lightning training checkpoint at all), or it ends more epochs than ``max_epochs``
            (Lightning refuses ``current_epoch > max_epochs`` as well).
    """
    try:
        progress = checkpoint["loops"]["fit_loop"]["epoch_progress"]["current"]
        batches = checkpoint["loops"]["fit_loop"]["epoch_loop.batch_progress"]
        epochs = int(progress["processed"])
        at_epoch_end = progress["completed"] == epochs - 1 and bool(batches["is_last_batch"]) and epochs >= 1
    except (KeyError, TypeError):
        at_epoch_end = False
    if not at_epoch_end:
        raise ValueError(
            f"{path} is not a checkpoint saved at the end of a training epoch (Lightning's loops progress says "
            "otherwise or is missing); a run resumes from its epoch-end last.ckpt only: delete the file to train "
            "this run from its start"
        )
    if max_epochs not in (None, -1) and epochs > max_epochs:
        raise ValueError(
            f"{path} ends epoch {epochs} but trainer.max_epochs={max_epochs}; set trainer.max_epochs to {epochs} or "
            "more to resume it"
        )
    return epochs


def timer_state(train_seconds: float) -> dict[str, Any]:
    """Lightning's ``Timer`` state of a run that trained ``train_seconds`` (validation counted within them)."""
    timer = Timer(verbose=False)
    timer.load_state_dict({"time_elapsed": {"train": train_seconds}})
    return timer.state_dict()


def callback_states(member: StackMember) -> dict[str, Any]:
    """The ``callbacks`` entry of the member's checkpoint: each of its callbacks' state under its ``state_key``, the
    callbacks a run trained alone with the member's config has (and that keep a state)."""
    callbacks = member.config.callbacks
    states: dict[str, Any] = {}
    if callbacks.get("early_stopping") is not None:
        states[member.early_stopping.state_key] = member.early_stopping.state_dict()
    states[member.checkpoint.state_key] = member.checkpoint.state_dict()
    if member.last_checkpoint is not None:
        states[member.last_checkpoint.state_key] = member.last_checkpoint.state_dict()
    if member.schedule is not None:
        states[member.schedule.state_key] = member.schedule.state_dict()
    states[Timer.__qualname__] = timer_state(member.train_seconds)
    return states


def member_checkpoint(member: StackMember, batches: int, val_batches: int) -> dict[str, Any]:
    """The member's state at the end of its epoch ``member.epochs_trained``, as a Lightning checkpoint (what
    ``Trainer.save_checkpoint`` writes for the member trained alone at that epoch end).

    Args:
        member: the member, its epoch-end decisions taken.
        batches: training batches per epoch; ``val_batches``: validation batches per epoch.
    """
    module = member.module
    checkpoint: dict[str, Any] = {
        "epoch": member.epochs_trained - 1,
        "global_step": member.global_step,
        "pytorch-lightning_version": L.__version__,
        "state_dict": module.state_dict(),
        "loops": fit_loops(member.epochs_trained, batches, val_batches, int(member.scheduler is not None)),
        "callbacks": callback_states(member),
        "optimizer_states": [member.optimizer.state_dict()],
        "lr_schedulers": [] if member.scheduler is None else [member.scheduler.state_dict()],
        "hparams_name": module._hparams_name,
        "hyper_parameters": dict(module.hparams),
    }
    module.on_save_checkpoint(checkpoint)
    return checkpoint


def record_best(callback: ModelCheckpoint, best: BestState) -> str:
    """Set ``callback`` (``save_top_k=1``) as Lightning's ``_update_best_and_save`` sets it for a new best; returns
    the best file's path. A NaN score is kept as the worst value (-inf for ``max``, +inf for ``min``), as there."""
    score = torch.tensor(best.score)
    if math.isnan(best.score):
        score = torch.tensor(-math.inf if callback.mode == "max" else math.inf)
    path = callback.format_checkpoint_name({"epoch": best.epoch})  # type: ignore[dict-item]
    callback.current_score = score
    callback.best_k_models = {path: score}
    callback.kth_best_model_path = callback.best_model_path = path
    callback.kth_value = callback.best_model_score = score
    return path


def write_epoch_end(member: StackMember, batches: int, val_batches: int) -> None:
    """The member's checkpoint files at the end of its epoch ``member.epochs_trained``, in the order of its callbacks:
    the best checkpoint if this epoch is its new best (the previous best file removed), then ``last.ckpt``."""
    io = AtomicCheckpointIO()
    best = member.best
    if best is not None and best.epoch == member.epochs_trained - 1:
        previous = member.checkpoint.best_model_path
        best.path = record_best(member.checkpoint, best)
        io.save_checkpoint(member_checkpoint(member, batches, val_batches), best.path)
        if previous and previous != best.path:
            io.remove_checkpoint(previous)
    last = member.last_checkpoint
    if last is not None:
        last.best_model_path = last.format_checkpoint_name({})
        io.save_checkpoint(member_checkpoint(member, batches, val_batches), last.best_model_path)


HISTORY_COLUMNS = ("step", "train/loss", "alm/mu")  # and the monitored metric
LOG_DIR = "logs"


def write_training_log(member: StackMember) -> None:
    """``logs/metrics.csv``: one row per epoch the member trained (step, training loss, monitored metric, mu), the
    ``step`` of each as Lightning logs an epoch's end, so ``almlit.train`` resuming the folder alone keeps them."""
    names = list(dict.fromkeys(["epoch", "step", *(name for row in member.history for name in row)]))
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=names)
    writer.writeheader()
    writer.writerows(member.history)
    (member.run_dir / LOG_DIR).mkdir(parents=True, exist_ok=True)
    write_atomically(member.run_dir / LOG_DIR / METRICS_FILE, text.getvalue())


def logged_history(log_dir: Path, monitor: str, steps: int) -> list[dict[str, float]]:
    """The per-epoch rows of ``logs/metrics.csv`` logged before ``steps`` optimiser steps, one per epoch.

    Reads a stacked member's log (one row per epoch) and a run trained alone's (Lightning's rows, several per
    epoch, merged by epoch); keeps the epoch, step, training loss, monitored metric and mu. No file: no rows.
    """
    path = log_dir / METRICS_FILE
    if not path.is_file():
        return []
    by_epoch: dict[int, dict[str, float]] = {}
    for row in read_rows(path.read_text()):
        if "epoch" not in row or int(row["step"]) >= steps:
            continue
        epoch = int(float(row["epoch"]))
        record = by_epoch.setdefault(epoch, {"epoch": epoch})
        record |= {name: float(value) for name, value in row.items() if name in (*HISTORY_COLUMNS, monitor)}
        record["step"] = int(row["step"])
    return [by_epoch[epoch] for epoch in sorted(by_epoch)]


def restore_member(member: StackMember, path: Path, max_epochs: int) -> None:
    """Restore the member from the epoch-end checkpoint ``path`` (written by a stack or by ``almlit.train``), as
    Lightning restores a run trained alone: module (and its ``on_load_checkpoint``), optimiser, schedule, callback
    states (the configured early-stopping patience kept, as ``CarryOverBest`` keeps it), steps, epochs, training time;
    its best state from the best file the ``ModelCheckpoint`` state names; its history from ``logs/metrics.csv``. A
    member whose early stopping fired at that epoch is stopped (as ``KeepEarlyStop`` stops a run trained alone).

    Raises:
        ValueError: the checkpoint is unreadable, not saved at an epoch end, or beyond ``max_epochs``
            (:func:`epochs_done`).
    """
    io = AtomicCheckpointIO()
    checkpoint = io.load_checkpoint(path, map_location="cpu")
    epochs = epochs_done(checkpoint, path, max_epochs)
    module = member.module
    module.load_state_dict(checkpoint["state_dict"])
    module.on_load_checkpoint(checkpoint)
    member.optimizer.load_state_dict(checkpoint["optimizer_states"][0])
    if member.scheduler is not None:
        member.scheduler.load_state_dict(checkpoint["lr_schedulers"][0])
    states = checkpoint.get("callbacks") or {}
    patience = member.early_stopping.patience
    for callback in (member.early_stopping, member.checkpoint, member.last_checkpoint, member.schedule):
        if callback is not None and callback.state_key in states:
            callback.load_state_dict(states[callback.state_key])
    member.early_stopping.patience = patience
    member.train_seconds = float(states.get(Timer.__qualname__, {}).get("time_elapsed", {}).get("train", 0.0))
    member.epochs_trained, member.global_step = epochs, int(checkpoint["global_step"])
    best_file = member.checkpoint.best_model_path
    if best_file:
        epoch = int(io.load_checkpoint(best_file, map_location="cpu")["epoch"])
        score = float(member.checkpoint.best_model_score)  # type: ignore[arg-type]
        member.best = BestState(epoch, score, path=str(best_file))
    member.stopped = early_stopping_fired(member.early_stopping, epochs)
    member.history = logged_history(member.run_dir / LOG_DIR, member.monitor, member.global_step)
