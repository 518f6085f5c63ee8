"""Write the table of docs/bad_inputs.md from the catalogue: ``python -m tests.catalogue.render``."""

from __future__ import annotations

from pathlib import Path

from tests.catalogue.cases import CATEGORIES, Case
from tests.helpers.commands import REPO_ROOT

DOC = REPO_ROOT / "docs" / "bad_inputs.md"
BEGIN = "<!-- catalogue: begin (written by python -m tests.catalogue.render) -->"
END = "<!-- catalogue: end -->"


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def shown(case: Case) -> str:
    """The line as the user sees it."""
    return f"almlit: error: {case.message}" if case.exit_code == 2 else case.message


def table() -> str:
    """One Markdown table per category: id, bad input, command, message, exit status."""
    parts = []
    for category, cases in CATEGORIES.items():
        parts += [
            f"### {category}",
            "",
            "| id | bad input | command | what it prints | exit |",
            "|---|---|---|---|---:|",
        ]
        for case in cases:
            row = [case.id, case.bad_input, f"`{case.command_line}`", f"`{shown(case)}`", str(case.exit_code)]
            parts.append("| " + " | ".join(cell(value) for value in row) + " |")
        parts.append("")
    return "\n".join(parts)


def with_table(document: str) -> str:
    """``document`` with the text between the markers replaced by the current table."""
    head, _, rest = document.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n\n{table()}\n{END}{tail}"


def main(path: Path = DOC) -> None:
    path.write_text(with_table(path.read_text()))


if __name__ == "__main__":
    main()
