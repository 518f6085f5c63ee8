"""No module of the package uses another module's private name (``from x import _y`` or ``x._y``): what modules
share lives under a public name, in a private module where it is internal (e.g. ``almlit.losses._checks``), and a
private module is imported only from inside its own package."""

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


def private_modules_of_other_packages(source: str, package: str) -> list[str]:
    """The imports in ``source`` (a module of ``package``, dotted) of a private ``almlit`` module of another package."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            private = next((index for index, part in enumerate(parts) if part.startswith("_")), None)
            if parts[0] == "almlit" and private is not None and ".".join(parts[:private]) != package:
                found.append(f"line {node.lineno}: {name}")
    return found


def test_the_package_check_allows_its_own_package_only():
    source = "from almlit.metrics._checks import x\nimport almlit.losses._checks\nfrom almlit.losses._checks import y\n"
    assert private_modules_of_other_packages(source, "almlit.losses") == ["line 1: almlit.metrics._checks"]
    assert private_modules_of_other_packages(source, "almlit.decision") == [
        "line 1: almlit.metrics._checks",
        "line 2: almlit.losses._checks",
        "line 3: almlit.losses._checks",
    ]


def test_no_module_imports_a_private_module_of_another_package():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        package = ".".join(("almlit", *path.parent.relative_to(PACKAGE).parts))
        if found := private_modules_of_other_packages(path.read_text(), package):
            offenders[str(path.relative_to(PACKAGE))] = found
    assert offenders == {}
