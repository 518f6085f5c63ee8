"""Stopping when the machine is taken away (SIGTERM) or SLURM warns that the time limit is near (SIGUSR1).

The run stops at the end of the training or validation batch under way (:class:`almlit.callbacks.StopOnSignal` raises
:class:`Preempted` there) and saves nothing there: it resumes from its
last epoch-end checkpoint (``checkpoints/last.ckpt``) and replays the interrupted epoch, whose batch order and
augmentation depend only on ``(seed, epoch)`` (:mod:`almlit.data.epoch_seeding`), so the resumed run ends exactly
where an uninterrupted one does. A mid-epoch checkpoint could not promise that: the augmentation generator of the
epoch and the metrics accumulated so far are not in it. Under SLURM the job then requeues itself
(``scontrol requeue``) when the signal was the requeue signal (``#SBATCH --signal=USR1@120``); SIGTERM alone (a
``scancel``, or a preemption that SLURM requeues by itself) only stops it.

Installed before Lightning registers its own handlers, the callback's SIGUSR1 handler also keeps Lightning's SLURM
plugin from saving an ``hpc_ckpt_*.ckpt`` in the middle of a training step.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import NoReturn

from lightning.fabric.plugins.environments import SLURMEnvironment
from lightning.pytorch.utilities.exceptions import SIGTERMException

# The signal after which a SLURM job requeues itself (Lightning's SLURM plugin uses the same one).
REQUEUE_SIGNAL = signal.SIGUSR1


class Preempted(Exception):
    """Training stopped on ``signum`` at a batch boundary."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def signal_number(name: str) -> int:
    """``signal.SIGUSR1`` for ``"SIGUSR1"``.

    Raises:
        ValueError: a name that is not a signal of this platform.
    """
    number = getattr(signal, str(name), None)
    if not isinstance(number, signal.Signals):
        raise ValueError(f"unknown signal {name!r}: use a name such as SIGTERM or SIGUSR1")
    return int(number)


def slurm_job_id() -> str:
    """The id ``scontrol requeue`` takes: ``<array job>_<task>`` for array jobs, else ``SLURM_JOB_ID``."""
    array_job = os.environ.get("SLURM_ARRAY_JOB_ID")
    if array_job is not None:
        return f"{array_job}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    return os.environ["SLURM_JOB_ID"]


def what_resumes(last_checkpoints: Sequence[str]) -> str:
    """What the same command does next: ``resumes from <last.ckpt>`` (or ``starts again from epoch 0``) for one run;
    for the runs of a stack, how many resume from their ``last.ckpt`` and how many start again."""
    present = sum(os.path.isfile(path) for path in last_checkpoints)
    if len(last_checkpoints) == 1:
        return f"resumes from {last_checkpoints[0]}" if present else "starts again from epoch 0"
    if present == len(last_checkpoints):
        return f"resumes each of the {present} stacked runs from its checkpoints/last.ckpt"
    return (
        f"resumes {present} of the {len(last_checkpoints)} stacked runs from their checkpoints/last.ckpt and starts "
        "the others again from epoch 0"
    )


def stop_after_preemption(stop: Preempted | SIGTERMException, last_checkpoint: str | Sequence[str]) -> NoReturn:
    """Requeue the SLURM job if it was warned with :data:`REQUEUE_SIGNAL`, say what happens next, exit 128 + signal.

    ``stop`` is :class:`Preempted`, or Lightning's own ``SIGTERMException`` when its SIGTERM check came first;
    ``last_checkpoint``: the run's ``checkpoints/last.ckpt``, or those of the runs of a stack.
    """
    signum = getattr(stop, "signum", signal.SIGTERM)
    name = signal.Signals(signum).name
    resume = what_resumes([last_checkpoint] if isinstance(last_checkpoint, str) else last_checkpoint)
    line = f"almlit: stopped by {name}; rerun the same command: it {resume}"
    if signum == REQUEUE_SIGNAL and SLURMEnvironment.detect():
        job = slurm_job_id()
        result = subprocess.run(["scontrol", "requeue", job], check=False)
        if result.returncode == 0:
            line = f"almlit: stopped by {name}; requeued SLURM job {job}, which {resume}"
        else:
            line = f"almlit: stopped by {name}; requeueing SLURM job {job} failed; rerun it: it {resume}"
    print(line, file=sys.stderr, flush=True)
    sys.exit(128 + signum)
