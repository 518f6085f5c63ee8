"""Probabilities that mean something: Platt scaling on a calibration split, a prior shift to a deployment prevalence,
the expected calibration error and a reliability diagram.

A network trained on a 1:imb subsample, with a margin constraint, outputs logits whose sigmoid is no probability.
Platt scaling (Platt 1999, "Probabilistic outputs for support vector machines") fits

    P(positive | logit z) = sigmoid(a * z + b)

on the calibration split by maximum likelihood, with Platt's smoothed targets (N+ + 1) / (N+ + 2) for positives and
1 / (N- + 2) for negatives, which keep a and b finite when the calibration scores are separable. The fitted
probabilities hold at the calibration split's prevalence pi_c; at a deployment prevalence pi the posterior odds scale
by the ratio of prior odds (Bayes' rule under a label shift, Saerens, Latinne & Decaestecker 2002, Eq. 2.4):

    logit P_pi(positive | z) = a * z + b + log(pi / (1 - pi)) - log(pi_c / (1 - pi_c)).

The fitted calibration is a JSON-able dict ``{"method": "platt", "slope": a, "intercept": b,
"calibration_prevalence": pi_c, "positives": N+, "negatives": N-}``, stored in ``operating_points.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import optimize, special

from almlit.decision.thresholds import binary_scores_and_targets
from almlit.plots.figures import save_figure

CALIBRATION_KEYS = ("method", "slope", "intercept", "calibration_prevalence", "positives", "negatives")
RELIABILITY_BINS = 10


def check_prevalence(prevalence: float | None, name: str = "`prevalence`") -> None:
    """Check that a deployment prevalence is None or lies in (0, 1).

    Args:
        prevalence: the share of positives where the model is used.
        name: how the message names the setting (``metrics.prevalence``, ``--prevalence``).

    Raises:
        ValueError: naming the setting, the value and the allowed range.
    """
    if prevalence is None:
        return
    if isinstance(prevalence, bool) or not isinstance(prevalence, int | float) or not 0 < prevalence < 1:
        raise ValueError(
            f"{name} must lie in (0, 1) (the share of positives where the model is used), got {prevalence!r}"
        )


def fit_platt(logits: np.ndarray, targets: np.ndarray) -> dict:
    """Fit Platt scaling sigmoid(a * z + b), a >= 0, to calibration logits z and 0/1 labels.

    The slope is kept non-negative so that calibrated probabilities never run against the decisions
    ``logit >= threshold``: when the unconstrained fit's slope is negative (scores that rank worse than chance),
    the constrained maximum-likelihood fit is the constant map, a = 0 and b = logit of the mean smoothed label.

    Args:
        logits: 1-D finite calibration scores (logits).
        targets: 1-D 0/1 labels, with at least one positive and one negative.

    Returns:
        The calibration dict described in the module docstring.

    Raises:
        ValueError: on malformed inputs or a class without samples.
    """
    logits, targets = binary_scores_and_targets(logits, targets, "logits")
    positive = targets == 1
    if not np.isfinite(logits).all():
        raise ValueError(f"`logits` must be finite, got {int((~np.isfinite(logits)).sum())} non-finite value(s)")
    positives, negatives = int(positive.sum()), int((~positive).sum())
    if positives == 0 or negatives == 0:
        raise ValueError(
            f"calibration needs positives and negatives, got {positives} positives and {negatives} negatives"
        )
    soft_targets = np.where(positive, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    # Standardised logits keep the optimiser well conditioned whatever the scale of the network's scores.
    centre, scale = logits.mean(), logits.std() or 1.0
    standard = (logits - centre) / scale

    def negative_log_likelihood(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        fitted = parameters[0] * standard + parameters[1]
        loss = np.sum(np.logaddexp(0, fitted) - soft_targets * fitted)
        residual = special.expit(fitted) - soft_targets
        return float(loss), np.array([np.dot(residual, standard), residual.sum()])

    result = optimize.minimize(negative_log_likelihood, np.zeros(2), jac=True, method="BFGS")
    slope = result.x[0] / scale
    intercept = result.x[1] - slope * centre
    if slope < 0:
        # The fit is restricted to non-decreasing maps, so that a higher logit never gets a lower probability (the
        # decisions are logit >= threshold): scores that rank the calibration split worse than chance get the
        # constrained maximum-likelihood fit, slope 0 and the (smoothed) calibration prevalence for every logit.
        slope, intercept = 0.0, special.logit(soft_targets.mean())
    return {
        "method": "platt",
        "slope": float(slope),
        "intercept": float(intercept),
        "calibration_prevalence": positives / (positives + negatives),
        "positives": positives,
        "negatives": negatives,
    }


def check_calibration(calibration: Mapping) -> None:
    """Check that ``calibration`` is a dict made by :func:`fit_platt`.

    Raises:
        ValueError: naming the missing keys or the unknown method.
    """
    if not isinstance(calibration, Mapping):
        raise ValueError(f"`calibration` must be a dict made by fit_platt, got {type(calibration).__name__}")
    missing = [key for key in CALIBRATION_KEYS if key not in calibration]
    if missing:
        raise ValueError(f"`calibration` lacks {missing}; expected the keys {list(CALIBRATION_KEYS)}")
    if calibration["method"] != "platt":
        raise ValueError(f"`calibration['method']` must be 'platt', got {calibration['method']!r}")


def calibrated_logit(logits: np.ndarray, calibration: Mapping, prevalence: float | None = None) -> np.ndarray:
    """The log-odds of the positive class after Platt scaling and, given a prevalence, the prior shift.

    Args:
        logits: raw scores, any shape.
        calibration: the dict of :func:`fit_platt`.
        prevalence: deployment share of positives in (0, 1), or None to keep the calibration split's.

    Returns:
        float64 array of the shape of ``logits``.

    Raises:
        ValueError: on a malformed calibration dict or a prevalence outside (0, 1).
    """
    check_calibration(calibration)
    check_prevalence(prevalence)
    shifted = calibration["slope"] * np.asarray(logits, dtype=np.float64) + calibration["intercept"]
    if prevalence is not None:
        shifted = shifted + special.logit(prevalence) - special.logit(calibration["calibration_prevalence"])
    return shifted


def calibrated_probability(logits: np.ndarray, calibration: Mapping, prevalence: float | None = None) -> np.ndarray:
    """Calibrated probability of the positive class: the sigmoid of :func:`calibrated_logit`.

    Args:
        logits: raw scores (logits), any shape.
        calibration: the dict of :func:`fit_platt` (``operating_points.json``'s ``"calibration"``).
        prevalence: deployment share of positives in (0, 1), or None for the calibration split's.

    Returns:
        float64 array of probabilities in [0, 1], of the shape of ``logits``.

    Raises:
        ValueError: on a malformed calibration dict or a prevalence outside (0, 1).
    """
    return special.expit(calibrated_logit(logits, calibration, prevalence))


def _bin_indices(probabilities: np.ndarray, bins: int) -> np.ndarray:
    """Equal-width bin of each probability; 1.0 falls in the last bin."""
    return np.minimum((probabilities * bins).astype(np.int64), bins - 1)


def reliability_table(probabilities: np.ndarray, targets: np.ndarray, bins: int = RELIABILITY_BINS) -> dict:
    """Per equal-width probability bin: sample count, mean predicted probability and observed share of positives.

    Returns:
        ``{"counts", "confidence", "frequency"}``: arrays of length ``bins`` (NaN means for empty bins).

    Raises:
        ValueError: on malformed inputs, probabilities outside [0, 1] or ``bins`` < 1.
    """
    probabilities, targets = binary_scores_and_targets(probabilities, targets, "probabilities")
    positive = targets == 1
    if not ((probabilities >= 0) & (probabilities <= 1)).all():
        raise ValueError("`probabilities` must lie in [0, 1]")
    if bins < 1:
        raise ValueError(f"`bins` must be >= 1, got {bins}")
    index = _bin_indices(probabilities, bins)
    counts = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(index, weights=probabilities, minlength=bins) / counts
        frequency = np.bincount(index, weights=positive.astype(np.float64), minlength=bins) / counts
    return {"counts": counts, "confidence": confidence, "frequency": frequency}


def expected_calibration_error(probabilities: np.ndarray, targets: np.ndarray, bins: int = RELIABILITY_BINS) -> float:
    """Expected calibration error (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017, Eq. 3), equal-width bins.

    ECE = sum over bins of (n_b / n) * |observed share of positives - mean predicted probability|.

    Raises:
        ValueError: as :func:`reliability_table`, or on empty inputs.
    """
    table = reliability_table(probabilities, targets, bins)
    total = table["counts"].sum()
    if total == 0:
        raise ValueError("the expected calibration error needs at least one sample, got 0")
    filled = table["counts"] > 0
    gaps = np.abs(table["frequency"][filled] - table["confidence"][filled])
    return float(np.sum(table["counts"][filled] / total * gaps))


def save_reliability_diagram(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> Path:
    """Reliability diagram: observed share of positives against mean predicted probability per bin, per curve.

    Args:
        curves: label -> (probabilities, 0/1 targets); the label gets the curve's ECE appended.
        path: the PNG to write (atomically).
        title: the figure title.
    """
    figure = Figure(figsize=(4.5, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="0.6", linestyle=":", label="perfect calibration")
    for label, (probabilities, targets) in curves.items():
        table = reliability_table(probabilities, targets)
        filled = table["counts"] > 0
        error = expected_calibration_error(probabilities, targets)
        axes.plot(
            table["confidence"][filled], table["frequency"][filled], marker="o", label=f"{label} (ECE {error:.3f})"
        )
    axes.set_xlabel("mean predicted probability")
    axes.set_ylabel("observed share of positives")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_title(title)
    axes.legend(loc="upper left", fontsize="small")
    return save_figure(figure, path)
