"""Run almlit's command-line entry points on given arguments, in this process or in a subprocess, as a user would.

In process, each entry point's own ``main`` runs: the argparse/dotlist ones with their argument list, the Hydra
one (``almlit.train``) with ``sys.argv`` set, plus overrides that leave the test process's logging alone. A
subprocess (``python -m``) costs the imports of torch, Lightning and Hydra again (several seconds): the tests of the
command line itself (its exit status, the one line on stderr, argument parsing, signals, several processes) use it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import logging
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
QUIET = ["debug=quiet"]  # no progress bar, no model summary (src/almlit/conf/debug/quiet.yaml)

# hydra/*_logging=none: Hydra would otherwise reconfigure the logging of the whole test process
HYDRA_IN_PROCESS = ["hydra/job_logging=none", "hydra/hydra_logging=none"]


@dataclass(frozen=True)
class Outcome:
    """Exit status and captured output of one command."""

    returncode: int
    stdout: str
    stderr: str


def train_main(arguments: list[str]) -> None:
    from almlit.train import main

    with mock.patch.object(sys, "argv", ["almlit.train", *arguments, *HYDRA_IN_PROCESS]):
        main()


def command_main(module: str) -> Callable[[list[str]], None]:
    """The function ``python -m <module>`` runs on its arguments: ``almlit.train``'s Hydra main through
    ``sys.argv``, the others' ``main(arguments)`` (a package's in its ``__main__``, as ``python -m`` finds it)."""
    if module == "almlit.train":
        return train_main
    spec = importlib.util.find_spec(module)
    if spec is None:
        raise ModuleNotFoundError(module)
    return importlib.import_module(f"{module}.__main__" if spec.submodule_search_locations else module).main


# what the training runs of these tests add to every command line: quiet output, the run folder at ./run
EXTRA = {"almlit.train": [*QUIET, "hydra.run.dir=run"]}


@contextlib.contextmanager
def process_state_kept(umask: int | None = None) -> Iterator[None]:
    """Give back what a training changes in the process: the environment (the seed variables Lightning sets), the
    random generators, torch's deterministic-algorithms switch; the umask is ``umask`` meanwhile (``None``: kept)."""
    environment = dict(os.environ)
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    deterministic = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    previous_umask = None if umask is None else os.umask(umask)
    try:
        yield
    finally:
        if previous_umask is not None:
            os.umask(previous_umask)
        torch.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
        os.environ.clear()
        os.environ.update(environment)


@contextlib.contextmanager
def logging_to(stream: io.StringIO) -> Iterator[None]:
    """Log records of level INFO and above go to ``stream`` meanwhile, as Hydra's default job logging sends them to
    stdout (``hydra/job_logging=none`` leaves the test process's logging alone otherwise)."""
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("[%(name)s][%(levelname)s] - %(message)s"))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.setLevel(level)
        root.removeHandler(handler)


def main_in_process(module: str, arguments: list[str], cwd: Path, monkeypatch, umask: int | None = None) -> Outcome:
    """``python -m <module> <arguments>`` as a call of its ``main`` in ``cwd`` (under ``umask``; ``None``: this
    process's); exit status 0 when it returns, ``SystemExit``'s code otherwise; stdout (with the log records, as
    Hydra's default job logging writes them) and stderr captured."""
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("ALMLIT_DEBUG", raising=False)
    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    with (
        process_state_kept(umask),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
        logging_to(stdout),
    ):
        try:
            command_main(module)(arguments)
        except SystemExit as exit_:
            code = 0 if exit_.code is None else exit_.code
    return Outcome(code, stdout.getvalue(), stderr.getvalue())


def run_in_process(module: str, arguments: list[str], cwd: Path, monkeypatch) -> Outcome:
    """:func:`main_in_process` with the arguments of :data:`EXTRA` first (a training's run folder: ``./run``)."""
    return main_in_process(module, [*EXTRA.get(module, []), *arguments], cwd, monkeypatch)


def run_module(
    module: str, *arguments: str, cwd: Path, timeout: float = 600, umask: int = -1
) -> subprocess.CompletedProcess:
    """``python -m <module> <arguments>`` in ``cwd`` (under ``umask``; -1: this process's); returns the completed
    process (never raises on exit code)."""
    environment = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        umask=umask,
    )


def run_in_subprocess(module: str, arguments: list[str], cwd: Path) -> Outcome:
    """``python -m <module> <arguments>`` in a new process in ``cwd``, with the arguments of :data:`EXTRA` first."""
    result = run_module(module, *EXTRA.get(module, []), *arguments, cwd=cwd)
    return Outcome(result.returncode, result.stdout, result.stderr)
