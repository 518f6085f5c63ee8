"""The best score so far and the command line's settings survive a continuation into a new folder (what carries
over and what the command line decides: :mod:`almlit.runs.continuation`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

from almlit.runs.continuation import command_line_settings, moved_path


class CarryOverBest(L.Callback):
    """The best so far and the command line's settings survive a continuation into a new folder (module docstring).

    On every checkpoint loaded for training: the checkpoint's early-stopping patience is replaced by the configured
    one. When its :class:`ModelCheckpoint` states were written in another folder (a continuation), they are moved to
    this run's folder, their kept checkpoints copied there (read from beside ``ckpt_path``, through the trainer's
    checkpoint IO, so atomically), and, once the optimizers are built from the command line (``on_fit_start``, before
    Lightning restores their states), the checkpoint's optimizer and schedule settings are replaced by theirs
    (:func:`command_line_settings`).
    """

    def __init__(self) -> None:
        self.continued: dict[str, Any] | None = None

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        states = checkpoint.get("callbacks") or {}
        self.continued = None
        # Lightning sets Trainer.callbacks (in its callback connector) without declaring the attribute
        for callback in trainer.callbacks:  # type: ignore[attr-defined]
            state = states.get(callback.state_key)
            if state is None:
                continue
            if isinstance(callback, EarlyStopping):
                state["patience"] = callback.patience
            elif isinstance(callback, ModelCheckpoint) and callback.dirpath and state.get("dirpath"):
                if Path(state["dirpath"]) != Path(callback.dirpath):
                    assert trainer.ckpt_path is not None  # callback states are restored from trainer.ckpt_path
                    # ModelCheckpoint resolves its folder to a str (os.path.realpath) when it is created
                    self.move_state(trainer, state, Path(trainer.ckpt_path).parent, cast(str, callback.dirpath))
                    self.continued = checkpoint

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.continued is not None:
            command_line_settings(
                self.continued, trainer.optimizers, [config.scheduler for config in trainer.lr_scheduler_configs]
            )
            self.continued = None

    @staticmethod
    def move_state(trainer: L.Trainer, state: dict[str, Any], source: Path, new_dir: str) -> None:
        """Copy the kept checkpoints of ``state`` (found in ``source``) into ``new_dir`` and point ``state`` there."""
        old_dir = state["dirpath"]
        kept = state.get("best_k_models") or {}
        for path in kept:
            if Path(path).parent == Path(old_dir) and trainer.is_global_zero:
                io = trainer.strategy.checkpoint_io
                io.save_checkpoint(io.load_checkpoint(source / Path(path).name), Path(new_dir) / Path(path).name)
        trainer.strategy.barrier()
        state["best_k_models"] = {moved_path(path, old_dir, new_dir): score for path, score in kept.items()}
        for key in ("best_model_path", "kth_best_model_path", "last_model_path"):
            state[key] = moved_path(state.get(key), old_dir, new_dir)
        state["dirpath"] = new_dir
