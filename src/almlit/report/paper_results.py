"""The paper's published numbers (Tables 1-4, in %), transcribed in ``paper_results.csv`` beside this file.

Columns: ``table, setting, method, metric, value``; a ``<metric>:std`` line holds the ``±`` part of a mean ± std
(Table 3's "Avg AUC"). The ALM rows of Table 4 are written ``ALM-m1 + CE`` / ``ALM-m2 + CE``, and its class-balanced
baseline ``CB-CE`` (printed "CB-BCE" in the paper, whose ALM rows read "+ CB-CE").
"""

from __future__ import annotations

import csv
from pathlib import Path

PAPER_RESULTS = Path(__file__).with_name("paper_results.csv")


def paper_results(table: str, path: Path = PAPER_RESULTS) -> dict[tuple[str, str, str], float]:
    """``{(setting, method, metric): value}`` of one table (empty for a table the paper does not have)."""
    with path.open(newline="") as stream:
        return {
            (line["setting"], line["method"], line["metric"]): float(line["value"])
            for line in csv.DictReader(stream)
            if line["table"] == table
        }
