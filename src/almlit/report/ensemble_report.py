"""The report of an ensemble folder, built only from its members' run folders.

An ensemble folder holds ``member0 .. member{M-1}`` (ordinary run folders that differ by seed) and, once built,
``ensemble.json`` (ensemble metrics, every member's, their mean and std), ``ensemble_scores.csv`` (the averaged
logits), ``report.md`` and ``roc.png`` (the ensemble's ROC with the members faint behind it; multi-class:
``roc_class<c>.png`` one-vs-rest per critical class) and, when the members share a calibration split,
``operating_points.json``, ``calibration_scores.csv`` and ``reliability.png`` (see :mod:`almlit.report.decision_files`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from almlit.data.fingerprint import check_same_data_across
from almlit.plots.figures import Curve, save_roc_curves
from almlit.report.decision_files import write_ensemble_decision_files
from almlit.report.ensemble_metrics import MetricSpec, average_logits, ensemble_summary, stack_members
from almlit.runs.atomic_files import write_atomically
from almlit.runs.folder import SCORES_FILE as RUN_SCORES_FILE
from almlit.runs.folder import write_scores
from almlit.runs.identity import comparable, differences
from almlit.runs.reader import RunScores, read_config, read_metrics, read_scores

SUMMARY_FILE = "ensemble.json"
SCORES_FILE = "ensemble_scores.csv"
REPORT_FILE = "report.md"


def member_dir(ensemble_dir: Path, index: int) -> Path:
    """The deterministic folder of member ``index`` (trained with ``seed=index``)."""
    return Path(ensemble_dir) / f"member{index}"


def check_same_setting(configs: Mapping[str, Mapping[str, Any]], varying: Sequence[str] = ()) -> None:
    """Raise unless every run config agrees with the first one outside seeds, output folders, printing and the
    ``varying`` keys (``data.fold`` for the members of a K-fold ensemble).

    Raises:
        ValueError: naming the first run that differs and the keys where it differs.
    """
    (reference_name, reference), *others = configs.items()
    reference_keys = comparable(reference)
    for name, config in others:
        differing = differences(reference_keys, comparable(config), varying)
        if differing:
            raise ValueError(
                f"{name} was trained with another setting than {reference_name}: {'; '.join(differing[:5])}"
                + (f" (and {len(differing) - 5} more)" if len(differing) > 5 else "")
            )


def percent_table(rows: Mapping[str, Mapping[str, float | str]], keys: Sequence[str]) -> list[str]:
    """Markdown table lines of metrics in percent, two decimals."""
    lines = ["| | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
    for name, values in rows.items():
        cells = [value if isinstance(value := values[key], str) else f"{100 * value:.2f}" for key in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def markdown_report(title: str, summary: Mapping[str, Any]) -> str:
    """``report.md``: one row per member, their mean +- std, and the ensemble, in percent."""
    keys = list(summary["ensemble"])
    rows: dict[str, Mapping[str, Any]] = {
        f"{name} (seed {seed})": values
        for name, seed, values in zip(summary["member_folders"], summary["seeds"], summary["members"], strict=True)
    }
    spread = summary["members_summary"]
    rows["members, mean ± std"] = {
        key: f"{100 * spread[key]['mean']:.2f} ± {100 * spread[key]['std']:.2f}" for key in keys
    }
    rows["**ensemble** (logits averaged)"] = summary["ensemble"]
    lines = [f"# {title}", "", f"{len(summary['members'])} members; test metrics in %.", ""]
    return "\n".join([*lines, *percent_table(rows, keys)]) + "\n"


def ensemble_curves(stacked_scores: np.ndarray, labels: np.ndarray, ensemble_scores: np.ndarray) -> list[Curve]:
    """The members faint and grey, then the ensemble on top."""
    members = [Curve(scores, labels, color="0.55", alpha=0.5, linewidth=0.8) for scores in stacked_scores]
    label = f"ensemble of {len(stacked_scores)}"
    return [*members, Curve(ensemble_scores, labels, label=label, color="C0", linewidth=2.0)]


def write_roc(ensemble_dir: Path, stacked_scores: np.ndarray, labels: np.ndarray, spec: MetricSpec, title: str) -> None:
    ensemble_scores = average_logits(stacked_scores)
    if stacked_scores.ndim == 2:
        curves = ensemble_curves(stacked_scores, labels, ensemble_scores)
        save_roc_curves(curves, ensemble_dir / "roc.png", title, spec.tpr_levels)
        return
    for critical in spec.critical_classes:
        curves = ensemble_curves(stacked_scores[..., critical], labels == critical, ensemble_scores[:, critical])
        path = ensemble_dir / f"roc_class{critical}.png"
        save_roc_curves(curves, path, f"{title}, class {critical} vs rest", spec.tpr_levels)


def write_ensemble_report(
    ensemble_dir: Path,
    member_dirs: Sequence[Path],
    title: str | None = None,
    prevalence: float | None = None,
    varying: Sequence[str] = (),
) -> dict[str, Any]:
    """Check the members agree (outside the ``varying`` keys), average their logits, and write the ensemble's files.

    ``prevalence`` (the deployment share of positives for ``operating_points.json``) defaults to the members'
    ``metrics.prevalence``.

    Returns:
        The content of ``ensemble.json``.

    Raises:
        ValueError: members trained with different settings, or tested on different samples.
        FileNotFoundError: a member folder that is not a finished run.
    """
    ensemble_dir = Path(ensemble_dir)
    configs = {path.name: read_config(path) for path in member_dirs}
    check_same_setting(configs, varying)
    check_same_data_across(member_dirs)
    metrics = [read_metrics(path) for path in member_dirs]
    spec = MetricSpec.from_run(next(iter(configs.values())), metrics[0])
    members = [read_scores(path / RUN_SCORES_FILE) for path in member_dirs]
    summary: dict[str, Any] = {
        "member_folders": [path.name for path in member_dirs],
        "seeds": [config["seed"] for config in configs.values()],
        "best_val": [member_metrics["best_val"] for member_metrics in metrics],
        **ensemble_summary(members, spec),
    }
    title = title or f"Ensemble {ensemble_dir.name}"
    stacked = stack_members(members)
    ensemble_scores = torch.as_tensor(average_logits(stacked.scores))
    write_scores(
        ensemble_dir / SCORES_FILE,
        ensemble_scores,
        torch.as_tensor(stacked.labels),
        torch.as_tensor(stacked.sample_ids),
    )
    write_roc(ensemble_dir, stacked.scores, stacked.labels, spec, title)
    ensemble_test = RunScores(stacked.sample_ids, stacked.labels, ensemble_scores.numpy())
    if prevalence is None:
        prevalence = next(iter(configs.values())).get("metrics", {}).get("prevalence")
    summary["calibration"] = write_ensemble_decision_files(
        ensemble_dir, member_dirs, metrics, ensemble_test, spec.critical_classes, spec.tpr_levels, prevalence, title
    )
    write_atomically(ensemble_dir / REPORT_FILE, markdown_report(title, summary))
    write_atomically(ensemble_dir / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    return summary
