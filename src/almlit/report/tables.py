"""Paper tables as data: cells in %, the paper's bold and underline marks, and Markdown, CSV and LaTeX renderings.

Marks follow the paper (section 5.3): "we compare each baseline with the corresponding ALM+baseline and present the
best result among the two by bold. Also, the underlined results indicate the best results among all." For Table 4,
with two ALM versions per baseline: "A bold result for a baseline means that it is able to outperform both
constrained optimisation methods, otherwise the better constrained strategies are highlighted." Both are one rule:

- a row named ``"<ALM variant> + <baseline>"`` belongs to the row named ``<baseline>``;
- an ALM row is bold when it is at least as good as its baseline; a baseline is bold when it is at least as good as
  every one of its ALM rows; rows without a partner (MBAUC) are never bold;
- the best value of a column is underlined (every one, on ties).

Values are compared as displayed (rounded to the shown decimals), so the marks agree with what a reader sees. FPR and
error columns are better lower; AUC and accuracy columns higher.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from almlit.report.bootstrap import LEVEL

DECIMALS = 1
MEMBER_PREFIX = "members:"
# "fpr@98tpr:deployed", "tpr@98tpr:deployed": the test FPR and TPR at the threshold chosen on the calibration split
DEPLOYED_SUFFIX = ":deployed"
DEPLOYED_NOTE = (
    "Deployed: the test TPR and FPR at the threshold chosen on the calibration split for that target TPR "
    "(operating_points.json), brackets: 95% Clopper-Pearson intervals; the paper's FPR @ TPR picks its threshold on "
    "the test set itself."
)


@dataclass(frozen=True)
class Cell:
    """One value of the table, in %.

    Attributes:
        value: ours (NaN when the row has no result).
        std: the spread shown after ``±`` (members' mean +- std columns), else None.
        interval: the bootstrap confidence interval ``(low, high)``, else None.
        difference: for an ALM row, the bootstrap interval of (this row - its baseline row) on the same resamples
            of the test set, else None; when it excludes 0 the two rows differ (marked ``†``).
        paper: the published value, else None.
        paper_std: the published spread, else None.
    """

    value: float = math.nan
    std: float | None = None
    interval: tuple[float, float] | None = None
    difference: tuple[float, float] | None = None
    paper: float | None = None
    paper_std: float | None = None


@dataclass(frozen=True)
class Column:
    """One metric of one setting: ``setting`` keys the paper's numbers, ``title`` is printed above its metrics."""

    setting: str
    title: str
    metric: str


@dataclass
class Table:
    """Rows in the paper's order, columns grouped by setting, and one :class:`Cell` per (row, column)."""

    name: str
    rows: list[str]
    columns: list[Column]
    cells: dict[tuple[str, Column], Cell] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def higher_is_better(metric: str) -> bool:
    """FPR and error metrics are better lower; everything else (AUC, accuracy) higher."""
    return not metric.removeprefix(MEMBER_PREFIX).startswith(("fpr", "error"))


def baseline_of(row: str, rows: Sequence[str]) -> str | None:
    """The baseline row of an ALM row ``"<variant> + <baseline>"``, or None for a baseline (or an unpaired row)."""
    _, plus, baseline = row.partition(" + ")
    return baseline if plus and baseline in rows else None


def shown(value: float, decimals: int = DECIMALS) -> float:
    """The value as displayed; the marks compare these."""
    return round(value, decimals)


def marks(values: Mapping[str, float], metric: str, decimals: int = DECIMALS) -> tuple[set[str], set[str]]:
    """The bold and the underlined rows of one column.

    Args:
        values: row name -> value (NaN for a missing result, never marked), rows in table order.
        metric: the column's metric, which decides whether lower or higher is better.
        decimals: the displayed precision the comparison uses.

    Returns:
        ``(bold rows, underlined rows)``.
    """
    sign = 1 if higher_is_better(metric) else -1
    score = {row: sign * shown(value, decimals) for row, value in values.items() if not math.isnan(value)}
    rows = list(values)
    bold = set()
    for row in score:
        baseline = baseline_of(row, rows)
        if baseline in score and score[row] >= score[baseline]:
            bold.add(row)
        versions = [other for other in score if baseline_of(other, rows) == row]
        if versions and all(score[row] >= score[other] for other in versions):
            bold.add(row)
    best = max(score.values(), default=None)
    underlined = {row for row, value in score.items() if value == best}
    return bold, underlined


def column_marks(table: Table) -> dict[Column, tuple[set[str], set[str]]]:
    """:func:`marks` of every column of a table."""
    return {
        column: marks({row: table.cells.get((row, column), Cell()).value for row in table.rows}, column.metric)
        for column in table.columns
    }


def metric_title(metric: str) -> str:
    """The paper's column names: "FPR @ 98% TPR", "Test AUC", "FPR @ 0 FN", "Avg AUC", "Error @ 80% TPR"; and
    "pAUC @ FPR <= 30%", "TPAUC @ TPR >= 50%, FPR <= 30%" for the partial AUCs."""
    if metric.startswith(MEMBER_PREFIX):
        return f"Avg {metric_title(metric.removeprefix(MEMBER_PREFIX)).removeprefix('Test ')}"
    if deployed := re.fullmatch(rf"(fpr|tpr)@(\d+)tpr{DEPLOYED_SUFFIX}", metric):
        return f"{deployed[1].upper()} deployed @ {deployed[2]}% TPR"
    named = {"auc": "Test AUC", "accuracy": "Overall Accuracy"}
    if metric in named:
        return named[metric]
    if partial := re.fullmatch(r"pauc@(\d+)fpr", metric):
        return f"pAUC @ FPR <= {partial[1]}%"
    if partial := re.fullmatch(r"tpauc@(\d+)tpr(\d+)fpr", metric):
        return f"TPAUC @ TPR >= {partial[1]}%, FPR <= {partial[2]}%"
    match = re.fullmatch(r"(fpr|error_noncritical)@(\d+)(tpr|fn)", metric)
    if not match:
        return metric
    name = "FPR" if match[1] == "fpr" else "Error"
    level = f"{match[2]}% TPR" if match[3] == "tpr" else f"{match[2]} FN"
    return f"{name} @ {level}"


def number(value: float | None, std: float | None = None, decimals: int = DECIMALS) -> str:
    if value is None or math.isnan(value):
        return "–"
    text = f"{value:.{decimals}f}"
    return f"{text}±{std:.{decimals}f}" if std is not None else text


def settings(table: Table) -> list[tuple[str, list[Column]]]:
    """Columns grouped by setting title, in order."""
    groups: dict[str, list[Column]] = {}
    for column in table.columns:
        groups.setdefault(column.title, []).append(column)
    return list(groups.items())


def differs(cell: Cell) -> bool:
    """Whether the paired bootstrap interval of an ALM row's difference to its baseline excludes 0."""
    return cell.difference is not None and (cell.difference[0] > 0 or cell.difference[1] < 0)


DIFFERS_NOTE = (
    f"Brackets: {LEVEL:.0%} bootstrap intervals over the test images. †: the ALM row differs from its baseline "
    "(the paired bootstrap interval of their difference excludes 0)."
)


def is_deployed(metric: str) -> bool:
    """A test rate at a calibration-chosen threshold: always shown with its exact interval."""
    return metric.endswith(DEPLOYED_SUFFIX)


def cell_text(cell: Cell, bold: bool, underlined: bool, style: str, show_interval: bool) -> str:
    text = number(cell.value, cell.std)
    if style == "latex":
        text = text.replace("±", r"$\pm$").replace("–", "--")
        text = rf"\underline{{{text}}}" if underlined else text
        text = rf"\textbf{{{text}}}" if bold else text
    else:
        text = f"<u>{text}</u>" if underlined else text
        text = f"**{text}**" if bold else text
    if show_interval and differs(cell):
        text += r"$^\dagger$" if style == "latex" else "†"
    if show_interval and cell.interval is not None:
        low, high = cell.interval
        text += rf" {{\scriptsize [{low:.1f}, {high:.1f}]}}" if style == "latex" else f" [{low:.1f}, {high:.1f}]"
    return text


def to_markdown(table: Table, paper: bool = False, show_interval: bool = False) -> str:
    """A GitHub Markdown table; with ``paper`` a "paper" column after each of ours."""
    table_marks = column_marks(table)
    header, rule = ["Method"], ["---"]
    for title, columns in settings(table):
        for column in columns:
            header.append(f"{title}<br>{metric_title(column.metric)}")
            rule.append("---:")
            if paper:
                header.append("paper")
                rule.append("---:")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    for row in table.rows:
        cells = [row]
        for column in table.columns:
            cell = table.cells.get((row, column), Cell())
            bold, underlined = (row in rows for rows in table_marks[column])
            cells.append(cell_text(cell, bold, underlined, "markdown", show_interval or is_deployed(column.metric)))
            if paper:
                cells.append(number(cell.paper, cell.paper_std))
        lines.append("| " + " | ".join(cells) + " |")
    notes = [DIFFERS_NOTE] if show_interval else []
    notes += table.notes
    return "\n".join([*lines, *(line for note in notes for line in ("", note))]) + "\n"


def latex_escape(text: str) -> str:
    return re.sub(r"([_%&#$])", r"\\\1", text)


def to_latex(table: Table, paper: bool = False, show_interval: bool = False) -> str:
    """A booktabs ``tabular``: one column group per setting (``\\usepackage{booktabs}``)."""
    table_marks = column_marks(table)
    per_metric = 2 if paper else 1
    groups = settings(table)
    lines = [r"\begin{tabular}{l" + "r" * per_metric * len(table.columns) + "}", r"\toprule"]
    spans = [rf"\multicolumn{{{per_metric * len(columns)}}}{{c}}{{{latex_escape(title)}}}" for title, columns in groups]
    lines.append(" & ".join(["", *spans]) + r" \\")
    heads = []
    for column in table.columns:
        heads.append(latex_escape(metric_title(column.metric)))
        if paper:
            heads.append("paper")
    lines += [" & ".join(["Method", *heads]) + r" \\", r"\midrule"]
    for row in table.rows:
        cells = [latex_escape(row)]
        for column in table.columns:
            cell = table.cells.get((row, column), Cell())
            bold, underlined = (row in rows for rows in table_marks[column])
            cells.append(cell_text(cell, bold, underlined, "latex", show_interval or is_deployed(column.metric)))
            if paper:
                cells.append(number(cell.paper, cell.paper_std).replace("±", r"$\pm$").replace("–", "--"))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    """One line per (method, setting, metric): ours with its spread and interval, the marks, the paper's value."""
    table_marks = column_marks(table)
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(
        ["method", "setting", "metric", "value", "std", "ci_low", "ci_high", "diff_low", "diff_high"]
        + ["bold", "underline", "paper", "paper_std"]
    )
    for row in table.rows:
        for column in table.columns:
            cell = table.cells.get((row, column), Cell())
            bold, underlined = (row in rows for rows in table_marks[column])
            optional = [cell.std, *(cell.interval or (None, None)), *(cell.difference or (None, None))]
            writer.writerow(
                [row, column.setting, column.metric, cell.value, *("" if x is None else x for x in optional)]
                + [int(bold), int(underlined)]
                + ["" if x is None else x for x in (cell.paper, cell.paper_std)]
            )
    return stream.getvalue()
