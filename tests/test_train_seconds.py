"""``train_seconds`` of a resumed run counts the sessions before it (the Timer state carried by the checkpoints).

The fast tests use a fake clock that moves only when a training batch ends (10 s each), so the expected times are
counted by hand: three batches per epoch, a first session killed in the middle of its second epoch, a second session
resuming from the checkpoint of the first epoch and training the second epoch again. The slow test kills a real
``almlit.train`` whose first session is made slow on purpose.
"""

import json
import os
import signal
import time
from unittest import mock

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, Timer
from lightning.pytorch.demos.boring_classes import BoringModel

from tests.helpers.commands import REPO_ROOT
from tests.helpers.interrupted_runs import DETERMINISTIC_DIGITS, STEPS_PER_EPOCH, kill_at, load, run_dir, train_in

BATCHES_PER_EPOCH = 3
SECONDS_PER_BATCH = 10.0


class Killed(Exception):
    """Stands for SIGKILL: nothing is saved after the last epoch end."""


class FakeClock:
    """Stands for the ``time`` module of Lightning's Timer: ``monotonic()`` moves only when told to."""

    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


class Tick(L.Callback):
    """Every training batch takes ``SECONDS_PER_BATCH`` on ``clock``; ``kill_at`` (a global step) raises there."""

    def __init__(self, clock: FakeClock, kill_at: int | None = None) -> None:
        self.clock = clock
        self.kill_at = kill_at

    def on_train_batch_end(self, trainer: L.Trainer, *args) -> None:
        self.clock.now += SECONDS_PER_BATCH
        if trainer.global_step == self.kill_at:
            raise Killed


def session(folder, clock, max_epochs, kill_at=None, ckpt_path=None) -> Timer:
    """One process training the boring model, as ``almlit.train`` wires the timer; returns its timer."""
    timer = Timer(verbose=False)
    checkpoint = ModelCheckpoint(dirpath=folder, save_last=True)
    trainer = L.Trainer(
        max_epochs=max_epochs,
        limit_train_batches=BATCHES_PER_EPOCH,
        limit_val_batches=1,
        callbacks=[Tick(clock, kill_at), checkpoint, timer],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    with mock.patch("lightning.pytorch.callbacks.timer.time", clock):
        if kill_at is None:
            trainer.fit(BoringModel(), ckpt_path=ckpt_path)
        else:
            with pytest.raises(Killed):
                trainer.fit(BoringModel(), ckpt_path=ckpt_path)
    return timer


def test_resumed_run_adds_the_training_time_saved_before_the_kill(tmp_path):
    uninterrupted = session(tmp_path / "whole", FakeClock(100.0), max_epochs=2)
    assert uninterrupted.time_elapsed("train") == 2 * BATCHES_PER_EPOCH * SECONDS_PER_BATCH  # 60 s

    # killed after 2 batches of epoch 2: the 20 s since the epoch-1 checkpoint are lost with the process
    session(tmp_path / "cut", FakeClock(100.0), max_epochs=2, kill_at=BATCHES_PER_EPOCH + 2)
    saved = torch.load(tmp_path / "cut" / "last.ckpt", weights_only=False)["callbacks"]["Timer"]
    assert saved["time_elapsed"]["train"] == 30.0
    # a new process, another clock origin: 30 s saved in last.ckpt + 30 s of epoch 2 trained again
    resumed = session(tmp_path / "cut", FakeClock(5000.0), max_epochs=2, ckpt_path=tmp_path / "cut" / "last.ckpt")
    assert resumed.time_elapsed("train") == 60.0


def test_run_resumed_at_its_end_keeps_the_saved_time(tmp_path):
    """Killed between the last checkpoint and the COMPLETE marker: the resumed fit trains nothing and adds nothing."""
    session(tmp_path, FakeClock(100.0), max_epochs=2)
    again = session(tmp_path, FakeClock(5000.0), max_epochs=2, ckpt_path=tmp_path / "last.ckpt")
    assert again.time_elapsed("train") == 60.0


@pytest.mark.slow
def test_killed_and_resumed_run_reports_both_sessions_training_time(tmp_path, monkeypatch):
    # the training subprocesses import the slow-down callback from tests/helpers/
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO_ROOT / "src"), str(REPO_ROOT)]))
    slow = [
        "+callbacks.slow._target_=tests.helpers.interrupted_runs.SlowUntilMarker",
        "+callbacks.slow.seconds=0.2",
        "+callbacks.slow.marker=killed.marker",
    ]
    command = [*DETERMINISTIC_DIGITS, *kill_at(STEPS_PER_EPOCH + 7, "SIGKILL"), *slow, "run_name=timed"]
    assert train_in(tmp_path, *command).returncode == -signal.SIGKILL
    folder = run_dir(tmp_path, "timed")
    before_kill = load(folder / "checkpoints" / "last.ckpt")["callbacks"]["Timer"]["time_elapsed"]["train"]
    assert before_kill >= STEPS_PER_EPOCH * 0.2  # the first epoch's sleeps alone: 3.2 s
    started = time.monotonic()
    resumed = train_in(tmp_path, *command)
    resumed_wall = time.monotonic() - started
    assert resumed.returncode == 0, resumed.stderr
    train_seconds = json.loads((folder / "metrics.json").read_text())["train_seconds"]
    # the resumed session (two epochs of 16 quick steps, no sleep) adds to the time saved before the kill; the time
    # of the resumed session alone would be well under the 3.2 s slept before the checkpoint
    assert before_kill < train_seconds <= before_kill + resumed_wall
