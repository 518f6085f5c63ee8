"""Signals stop training at a batch boundary; SLURM jobs warned with SIGUSR1 requeue themselves."""

import os
import signal

import pytest

from almlit.callbacks.stop_on_signal import StopOnSignal
from almlit.runs import preemption
from almlit.runs.preemption import Preempted, signal_number, stop_after_preemption


def test_signal_stops_at_the_end_of_the_batch_and_handlers_are_restored():
    callback = StopOnSignal(signals=("SIGUSR1",))
    previous = signal.getsignal(signal.SIGUSR1)
    callback.on_fit_start(None, None)
    callback.on_train_batch_end()  # no signal yet: carries on
    os.kill(os.getpid(), signal.SIGUSR1)
    with pytest.raises(Preempted, match="stopped by SIGUSR1"):
        callback.on_train_batch_end()
    with pytest.raises(Preempted):
        callback.on_validation_batch_end()
    callback.teardown(None, None, "fit")
    assert signal.getsignal(signal.SIGUSR1) == previous


def test_unknown_signal_name_is_refused():
    with pytest.raises(ValueError, match="unknown signal 'SIGNOPE': use a name such as SIGTERM or SIGUSR1"):
        signal_number("SIGNOPE")


def test_outside_slurm_the_line_says_to_rerun(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SLURM_NTASKS", raising=False)
    last = tmp_path / "last.ckpt"
    last.write_bytes(b"")
    with pytest.raises(SystemExit) as exit_info:
        stop_after_preemption(Preempted(signal.SIGUSR1), str(last))
    assert exit_info.value.code == 128 + signal.SIGUSR1
    assert capsys.readouterr().err == f"almlit: stopped by SIGUSR1; rerun the same command: it resumes from {last}\n"


def test_a_stacks_line_counts_the_runs_that_resume(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SLURM_NTASKS", raising=False)
    written, missing = tmp_path / "a.ckpt", tmp_path / "b.ckpt"
    written.write_bytes(b"")
    with pytest.raises(SystemExit) as exit_info:
        stop_after_preemption(Preempted(signal.SIGTERM), [str(written), str(missing)])
    assert exit_info.value.code == 128 + signal.SIGTERM
    assert capsys.readouterr().err == (
        "almlit: stopped by SIGTERM; rerun the same command: it resumes 1 of the 2 stacked runs from their "
        "checkpoints/last.ckpt and starts the others again from epoch 0\n"
    )


@pytest.mark.parametrize(("signum", "requeued"), [(signal.SIGUSR1, True), (signal.SIGTERM, False)])
def test_slurm_job_requeues_itself_only_on_the_requeue_signal(tmp_path, capsys, monkeypatch, signum, requeued):
    monkeypatch.setenv("SLURM_NTASKS", "1")
    monkeypatch.setenv("SLURM_JOB_NAME", "train")
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.delenv("SLURM_ARRAY_JOB_ID", raising=False)
    calls = []
    monkeypatch.setattr(preemption.subprocess, "run", lambda command, check: calls.append(command) or Done())
    with pytest.raises(SystemExit) as exit_info:
        stop_after_preemption(Preempted(signum), str(tmp_path / "absent.ckpt"))
    assert exit_info.value.code == 128 + signum
    assert calls == ([["scontrol", "requeue", "4242"]] if requeued else [])
    error = capsys.readouterr().err
    name = signal.Signals(signum).name
    if requeued:
        assert error == f"almlit: stopped by {name}; requeued SLURM job 4242, which starts again from epoch 0\n"
    else:
        assert error == f"almlit: stopped by {name}; rerun the same command: it starts again from epoch 0\n"


class Done:
    returncode = 0
