"""The test suite's own layout: shared helpers come from tests/helpers/, never from a test module or a conftest.

A test module imported by another one runs its tests twice and ties the two files together; a conftest is
pytest's to load (fixtures), not a module to import. The Makefile runs the package's commands, never test code.
"""

import ast
import re
from pathlib import Path

from tests.helpers.commands import REPO_ROOT

TESTS = REPO_ROOT / "tests"
# a test module or a conftest named as a dotted module path (in an import or a `_target_` string)
FORBIDDEN = re.compile(r"\btests(\.\w+)*\.(test_\w+|conftest)\b")


def imported_modules(tree: ast.AST) -> list[str]:
    """Every module an ``import`` or ``from ... import`` names, with ``from tests.x import y`` giving ``tests.x.y``
    too (``y`` may be a module)."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return names


def forbidden_uses(path: Path) -> list[str]:
    """The imports and string constants of ``path`` that name a test module or a conftest."""
    tree = ast.parse(path.read_text(), filename=str(path))
    strings = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    return [name for name in [*imported_modules(tree), *strings] if FORBIDDEN.search(name)]


def test_the_rule_finds_imports_of_test_modules_and_conftests(tmp_path):
    bad = tmp_path / "test_bad.py"
    bad.write_text(
        "import tests.test_x\nfrom tests.conftest import QUIET\nfrom tests.mri import conftest\n"
        "from tests.helpers.commands import REPO_ROOT\nfrom tests import helpers\n"
        "TARGET = '+callbacks.slow._target_=tests.test_train_seconds.SlowUntilMarker'\n"
    )
    assert forbidden_uses(bad) == [
        "tests.test_x",
        "tests.conftest",
        "tests.conftest.QUIET",
        "tests.mri.conftest",
        "+callbacks.slow._target_=tests.test_train_seconds.SlowUntilMarker",
    ]


def test_no_test_code_imports_a_test_module_or_a_conftest():
    paths = [path for path in sorted(TESTS.rglob("*.py")) if path != Path(__file__)]  # its own example holds them
    found = {str(path.relative_to(REPO_ROOT)): forbidden_uses(path) for path in paths}
    assert {path: uses for path, uses in found.items() if uses} == {}


def test_helpers_import_no_other_test_code():
    for path in sorted((TESTS / "helpers").rglob("*.py")):
        tests_imports = [name for name in imported_modules(ast.parse(path.read_text())) if name.startswith("tests.")]
        assert all(name.startswith("tests.helpers") for name in tests_imports), (path, tests_imports)


def test_the_makefile_runs_no_test_code():
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert not re.search(r"\b(from|import)\s+tests\b|\btests\.\w", makefile)
