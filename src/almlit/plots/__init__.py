"""Figures written into run and ensemble folders: ROC curves and the pictures of other modules, atomically."""

from almlit.plots.roc import save_roc_figure

__all__ = ["save_roc_figure"]
