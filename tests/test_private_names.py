"""No module of the package uses another module's private name (``from x import _y`` or ``x._y``): what modules
share lives under a public name, in a private module where it is internal (e.g. ``almlit.losses._checks``)."""

import ast
from pathlib import Path

import almlit

PACKAGE = Path(almlit.__file__).parent


def private_names_from_other_modules(source: str) -> list[str]:
    """The ``_name`` s (not dunders) that ``source`` imports from, or reads as attributes of, a module it imports."""
    tree = ast.parse(source)
    modules, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                modules.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_the_check_finds_both_forms():
    source = "from almlit.losses.binary import _binary_loss\nfrom almlit.losses import binary\nbinary._focal_log_loss\n"
    assert private_names_from_other_modules(source) == [
        "line 1: from almlit.losses.binary import _binary_loss",
        "line 3: binary._focal_log_loss",
    ]
    assert private_names_from_other_modules("from almlit.losses._checks import reduce\nself._x\n") == []


def test_no_module_uses_a_private_name_of_another():
    offenders = {
        str(path.relative_to(PACKAGE)): found
        for path in sorted(PACKAGE.rglob("*.py"))
        if (found := private_names_from_other_modules(path.read_text()))
    }
    assert offenders == {}
