"""Run almlit's command-line entry points on given arguments, in this process or in a subprocess, as a user would.

In process, each entry point's own ``main`` runs: the argparse/dotlist ones with their argument list, the Hydra
one (``almlit.train``) with ``sys.argv`` set, plus overrides that leave the test process's logging alone.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from tests.conftest import QUIET, run_module

# hydra/*_logging=none: Hydra would otherwise reconfigure the logging of the whole test process
HYDRA_IN_PROCESS = ["hydra/job_logging=none", "hydra/hydra_logging=none"]


@dataclass(frozen=True)
class Outcome:
    """Exit status and captured output of one command."""

    code: int
    stdout: str
    stderr: str


def train_main(arguments: list[str]) -> None:
    from almlit.train import main

    with mock.patch.object(sys, "argv", ["almlit.train", *arguments, *HYDRA_IN_PROCESS]):
        main()


def select_main(arguments: list[str]) -> None:
    from almlit.select import main

    main(arguments)


def report_main(arguments: list[str]) -> None:
    from almlit.report.__main__ import main

    main(arguments)


def ensemble_main(arguments: list[str]) -> None:
    from almlit.ensemble import main

    main(arguments)


def cost_main(arguments: list[str]) -> None:
    from almlit.cost import main

    main(arguments)


def members_main(arguments: list[str]) -> None:
    from almlit.benchmark.members import main

    main(arguments)


def cohort_main(arguments: list[str]) -> None:
    from almlit.make_mri_cohort import main

    main(arguments)


def predict_main(arguments: list[str]) -> None:
    from almlit.predict import main

    main(arguments)


def export_main(arguments: list[str]) -> None:
    from almlit.export import main

    main(arguments)


MAINS: dict[str, Callable[[list[str]], None]] = {
    "almlit.train": train_main,
    "almlit.select": select_main,
    "almlit.report": report_main,
    "almlit.ensemble": ensemble_main,
    "almlit.make_mri_cohort": cohort_main,
    "almlit.cost": cost_main,
    "almlit.benchmark.members": members_main,
    "almlit.predict": predict_main,
    "almlit.export": export_main,
}
# what the training runs of these tests add to every command line: quiet output, the run folder at ./run
EXTRA = {"almlit.train": [*QUIET, "hydra.run.dir=run"]}


def run_in_process(module: str, arguments: list[str], cwd: Path, monkeypatch) -> Outcome:
    """``python -m <module> <arguments>`` as a call of its ``main`` in ``cwd``; exit status 0 when it returns."""
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("ALMLIT_DEBUG", raising=False)
    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            MAINS[module]([*EXTRA.get(module, []), *arguments])
        except SystemExit as exit_:
            code = 0 if exit_.code is None else exit_.code
    return Outcome(code, stdout.getvalue(), stderr.getvalue())


def run_in_subprocess(module: str, arguments: list[str], cwd: Path) -> Outcome:
    """``python -m <module> <arguments>`` in a new process in ``cwd``."""
    result = run_module(module, *EXTRA.get(module, []), *arguments, cwd=cwd)
    return Outcome(result.returncode, result.stdout, result.stderr)
