"""Digits trainings that are stopped on purpose (a signal after a chosen step) and started again, in subprocesses."""

import time
from pathlib import Path

import lightning as L
import torch

from tests.helpers.commands import QUIET, run_module

# 948 negatives + 47 positives of the digits at imb=20: 16 training batches of 64 per epoch
DETERMINISTIC_DIGITS = ["trainer.deterministic=true", "imb=20", "callbacks.early_stopping=null", "trainer.max_epochs=3"]
STEPS_PER_EPOCH = 16


def kill_at(step: int, name: str) -> list[str]:
    """Overrides adding the test callback that sends ``name`` to the run after ``step`` (once: see its marker)."""
    return [
        "+callbacks.kill._target_=almlit.callbacks.probes.SignalAtStep",
        f"+callbacks.kill.step={step}",
        f"+callbacks.kill.name={name}",
        "+callbacks.kill.marker=killed.marker",
    ]


def train_in(folder, *overrides):
    """``python -m almlit.train`` in ``folder``, quietly."""
    return run_module("almlit.train", *QUIET, *overrides, cwd=folder)


def run_dir(folder, name):
    """The run folder of ``run_name=<name>`` trained in ``folder`` (the default ``hydra.run.dir``)."""
    return folder / "outputs" / "runs" / name


def load(path):
    """A checkpoint, whole (Lightning's own keys too), on the CPU."""
    return torch.load(path, weights_only=False, map_location="cpu")


class SlowUntilMarker(L.Callback):
    """Sleep ``seconds`` after every training batch until ``marker`` exists (the first session of a killed run)."""

    def __init__(self, seconds: float, marker: str) -> None:
        self.seconds = seconds
        self.marker = Path(marker)

    def on_train_batch_end(self, *args) -> None:
        if not self.marker.exists():
            time.sleep(self.seconds)
