"""A paper table from ensemble folders: train the missing members (optionally), gather each row's ensemble, fill
the cells (ours, the bootstrap interval, the paper's number) and draw one ROC figure per setting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from almlit.ensemble import run_ensemble
from almlit.report.bootstrap import bootstrap_draws, percentile_interval
from almlit.report.ensemble_report import SCORES_FILE, member_dir, write_ensemble_report
from almlit.report.experiments import Experiment, row_folder
from almlit.report.figures import Curve
from almlit.report.folders import RunScores, is_finished, read_scores
from almlit.report.tables import MEMBER_PREFIX, Cell, Column, Table, baseline_of


@dataclass(frozen=True)
class RowResult:
    """The ensemble of one row of one setting: ``ensemble.json`` and the averaged test scores."""

    summary: dict[str, Any]
    scores: RunScores


def row_result(
    experiment: Experiment, row: str, root: Path, members: int, train: bool, extra: Sequence[str]
) -> RowResult | None:
    """The row's ensemble, trained first when ``train``; None when its members are not all finished."""
    folder = row_folder(root, experiment, row, extra)
    title = f"{experiment.title}: {row}"
    if train:
        _, summary = run_ensemble([*experiment.common, *experiment.rows[row], *extra], members, folder, title)
    elif all(is_finished(member_dir(folder, index)) for index in range(members)):
        summary = write_ensemble_report(folder, [member_dir(folder, index) for index in range(members)], title)
    else:
        return None
    return RowResult(summary, read_scores(folder / SCORES_FILE))


def is_rank_metric(metric: str) -> bool:
    """AUC and FPR@TPR: the metrics with bootstrap intervals."""
    return metric == "auc" or (metric.startswith("fpr@") and metric.endswith("tpr"))


def row_draws(result: RowResult | None, metrics: Sequence[str], replicates: int) -> dict[str, np.ndarray]:
    """Bootstrap draws of the row's binary rank metrics (none for multi-class scores or without replicates)."""
    if result is None or not replicates or result.scores.scores.ndim != 1:
        return {}
    levels = [float(metric[4:-3]) / 100 for metric in metrics if is_rank_metric(metric) and metric != "auc"]
    return bootstrap_draws(result.scores.scores, result.scores.labels, levels, replicates)


def cell(
    result: RowResult | None,
    metric: str,
    published: dict[str, float | None],
    draws: np.ndarray | None,
    baseline_draws: np.ndarray | None,
) -> Cell:
    """One cell in %: the ensemble's metric, or the members' mean ± std for ``members:<metric>``; the bootstrap
    interval and, for an ALM row, the interval of its paired difference to the baseline row."""
    if result is None:
        return Cell(**published)
    if metric.startswith(MEMBER_PREFIX):
        spread = result.summary["members_summary"][metric.removeprefix(MEMBER_PREFIX)]
        return Cell(100 * spread["mean"], 100 * spread["std"], **published)
    interval = difference = None
    if draws is not None:
        interval = tuple(100 * bound for bound in percentile_interval(draws))
        if baseline_draws is not None:
            difference = tuple(100 * bound for bound in percentile_interval(draws - baseline_draws))
    return Cell(100 * result.summary["ensemble"][metric], interval=interval, difference=difference, **published)


def same_test_set(first: RowResult | None, second: RowResult | None) -> bool:
    return (
        first is not None and second is not None and np.array_equal(first.scores.sample_ids, second.scores.sample_ids)
    )


def make_table(
    experiments: Sequence[Experiment],
    results: dict[tuple[str, str], RowResult | None],
    paper: dict[tuple[str, str, str], float],
    replicates: int = 0,
) -> Table:
    """The table of ``experiments`` (one per setting, all of one table), rows in the first file's order."""
    rows = list(dict.fromkeys(row for experiment in experiments for row in experiment.rows))
    columns = [Column(item.setting, item.title, metric) for item in experiments for metric in item.metrics]
    table = Table(experiments[0].table, rows, columns)
    for experiment in experiments:
        draws = {row: row_draws(results.get((experiment.setting, row)), experiment.metrics, replicates) for row in rows}
        for metric, row in ((metric, row) for metric in experiment.metrics for row in rows):
            key = (experiment.setting, row)
            baseline = baseline_of(row, rows)
            paired = baseline is not None and same_test_set(
                results.get(key), results.get((experiment.setting, baseline))
            )
            published = {
                "paper": paper.get((experiment.setting, row, metric)),
                "paper_std": paper.get((experiment.setting, row, f"{metric}:std")),
            }
            table.cells[(row, Column(experiment.setting, experiment.title, metric))] = cell(
                results.get(key),
                metric,
                published,
                draws[row].get(metric),
                draws[baseline].get(metric) if paired else None,
            )
    return table


def setting_curves(experiment: Experiment, results: dict[tuple[str, str], RowResult | None]) -> list[Curve]:
    """Binary rows' ensemble ROC curves: a colour per baseline, dashed for the baseline, solid for its ALM rows."""
    rows = list(experiment.rows)
    baselines = [row for row in rows if baseline_of(row, rows) is None]
    curves = []
    for row in rows:
        result = results.get((experiment.setting, row))
        if result is None or result.scores.scores.ndim != 1:
            continue
        baseline = baseline_of(row, rows)
        colour = f"C{baselines.index(baseline or row) % 10}"
        style = "-" if baseline else "--"
        curves.append(Curve(result.scores.scores, result.scores.labels, row, colour, linewidth=1.2, linestyle=style))
    return curves
