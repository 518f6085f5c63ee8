"""Fixtures shared by the whole suite (helpers shared by test modules live in tests/helpers/)."""

import subprocess

import pytest

from tests.helpers.commands import QUIET, Outcome, main_in_process, run_module


@pytest.fixture
def train(tmp_path, monkeypatch):
    """``python -m almlit.train <overrides>`` with quiet output inside ``tmp_path``, run in this process (its ``main``,
    as :mod:`tests.helpers.commands` runs it): for tests of what a training writes, not of the command line."""

    def run(*overrides: str) -> Outcome:
        return main_in_process("almlit.train", [*QUIET, *overrides], tmp_path, monkeypatch)

    return run


@pytest.fixture
def train_command(tmp_path):
    """``python -m almlit.train <overrides>`` with quiet output inside ``tmp_path``, in a subprocess: for tests of the
    command line itself (exit status, the one line on stderr, processes and signals)."""

    def run(*overrides: str) -> subprocess.CompletedProcess:
        return run_module("almlit.train", *QUIET, *overrides, cwd=tmp_path)

    return run
