"""From scores to decisions: thresholds with a TPR guarantee, calibrated probabilities, operating points.

- :mod:`almlit.decision.thresholds`: the Neyman-Pearson umbrella threshold and Clopper-Pearson intervals.
- :mod:`almlit.decision.calibration`: Platt scaling, the prior shift to a deployment prevalence, ECE, reliability
  diagram.
- :mod:`almlit.decision.operating_points`: the ``operating_points.json`` document, its loader and its decisions.
"""

from almlit.decision.calibration import calibrated_probability, expected_calibration_error, fit_platt
from almlit.decision.operating_points import (
    apply_operating_points,
    assign_critical_classes,
    binary_operating_points,
    load_operating_points,
    multiclass_operating_points,
)
from almlit.decision.thresholds import certified_threshold, clopper_pearson, minimum_positives, rates_at_threshold

__all__ = [
    "apply_operating_points",
    "assign_critical_classes",
    "binary_operating_points",
    "calibrated_probability",
    "certified_threshold",
    "clopper_pearson",
    "expected_calibration_error",
    "fit_platt",
    "load_operating_points",
    "minimum_positives",
    "multiclass_operating_points",
    "rates_at_threshold",
]
