"""Shared helpers: run the real entry points in a subprocess, as a user would."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
QUIET = ["debug=quiet"]  # no progress bar, no model summary (src/almlit/conf/debug/quiet.yaml)


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


@pytest.fixture
def train(tmp_path):
    """Run ``python -m almlit.train`` with quiet output inside ``tmp_path``."""

    def run(*overrides: str) -> subprocess.CompletedProcess:
        return run_module("almlit.train", *QUIET, *overrides, cwd=tmp_path)

    return run
