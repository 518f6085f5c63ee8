"""A paper table from ensemble folders: train the missing members (optionally), gather each row's ensemble, fill
the cells (ours, the bootstrap interval, the paper's number) and draw one ROC figure per setting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from almlit.decision.operating_points import load_operating_points
from almlit.plots.figures import Curve
from almlit.report.bootstrap import bootstrap_draws, percentile_interval
from almlit.report.ensemble_members import MemberTrainer, run_ensemble
from almlit.report.ensemble_report import SCORES_FILE, member_dir, write_ensemble_report
from almlit.report.experiments import Experiment, row_folder
from almlit.report.tables import (
    DEPLOYED_NOTE,
    DEPLOYED_SUFFIX,
    MEMBER_PREFIX,
    Cell,
    Column,
    Table,
    baseline_of,
    is_deployed,
)
from almlit.runs.folder import OPERATING_POINTS_FILE
from almlit.runs.reader import RunScores, is_finished, read_scores


class Published(TypedDict):
    """The paper's value of a cell and its spread (``None`` where the paper gives none), as :class:`Cell` takes them."""

    paper: float | None
    paper_std: float | None


@dataclass(frozen=True)
class RowResult:
    """The ensemble of one row of one setting: ``ensemble.json``, the averaged test scores and, when the members
    share a calibration split, the ensemble's ``operating_points.json``."""

    summary: dict[str, Any]
    scores: RunScores
    operating_points: dict[str, Any] | None = None


def row_result(
    experiment: Experiment,
    row: str,
    root: Path,
    members: int,
    train: bool,
    extra: Sequence[str],
    prevalence: float | None = None,
    trainer: MemberTrainer | None = None,
) -> RowResult | None:
    """The row's ensemble, trained first when ``train``; None when its members are not all finished.

    ``prevalence``: the deployment share of positives of its ``operating_points.json`` (default: the members').
    ``trainer``: how the missing members are trained (:func:`~almlit.report.ensemble_members.run_ensemble`'s
    ``train``; ``None``: one process each)."""
    folder = row_folder(root, experiment, row, extra)
    title = f"{experiment.title}: {row}"
    if train:
        overrides = [*experiment.common, *experiment.rows[row], *extra]
        if prevalence is not None:
            overrides.append(f"metrics.prevalence={prevalence}")
        _, summary = run_ensemble(overrides, members, folder, title, trainer)
    elif all(is_finished(member_dir(folder, index)) for index in range(members)):
        member_dirs = [member_dir(folder, index) for index in range(members)]
        summary = write_ensemble_report(folder, member_dirs, title, prevalence)
    else:
        return None
    operating_points = load_operating_points(folder) if (folder / OPERATING_POINTS_FILE).is_file() else None
    return RowResult(summary, read_scores(folder / SCORES_FILE), operating_points)


def deployed_metrics(metrics: Sequence[str]) -> list[str]:
    """``tpr@<t>tpr:deployed`` and ``fpr@<t>tpr:deployed`` for every ``fpr@<t>tpr`` column (binary tables)."""
    levels = [metric[4:] for metric in metrics if metric.startswith("fpr@") and metric.endswith("tpr")]
    return [f"{rate}@{level}{DEPLOYED_SUFFIX}" for level in levels for rate in ("tpr", "fpr")]


def deployed_cell(result: RowResult, metric: str, published: Published) -> Cell:
    """The test TPR or FPR (in %) at the operating point of the row's ensemble for the column's target TPR, with
    its Clopper-Pearson interval; empty when the ensemble has no operating points."""
    rate, _, level = metric.removesuffix(DEPLOYED_SUFFIX).partition("@")
    target = float(level.removesuffix("tpr")) / 100
    points = (result.operating_points or {}).get("operating_points", [])
    point = next((point for point in points if abs(point["target_tpr"] - target) < 1e-9 and "test" in point), None)
    if point is None:
        return Cell(**published)
    test = point["test"]
    return Cell(100 * test[rate], interval=tuple(100 * bound for bound in test[f"{rate}_ci"]), **published)


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
    published: Published,
    draws: np.ndarray | None,
    baseline_draws: np.ndarray | None,
) -> Cell:
    """One cell in %: the ensemble's metric, or the members' mean ± std for ``members:<metric>``; the bootstrap
    interval and, for an ALM row, the interval of its paired difference to the baseline row."""
    if result is None:
        return Cell(**published)
    if is_deployed(metric):
        return deployed_cell(result, metric, published)
    if metric.startswith(MEMBER_PREFIX):
        spread = result.summary["members_summary"][metric.removeprefix(MEMBER_PREFIX)]
        return Cell(100 * spread["mean"], 100 * spread["std"], **published)
    interval: tuple[float, float] | None = None
    difference: tuple[float, float] | None = None
    if draws is not None:
        low, high = percentile_interval(draws)
        interval = (100 * low, 100 * high)
        if baseline_draws is not None:
            low, high = percentile_interval(draws - baseline_draws)
            difference = (100 * low, 100 * high)
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
    deployed: bool = False,
) -> Table:
    """The table of ``experiments`` (one per setting, all of one table), rows in the first file's order; with
    ``deployed``, each FPR @ TPR column is followed by the test TPR and FPR at the calibration-chosen threshold."""
    rows = list(dict.fromkeys(row for experiment in experiments for row in experiment.rows))
    metrics = {
        item.setting: [*item.metrics, *(deployed_metrics(item.metrics) if deployed else [])] for item in experiments
    }
    columns = [Column(item.setting, item.title, metric) for item in experiments for metric in metrics[item.setting]]
    table = Table(experiments[0].table, rows, columns)
    if deployed:
        missing = [
            f"{setting}/{row}" for (setting, row), result in results.items() if result and not result.operating_points
        ]
        table.notes.append(DEPLOYED_NOTE)
        if missing:
            table.notes.append(
                f"no operating points (members without a shared calibration split; train with --set "
                f"data.calibration_per_class=N): {', '.join(missing)}"
            )
    for experiment in experiments:
        draws = {row: row_draws(results.get((experiment.setting, row)), experiment.metrics, replicates) for row in rows}
        for metric, row in ((metric, row) for metric in metrics[experiment.setting] for row in rows):
            key = (experiment.setting, row)
            baseline = baseline_of(row, rows)
            paired = baseline is not None and same_test_set(
                results.get(key), results.get((experiment.setting, baseline))
            )
            published: Published = {
                "paper": paper.get((experiment.setting, row, metric)),
                "paper_std": paper.get((experiment.setting, row, f"{metric}:std")),
            }
            table.cells[(row, Column(experiment.setting, experiment.title, metric))] = cell(
                results.get(key),
                metric,
                published,
                draws[row].get(metric),
                draws[baseline].get(metric) if paired and baseline is not None else None,
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
