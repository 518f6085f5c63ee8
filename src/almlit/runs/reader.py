"""Reading run folders (their format: :mod:`almlit.runs.folder`): finished or not, config, metrics, test scores."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from omegaconf import OmegaConf

from almlit.runs.folder import COMPLETE_FILE, CONFIG_FILE, METRICS_FILE


@dataclass(frozen=True)
class RunScores:
    """The test scores of one run, rows sorted by sample id.

    Attributes:
        sample_ids: ``[N]`` int64 test sample ids.
        labels: ``[N]`` int64 labels (0/1 for binary data, class indices otherwise).
        scores: ``[N]`` raw logits of the critical class (binary) or ``[N, C]`` raw logits (multi-class), float64.
    """

    sample_ids: np.ndarray
    labels: np.ndarray
    scores: np.ndarray


def read_scores(path: Path) -> RunScores:
    """A scores file (a run's ``test_scores.csv``, an ensemble's ``ensemble_scores.csv``): ``sample_id,label,score``
    or ``sample_id,label,score_0..score_{C-1}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {path.parent} a finished run folder?")
    with path.open(newline="") as stream:
        header = next(csv.reader(stream))
    if header[:2] != ["sample_id", "label"] or len(header) < 3:
        raise ValueError(f"{path} must start with the columns sample_id,label,score..., got {','.join(header)}")
    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    table = table[np.argsort(table[:, 0], kind="stable")]
    scores = table[:, 2:]
    return RunScores(
        sample_ids=table[:, 0].astype(np.int64),
        labels=table[:, 1].astype(np.int64),
        scores=scores[:, 0].copy() if header[2:] == ["score"] else scores,
    )


def require_finished(run_dir: Path) -> None:
    """Raise unless ``run_dir`` holds a finished run (its ``COMPLETE`` marker, written last, exists).

    Raises:
        FileNotFoundError: naming the folder and why it is not usable.
    """
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise FileNotFoundError(f"run folder {run_dir} not found")
    if not run_dir.is_dir():
        raise FileNotFoundError(
            f"{run_dir} is a file, not a run folder (the folder holding {CONFIG_FILE} and {METRICS_FILE})"
        )
    if not (run_dir / CONFIG_FILE).is_file():
        runs = finished_runs(run_dir)
        below = f"; it holds {len(runs)} finished run folder(s) below it, e.g. {runs[0]}" if runs else ""
        raise FileNotFoundError(f"{run_dir} is not a run folder (it has no {CONFIG_FILE}){below}")
    if not is_finished(run_dir):
        raise FileNotFoundError(
            f"{run_dir} is not a finished run (no {COMPLETE_FILE} marker): it was interrupted or is still training; "
            "rerun its command to resume it"
        )


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """``metrics.json`` of a finished run folder (see :func:`require_finished`)."""
    require_finished(run_dir)
    return json.loads((Path(run_dir) / METRICS_FILE).read_text())


def read_config(run_dir: Path) -> dict[str, Any]:
    """The resolved ``config.yaml`` of a run folder, as plain containers."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {run_dir} a run folder?")
    return cast(dict[str, Any], OmegaConf.to_container(OmegaConf.load(path), resolve=True))  # a mapping at the top


def is_finished(run_dir: Path) -> bool:
    """A run is finished once its ``COMPLETE`` marker exists: it is written last, atomically."""
    return (Path(run_dir) / COMPLETE_FILE).is_file()


def finished_runs(folder: Path) -> list[Path]:
    """Every finished run folder at or below ``folder``, sorted."""
    return sorted(path.parent for path in Path(folder).rglob(COMPLETE_FILE) if (path.parent / CONFIG_FILE).is_file())
