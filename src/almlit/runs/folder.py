"""What every run leaves behind (the run folder's format and its writer): resolved config, metrics.json, test scores,
the ROC picture (:mod:`almlit.plots.roc`) and, written last, the ``COMPLETE`` marker that says the folder holds a
finished run (reports and ensembles read nothing else; the reader is :mod:`almlit.runs.reader`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from torch import Tensor

from almlit.runs.atomic_files import write_atomically

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
SCORES_FILE = "test_scores.csv"
ROC_FILE = "roc.png"
COMPLETE_FILE = "COMPLETE"
OPERATING_POINTS_FILE = "operating_points.json"  # written by almlit.report.decision_files (binary runs)
HARDEST_POSITIVES_FILE = "hardest_positives.csv"  # written by almlit.callbacks.PairCoverageReport when fitting ends
OVERRIDES_FILE = Path(".hydra") / "overrides.yaml"


def write_config(run_dir: Path, config: DictConfig) -> None:
    """The resolved ``config.yaml``, written when training starts (a restart compares with it) and at the end."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(run_dir / CONFIG_FILE, OmegaConf.to_yaml(config, resolve=True))


def write_overrides(run_dir: Path, overrides: Sequence[str]) -> None:
    """The command-line overrides of the run, ``.hydra/overrides.yaml`` (read by ``almlit.select``).

    Written here rather than by Hydra (``hydra.output_subdir: null``): Hydra would rewrite them before ``almlit.train``
    sees that the folder holds a finished run, which must stay untouched.
    """
    (run_dir / OVERRIDES_FILE).parent.mkdir(parents=True, exist_ok=True)
    write_atomically(run_dir / OVERRIDES_FILE, OmegaConf.to_yaml(OmegaConf.create(list(overrides))))


def write_scores(path: Path, scores: Tensor, targets: Tensor, sample_ids: Tensor) -> None:
    """Test scores (raw logits, float64 precision) with labels and sample ids, one row per test image.

    Binary scores ``[N]`` give one ``score`` column; multi-class scores ``[N, C]`` give ``score_0 .. score_{C-1}``.
    """
    columns = ["score"] if scores.dim() == 1 else [f"score_{index}" for index in range(scores.shape[1])]
    score_rows = scores.reshape(len(scores), -1).tolist()
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["sample_id", "label", *columns])
    for sample_id, label, row in zip(sample_ids.tolist(), targets.tolist(), score_rows, strict=True):
        writer.writerow([sample_id, label, *map(repr, row)])
    write_atomically(path, text.getvalue())


def write_run_folder(
    run_dir: Path,
    config: DictConfig,
    metrics: Mapping[str, Any],
    test_scores: tuple[Tensor, Tensor, Tensor],
) -> None:
    """Write the files that reports and ensembles are built from, then the ``COMPLETE`` marker (UTC time), last
    (the ROC pictures, :func:`almlit.plots.roc.write_roc_figures`, are written before it)."""
    write_config(run_dir, config)
    scores, targets, sample_ids = test_scores
    write_scores(run_dir / SCORES_FILE, scores, targets, sample_ids)
    write_atomically(run_dir / METRICS_FILE, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    write_atomically(run_dir / COMPLETE_FILE, datetime.now(timezone.utc).isoformat(timespec="seconds") + "\n")
