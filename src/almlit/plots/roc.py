"""ROC figure of the critical class: the full curve and a zoom on the high-TPR region the paper optimises."""

import os
from collections.abc import Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor

from almlit.metrics.binary import binary_auc, binary_roc, fpr_at_tpr
from almlit.plots.figures import save_figure
from almlit.runs.folder import ROC_FILE

ZOOM_TPR_FLOOR = 0.8


def _draw_curve(
    axes: Axes, fpr: Tensor, tpr: Tensor, curve_label: str, tpr_levels: Sequence[float], level_fpr: Tensor
) -> None:
    """Plot the ROC curve, the chance diagonal, and a dotted guide with a marker at each (fpr@t, t)."""
    axes.plot([0, 1], [0, 1], color="0.7", linewidth=0.8, linestyle="--")
    axes.plot(fpr.numpy(), tpr.numpy(), color="C0", linewidth=1.5, label=curve_label)
    for level in tpr_levels:
        axes.axhline(level, color="0.5", linewidth=0.8, linestyle=":")
    axes.plot(level_fpr.numpy(), list(tpr_levels), linestyle="none", marker="o", color="C3", markersize=4)
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.grid(alpha=0.3)


def save_roc_figure(
    scores: Tensor,
    targets: Tensor,
    path: str | os.PathLike[str],
    title: str = "",
    tpr_levels: Sequence[float] = (0.98, 0.95, 0.92, 0.90),
    label: str | None = None,
) -> Path:
    """Draw the ROC curve of raw scores and write it atomically to ``path``.

    The left panel shows the whole curve, the right one TPR >= 0.8 with the FPR at each TPR level written next to
    its marker. The figure is drawn on a private Agg canvas, so no display or pyplot state is involved, and the file
    is written to a temporary name in the same folder and then moved over ``path``: readers never see half a file.

    Args:
        scores: 1-D raw scores (logits) of the critical class, on any device.
        targets: 1-D 0/1 labels, with at least one of each.
        path: output file; its suffix picks the format (``.png``, ``.pdf``, ``.svg``). Parent folders are created.
        title: figure title.
        tpr_levels: TPR levels t in (0, 1] marked with a guide and their FPR.
        label: name of the curve in the legend, before its AUC.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: on malformed scores or targets, a missing class, or a level outside (0, 1].
    """
    path = Path(path)
    scores, targets = scores.detach().cpu(), targets.detach().cpu()
    fpr, tpr, _ = binary_roc(scores, targets)
    auc = binary_auc(scores, targets).item()
    level_fpr = fpr_at_tpr(scores, targets, tpr_levels)
    curve_label = f"{label} (AUC = {auc:.4f})" if label else f"AUC = {auc:.4f}"

    # A Figure on its own Agg canvas is never registered with pyplot, so it is freed once it goes out of scope.
    figure = Figure(figsize=(10, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    full, zoom = figure.subplots(1, 2)
    for axes in (full, zoom):
        _draw_curve(axes, fpr, tpr, curve_label, tpr_levels, level_fpr)
    full.set(xlim=(0, 1), ylim=(0, 1.01), title="ROC")
    full.legend(loc="lower right")
    zoom.set(xlim=(0, 1), ylim=(ZOOM_TPR_FLOOR, 1.005), title=f"TPR >= {ZOOM_TPR_FLOOR}")
    for level, value in zip(tpr_levels, level_fpr.tolist(), strict=True):
        zoom.annotate(
            f"FPR {value:.3f} @ TPR {level:g}",
            xy=(value, level),
            xytext=(6, -10),
            textcoords="offset points",
            fontsize=8,
        )
    if title:
        figure.suptitle(title)

    return save_figure(figure, path)


def write_roc_figures(
    run_dir: Path, scores: Tensor, targets: Tensor, critical_classes: tuple[int, ...], title: str, tpr_levels
) -> None:
    """``roc.png`` for binary scores; ``roc_class<c>.png`` (one-vs-rest) per critical class otherwise."""
    if scores.dim() == 1:
        save_roc_figure(scores, targets, run_dir / ROC_FILE, title=title, tpr_levels=tpr_levels)
        return
    for critical in critical_classes:
        path = run_dir / f"roc_class{critical}.png"
        class_title = f"{title}, critical class {critical} vs rest"
        save_roc_figure(scores[:, critical], targets == critical, path, title=class_title, tpr_levels=tpr_levels)
