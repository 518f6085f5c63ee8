"""Reading a manifest CSV: its column names and rows, every name and cell stripped of surrounding spaces."""

from __future__ import annotations

import csv
from pathlib import Path


def read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The columns and rows of a CSV file with a header line (an empty cell reads as ``""``).

    Raises:
        FileNotFoundError: ``manifest not found: <path>``.
    """
    if not path.is_file():
        raise FileNotFoundError(f"manifest not found: {path}")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        columns = [name.strip() for name in reader.fieldnames or []]
        rows = [{key.strip(): (value or "").strip() for key, value in row.items() if key} for row in reader]
    return columns, rows
