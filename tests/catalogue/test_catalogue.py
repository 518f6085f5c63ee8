"""Every row of the bad-input catalogue, through the real entry point: its message, its exit status.

In process (fast suite): each entry point's ``main`` runs in this process, in the case's own folder. The slow twin
runs the first rows of every category in a subprocess, ``python -m ...`` exactly as a user types it (about 3-5 s
each), to show that the in-process runs are faithful to the real command (exit status, stderr).
"""

import os
import sys

import pytest

from tests.catalogue.cases import CASES, CATEGORIES
from tests.catalogue.render import DOC, with_table
from tests.helpers.commands import run_in_process, run_in_subprocess


def check(case, outcome, folder):
    assert outcome.returncode == case.exit_code, outcome.stderr
    lines = outcome.stderr.strip().splitlines()
    if case.exit_code == 2:
        assert lines[-1] == f"almlit: error: {case.message}".replace("{dir}", str(folder)), outcome.stderr
    else:
        assert lines[0] == case.message, outcome.stderr


def test_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 24


def hide_modules(case, folder, monkeypatch):
    """Make the case's absent modules unimportable: in this process (``sys.modules``) and in a subprocess (a module
    of that name first on ``PYTHONPATH`` that raises ``ImportError``)."""
    if not case.absent_modules:
        return
    shadows = folder / "absent_modules"
    shadows.mkdir()
    for name in case.absent_modules:
        monkeypatch.setitem(sys.modules, name, None)
        (shadows / f"{name}.py").write_text(f"raise ImportError('{name} is hidden by the bad-input catalogue')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(shadows), os.environ.get("PYTHONPATH")])))


def files(folder):
    """Every path under ``folder`` (files and folders)."""
    return {path.relative_to(folder) for path in folder.rglob("*")}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_in_process(case, tmp_path, monkeypatch):
    case.setup(tmp_path)
    hide_modules(case, tmp_path, monkeypatch)
    before = files(tmp_path)
    check(case, run_in_process(case.command, list(case.arguments), tmp_path, monkeypatch), tmp_path)
    assert files(tmp_path) - before == set()  # a refusal leaves nothing behind


SUBPROCESS_SAMPLE = [case for cases in CATEGORIES.values() for case in cases[:2]]


@pytest.mark.slow
@pytest.mark.parametrize("case", SUBPROCESS_SAMPLE, ids=lambda case: case.id)
def test_in_subprocess(case, tmp_path, monkeypatch):
    case.setup(tmp_path)
    hide_modules(case, tmp_path, monkeypatch)
    check(case, run_in_subprocess(case.command, list(case.arguments), tmp_path), tmp_path)


def test_the_documented_table_is_the_catalogue():
    document = DOC.read_text()
    assert with_table(document) == document, "run: python -m tests.catalogue.render"
