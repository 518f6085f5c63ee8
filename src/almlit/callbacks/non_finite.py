"""Stop a run whose training loss became NaN or inf before any checkpoint of the broken state is written.

The check must not make the host wait for the device at every step, so each step only updates, on the device,
a small record of the first position (epoch, step, batch) at which each loss term was not finite, and the
record is read on the host once per validation and once per training epoch. Both reads come before
``ModelCheckpoint`` saves: Lightning calls ``on_validation_start`` before the validation loop (the checkpoint
is written in ``on_validation_end``), and the ``on_train_epoch_end`` of ordinary callbacks before that of the
checkpoint callbacks (which it moves to the end of the list). Any other save (every n steps, on pre-emption) is
checked in ``on_save_checkpoint``, which runs before the file is written. A run whose loss went non-finite keeps
the last checkpoint written before it; the remaining steps of that epoch train on broken weights, and none of
them is saved.
"""

from __future__ import annotations

import os
from typing import Any

import lightning as L
import torch
from torch import Tensor

from almlit.errors import NonFiniteLossError

NOT_SEEN = -1
POSITION = ("epoch", "step", "batch")


def empty_record(num_terms: int, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """No term seen non-finite yet: positions ``[num_terms, 3]`` filled with ``NOT_SEEN``, values ``[num_terms]``."""
    positions = torch.full((num_terms, len(POSITION)), NOT_SEEN, dtype=torch.long, device=device)
    return positions, torch.zeros(num_terms, device=device)


def record_first_non_finite(
    positions: Tensor, values: Tensor, terms: Tensor, position: tuple[int, int, int]
) -> tuple[Tensor, Tensor]:
    """Keep, for each term not finite for the first time, where it happened and its value.

    Runs on the device of the tensors and reads nothing back (``position`` is passed as Python scalars).

    Args:
        positions: ``[T, 3]`` long, the (epoch, step, batch) of each term's first non-finite value or ``NOT_SEEN``.
        values: ``[T]`` the first non-finite value of each term (NaN, inf or -inf), 0 where none yet.
        terms: ``[T]`` this step's values of the terms.
        position: this step's (epoch, step, batch).

    Returns:
        The updated ``positions`` and ``values``.
    """
    first = (positions[:, 0] == NOT_SEEN) & ~torch.isfinite(terms)
    columns = [torch.where(first, index, positions[:, column]) for column, index in enumerate(position)]
    return torch.stack(columns, dim=1), torch.where(first, terms.to(values.dtype), values)


def first_non_finite(positions: Tensor, values: Tensor, names: tuple[str, ...]) -> str | None:
    """Where the earliest non-finite term(s) of a record happened and their values, in words; ``None`` if all finite.

    Terms that became non-finite at the same step are all named; the total ``loss`` only when no term is.
    """
    seen = [index for index in range(len(names)) if positions[index, 0] != NOT_SEEN]
    if not seen:
        return None
    earliest = min(tuple(positions[index].tolist()) for index in seen)
    found = [index for index in seen if tuple(positions[index].tolist()) == earliest]
    if len(found) > 1:
        found = [index for index in found if names[index] != "loss"]
    epoch, step, batch = earliest
    terms = ", ".join(f"{names[index]}={float(values[index])}" for index in found)
    return f"at epoch {epoch}, step {step} (batch {batch} of the epoch): {terms}"


class NonFiniteLossCheck(L.Callback):
    """Raise :class:`~almlit.errors.NonFiniteLossError` once the training loss or one of its terms was NaN or inf.

    It reads the tensors that ``training_step`` returns (``loss`` and the named terms of Eq. 5: ``base_loss``,
    ``penalty_term``, ``multiplier_term``), records the first non-finite position of each on the device and
    checks the record before every validation and at the end of every training epoch, before checkpoints
    are saved. The message names the first epoch, step and term and the last checkpoint kept.
    """

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()
        self.record: tuple[Tensor, Tensor] | None = None
        self.step = 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.names, self.record = (), None

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self.step = trainer.global_step  # the step this batch's loss is computed at, before the optimiser steps

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if not isinstance(outputs, dict):
            outputs = {"loss": outputs}
        tensors = {name: value for name, value in outputs.items() if isinstance(value, Tensor)}
        if not tensors:  # a skipped step
            return
        terms = torch.stack([value.detach().float().reshape(()) for value in tensors.values()])
        if self.record is None:
            self.names = tuple(tensors)
            self.record = empty_record(len(self.names), terms.device)
        self.record = record_first_non_finite(*self.record, terms, (trainer.current_epoch, self.step, batch_idx))

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.check(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.check(trainer)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        self.check(trainer)  # whoever saves (a checkpoint every n steps, a pre-emption handler) saves no broken state

    def check(self, trainer: L.Trainer) -> None:
        """Raise if a recorded term was not finite (one read of the small record from the device)."""
        if self.record is None:
            return
        where = first_non_finite(*(tensor.cpu() for tensor in self.record), self.names)
        if where is None:
            return
        last = latest_checkpoint(trainer)
        kept = f"the last good checkpoint is {last}" if last else "no checkpoint was written before it"
        raise NonFiniteLossError(
            f"the training loss became NaN or inf {where}; training stopped and {kept}; "
            "lower optim.lr or alm.penalty_init"
        )


def latest_checkpoint(trainer: L.Trainer) -> str:
    """The checkpoint file written last by any of the trainer's ``ModelCheckpoint`` callbacks ("" when none was).

    A run has several (the best by the monitored metric, ``last.ckpt`` at every epoch end): the one to resume from is
    the newest file, whichever callback wrote it.
    """
    paths = {
        path
        for callback in trainer.checkpoint_callbacks
        for path in (callback.last_model_path, callback.best_model_path)
        if path and os.path.isfile(path)
    }
    return max(paths, key=lambda path: os.stat(path).st_mtime_ns, default="")
