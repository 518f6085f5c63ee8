"""Callbacks that the GPU check (and the resume tests) add to a training run with ``+callbacks.<name>._target_=...``.

* :class:`DeviceProbe` writes where a run's first training batch, network, multiplier bank and mu live, so a
  check in another process can tell that everything reached the GPU.
* :class:`SignalAtStep` sends a signal to its own process at a chosen global step, once: a kill or a preemption
  at an exact point of an epoch.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import lightning as L
import torch

from almlit.module import channels_last_format

if TYPE_CHECKING:
    from almlit.module import ALMClassifier


def memory_format(tensor: torch.Tensor) -> str:
    """How ``tensor`` is stored: ``"channels_last"`` (4D or 5D), ``"contiguous"`` or ``"strided"``."""
    if tensor.dim() in (4, 5) and not tensor.is_contiguous():
        if tensor.is_contiguous(memory_format=channels_last_format(tensor.dim())):
            return "channels_last"
    return "contiguous" if tensor.is_contiguous() else "strided"


class DeviceProbe(L.Callback):
    """Write a JSON record of where the run's tensors are, at the start of the first training batch.

    The record: the batch's images, targets and sample ids (device, dtype, memory format of the images), the
    network's first weight (device, memory format), the multiplier bank and mu (device; ``None`` without a
    constraint), whether the network is compiled, the trainer's precision and the training batches of an epoch.

    Args:
        path: the JSON file to write (its folder is created).
    """

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.written = False

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, *args: Any) -> None:
        if self.written:
            return
        images, targets, sample_ids = batch
        network = cast("ALMClassifier", pl_module).network
        weight = next(parameter for parameter in network.parameters() if parameter.dim() >= 4)
        bank = getattr(pl_module, "bank", None)
        record = {
            "images": {"device": str(images.device), "dtype": str(images.dtype), "format": memory_format(images)},
            "targets": str(targets.device),
            "sample_ids": str(sample_ids.device),
            "weights": {"device": str(weight.device), "format": memory_format(weight)},
            "bank": None if bank is None else str(bank.multipliers.device),
            "penalty": str(pl_module.penalty.device),
            "compiled": getattr(pl_module, "_compiled", False),
            "precision": str(trainer.precision),
            "training_batches": int(trainer.num_training_batches),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(record, indent=2) + "\n")
        self.written = True


class SignalAtStep(L.Callback):
    """Send the signal ``name`` to this process after training step ``step``, unless ``marker`` exists.

    The marker is created first, so the same command run again trains through: the restart must resume, not be
    signalled again.

    Args:
        step: the global step after which to signal.
        name: the signal's name (``SIGTERM``, ``SIGKILL``, ...).
        marker: the file whose existence says the signal was already sent.
    """

    def __init__(self, step: int, name: str, marker: str) -> None:
        self.step = step
        self.signum = getattr(signal, name)
        self.marker = Path(marker)

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step and not self.marker.exists():
            self.marker.touch()
            os.kill(os.getpid(), self.signum)
