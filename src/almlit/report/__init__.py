"""Reports built from run outputs: figures and tables."""

from almlit.report.roc import save_roc_figure

__all__ = ["save_roc_figure"]
