"""ROC figures with several curves: an ensemble with its members faint behind it, or the rows of a table."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from almlit.metrics import binary_auc, binary_roc
from almlit.runs.atomic_files import atomic_file

ZOOM_TPR_FLOOR = 0.8


@dataclass(frozen=True)
class Curve:
    """One ROC curve to draw: raw scores of the critical class, 0/1 labels and how it looks.

    ``label=None`` keeps the curve out of the legend (the faint members of an ensemble).
    """

    scores: np.ndarray
    labels: np.ndarray
    label: str | None = None
    color: str = "C0"
    alpha: float = 1.0
    linewidth: float = 1.5
    linestyle: str = "-"


def save_figure(figure: Figure, path: Path) -> Path:
    """Write a figure through :func:`~almlit.runs.atomic_files.atomic_file`; the suffix of ``path`` picks the format."""
    with atomic_file(path) as stream:
        figure.savefig(stream, format=path.suffix.removeprefix(".") or None, dpi=120)
    return path


def save_roc_curves(
    curves: Sequence[Curve], path: str | os.PathLike[str], title: str = "", tpr_levels: Sequence[float] = ()
) -> Path:
    """Draw every curve on a full ROC panel and on a panel zoomed on TPR >= 0.8, then write the figure.

    Args:
        curves: the curves, drawn in order (draw faint ones first so the main ones stay on top).
        path: output file; its suffix picks the format. Parent folders are created.
        title: figure title.
        tpr_levels: TPR levels marked with a dotted guide.
    """
    figure = Figure(figsize=(10, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    full, zoom = figure.subplots(1, 2)
    for axes in (full, zoom):
        axes.plot([0, 1], [0, 1], color="0.7", linewidth=0.8, linestyle="--")
        for level in tpr_levels:
            axes.axhline(level, color="0.5", linewidth=0.8, linestyle=":")
        for curve in curves:
            scores, labels = torch.as_tensor(curve.scores), torch.as_tensor(curve.labels)
            fpr, tpr, _ = binary_roc(scores, labels)
            label = None if curve.label is None else f"{curve.label} (AUC {binary_auc(scores, labels).item():.3f})"
            axes.plot(
                fpr.numpy(),
                tpr.numpy(),
                color=curve.color,
                alpha=curve.alpha,
                linewidth=curve.linewidth,
                linestyle=curve.linestyle,
                label=label,
            )
        axes.set_xlabel("false positive rate")
        axes.set_ylabel("true positive rate")
        axes.grid(alpha=0.3)
    full.set(xlim=(0, 1), ylim=(0, 1.01), title="ROC")
    zoom.set(xlim=(0, 1), ylim=(ZOOM_TPR_FLOOR, 1.005), title=f"TPR >= {ZOOM_TPR_FLOOR}")
    if any(curve.label for curve in curves):
        full.legend(loc="lower right", fontsize=7)
    if title:
        figure.suptitle(title)
    return save_figure(figure, Path(path))
