"""Continuing a run from a checkpoint of another folder: ``run_name=<new> ckpt_path=<old>/checkpoints/last.ckpt``.

What carries over and what the command line decides:

- the state of training carries over: weights, optimizer moments, the ALM multipliers and mu, the epoch, the early
  stopping counter and the best score so far. The best so far stays the best: the checkpoint files of the earlier
  best scores are copied into the new folder's ``checkpoints/`` and a later epoch replaces them only by beating them,
  so the test (on the best checkpoint) never falls on a worse epoch than the one before;
- the settings come from the command line: ``callbacks.early_stopping.patience``, the optimizer's hyper-parameters
  (``optim.lr``, momentum, weight decay, ...) and the learning-rate schedule's (Lightning would restore the
  checkpoint's), ``trainer.max_epochs`` and everything else of the configuration. Under a learning-rate schedule the
  schedule's progress carries over: the current rate is rescaled by the ratio of the new base rate to the old;
- a continuation's folder resumes from its own ``last.ckpt`` once it has one (:func:`almlit.runs.resume.plan_start`);
- a continuation with nothing left to train (``trainer.max_epochs`` not above the checkpoint's epochs, or early
  stopping that would fire at once) is refused before anything is written (:func:`check_continuation`).

Lightning restores only the best checkpoint's path, not its score, when the checkpoint folder changes (then the first
new epoch would be "best" whatever its score), and restores the early-stopping patience stored in the checkpoint;
:class:`~almlit.callbacks.CarryOverBest` rewrites those states before Lightning loads them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Learning-rate scheduler state that is progress (carried over), not a setting (taken from the command line).
SCHEDULE_PROGRESS = frozenset({"last_epoch", "_step_count", "_last_lr", "_get_lr_called_within_step", "_is_initial"})
EARLY_STOPPING_PREFIX = "EarlyStopping"  # callback state keys: the class name, then the settings that tell apart
MODEL_CHECKPOINT_PREFIX = "ModelCheckpoint"


def early_stopping_state(checkpoint: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The :class:`EarlyStopping` state saved in ``checkpoint``, or ``None``."""
    states = checkpoint.get("callbacks") or {}
    return next((state for key, state in states.items() if str(key).startswith(EARLY_STOPPING_PREFIX)), None)


def check_continuation(
    checkpoint: Mapping[str, Any], ckpt_path: str, max_epochs: int | None, patience: int | None
) -> None:
    """Refuse a continuation that would train no epoch, or that would lose the checkpoint of the best so far.

    Args:
        checkpoint: the loaded checkpoint (``epoch`` is the 0-based epoch it ended).
        ckpt_path: where it was read (for the message).
        max_epochs: this command's ``trainer.max_epochs`` (``None`` or -1: unlimited).
        patience: this command's ``callbacks.early_stopping.patience`` (``None``: no early stopping).

    Raises:
        ValueError: naming the checkpoint, its epochs and the setting to raise; or a checkpoint of its best score
            missing beside ``ckpt_path`` (the best so far could not stay the best).
    """
    done = int(checkpoint["epoch"]) + 1
    if max_epochs is not None and max_epochs != -1 and max_epochs <= done:
        raise ValueError(
            f"nothing to train: ckpt_path={ckpt_path} ends epoch {done} and trainer.max_epochs={max_epochs}; "
            f"set trainer.max_epochs above {done} to train more epochs"
        )
    source = Path(ckpt_path).parent
    for key, kept in (checkpoint.get("callbacks") or {}).items():
        for path in (kept.get("best_k_models") or {}) if str(key).startswith(MODEL_CHECKPOINT_PREFIX) else ():
            if not (source / Path(path).name).is_file():
                raise ValueError(
                    f"ckpt_path={ckpt_path} keeps its best score in {Path(path).name}, which is not beside it in "
                    f"{source}: put that file there, so that the best so far stays the best of the continued run"
                )
    state = early_stopping_state(checkpoint)
    if patience is not None and state is not None and state["wait_count"] >= patience:
        raise ValueError(
            f"nothing to train: ckpt_path={ckpt_path} has gone {state['wait_count']} epochs without a better "
            f"score and callbacks.early_stopping.patience={patience} would stop it at once; "
            f"set the patience above {state['wait_count']} to train more epochs"
        )


def moved_path(path: str | None, old_dir: str, new_dir: str) -> str | None:
    """``path`` moved from ``old_dir`` to ``new_dir`` when it lies there, else unchanged."""
    if not path or Path(path).parent != Path(old_dir):
        return path
    return str(Path(new_dir) / Path(path).name)


def command_line_settings(checkpoint: dict[str, Any], optimizers: Sequence[Any], schedulers: Sequence[Any]) -> None:
    """Replace the settings in ``checkpoint``'s optimizer and scheduler states by those of the freshly built ones.

    Every parameter-group key but ``params`` takes the fresh value (momentum, weight decay, ...). The learning rate:
    without a schedule, the fresh ``lr``; under a schedule (groups holding ``initial_lr``), the checkpoint's current
    rate times ``new initial_lr / old initial_lr``, so the schedule goes on from where it was at the new base rate.
    A scheduler's state keeps its progress (:data:`SCHEDULE_PROGRESS`) and takes every other key from the fresh one.

    Args:
        checkpoint: a loaded Lightning checkpoint (``optimizer_states``, ``lr_schedulers``), changed in place.
        optimizers: the optimizers built from this command's configuration, in the checkpoint's order.
        schedulers: the learning-rate schedulers built from it, in the checkpoint's order.
    """
    for optimizer, state in zip(optimizers, checkpoint.get("optimizer_states", []), strict=False):
        for fresh, saved in zip(optimizer.param_groups, state["param_groups"], strict=True):
            old_initial = saved.get("initial_lr")
            for key, value in fresh.items():
                if key not in ("params", "lr"):
                    saved[key] = value
            if "initial_lr" in fresh and old_initial:
                saved["lr"] = saved["lr"] * fresh["initial_lr"] / old_initial
            else:
                saved["lr"] = fresh["lr"]
    for scheduler, state in zip(schedulers, checkpoint.get("lr_schedulers", []), strict=False):
        state.update({key: value for key, value in scheduler.state_dict().items() if key not in SCHEDULE_PROGRESS})
