"""The package's layout from its import graph (read with ``ast``, nothing imported): the commands at the top import
downward only, no library module imports a command, and neither modules nor subpackages import each other in cycles."""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "almlit"
# python -m almlit.<name>: what users call (README), kept where they call it
USER_COMMANDS = {
    "bench",
    "cost",
    "demo",
    "ensemble",
    "export",
    "make_mri_cohort",
    "predict",
    "report",
    "select",
    "train",
}
# top-level modules that are no command: shared by every layer below the commands
FOUNDATIONS = {"bad_overrides", "config", "errors", "module"}  # bad_overrides: every command's one-line refusals


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text()) for name, path in MODULES.items()}


def imported(name: str) -> set[str]:
    """The almlit modules ``name`` imports (at the top, inside functions or under ``TYPE_CHECKING``)."""
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return {module for module in found if module in MODULES and module != name}


def is_command(name: str) -> bool:
    """A module run with ``python -m``: a ``__main__`` module, or one with an ``if __name__ == "__main__":`` block."""
    if name.endswith(".__main__"):
        return True
    return any(
        isinstance(node, ast.If) and "__main__" in ast.unparse(node.test) and "__name__" in ast.unparse(node.test)
        for node in TREES[name].body
    )


def layer(name: str) -> str:
    """The subpackage a module belongs to (``runs`` for ``almlit.runs.folder``), or the top-level module itself; a
    command is a node of its own wherever it lives (``almlit.report.__main__`` sits above every library package, as
    ``almlit.ensemble`` does)."""
    if name.endswith(".__main__"):
        return name
    parts = name.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else name


COMMANDS = {name for name in MODULES if is_command(name)}


def test_the_user_commands_are_at_the_top():
    top = {name.split(".")[1] for name in COMMANDS if layer(name) == name or name.endswith(".__main__")}
    assert top == USER_COMMANDS
    top_level_modules = {
        name.split(".")[1] for name in MODULES if name.count(".") == 1 and not (PACKAGE / name.split(".")[1]).is_dir()
    }
    assert top_level_modules - USER_COMMANDS == FOUNDATIONS


def test_no_module_imports_a_command():
    offenders = {name: sorted(imported(name) & COMMANDS) for name in MODULES}
    assert {name: commands for name, commands in offenders.items() if commands} == {}


def test_no_command_name_is_reused_by_a_library_module():
    """``python -m almlit.cost`` and ``almlit.benchmark.cost`` would read as one thing."""
    reused = {name for name in MODULES if name.rpartition(".")[2] in USER_COMMANDS and name.count(".") > 1}
    assert reused == set()


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one node (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            component.append(node)
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycles_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("grouping", ["module", "subpackage"])
def test_no_import_cycles(grouping):
    """Neither two modules nor two subpackages (or top-level modules) import each other, directly or around a loop."""
    key = (lambda name: name) if grouping == "module" else layer
    graph: dict[str, set[str]] = defaultdict(set)
    for name in MODULES:
        graph[key(name)] |= {key(target) for target in imported(name)} - {key(name)}
    assert cycles(graph) == []
