"""Ranking metrics for the critical class, computed in float64 on raw scores."""

from almlit.metrics.binary import BinaryRankMetrics
from almlit.metrics.functional import binary_auc, binary_roc, fpr_at_false_negatives, fpr_at_tpr

__all__ = ["BinaryRankMetrics", "binary_auc", "binary_roc", "fpr_at_false_negatives", "fpr_at_tpr"]
