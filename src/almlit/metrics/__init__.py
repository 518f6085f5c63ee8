"""Metrics for the critical class(es), computed in float64 on raw scores.

Binary ranking metrics (AUC, FPR at TPR, FPR at k false negatives, one-way and two-way partial AUC) and the
multi-class report of the paper's Table 4 (error on the non-critical classes at a TPR of each critical class,
accuracies, per-class accuracies).
"""

from almlit.metrics.binary import BinaryRankMetrics
from almlit.metrics.functional import binary_auc, binary_roc, fpr_at_false_negatives, fpr_at_tpr
from almlit.metrics.multiclass import CriticalClassMetrics
from almlit.metrics.multiclass_functional import (
    assign_with_critical_threshold,
    critical_class_keys,
    critical_class_report,
    per_class_accuracy,
    threshold_at_tpr,
)
from almlit.metrics.partial_auc import partial_auc, two_way_partial_auc

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
