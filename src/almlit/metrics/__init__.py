"""Metrics for the critical class(es), computed in float64 on raw scores.

One module per family, each holding its pure functions and then the torchmetrics shell that accumulates scores per
stage: :mod:`~almlit.metrics.binary` (ROC, AUC, FPR at TPR, FPR at k false negatives, one-way and two-way partial AUC;
:class:`BinaryRankMetrics`) and :mod:`~almlit.metrics.multiclass` (the paper's Table 4: error on the non-critical
classes at a TPR of each critical class, accuracies, per-class accuracies; :class:`CriticalClassMetrics`). The
argument checks they share, and that the decision layer reuses, live in ``almlit.metrics.checks``.
"""

from almlit.metrics.binary import (
    BinaryRankMetrics,
    binary_auc,
    binary_roc,
    fpr_at_false_negatives,
    fpr_at_tpr,
    partial_auc,
    two_way_partial_auc,
)
from almlit.metrics.multiclass import (
    CriticalClassMetrics,
    assign_with_critical_threshold,
    critical_class_keys,
    critical_class_report,
    per_class_accuracy,
    threshold_at_tpr,
)

__all__ = [
    "BinaryRankMetrics",
    "CriticalClassMetrics",
    "assign_with_critical_threshold",
    "binary_auc",
    "binary_roc",
    "critical_class_keys",
    "critical_class_report",
    "fpr_at_false_negatives",
    "fpr_at_tpr",
    "partial_auc",
    "per_class_accuracy",
    "threshold_at_tpr",
    "two_way_partial_auc",
]
