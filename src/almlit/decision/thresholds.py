"""Thresholds with a TPR guarantee on new cases, and exact intervals of the rates at a threshold.

The decision rule is ``score >= threshold``. Given the calibration scores of n positives, a target TPR t and a
confidence 1 - delta, the certified threshold is the k-th smallest positive score for the largest k with

    P(Binomial(n, 1 - t) <= k - 1) <= delta,

so that the TPR on new cases drawn from the same distribution is >= t with probability >= 1 - delta over the draw of
the calibration set. This is the Neyman-Pearson umbrella algorithm (Tong, Feng & Li, "Neyman-Pearson classification
algorithms and NP receiver operating characteristics", Science Advances 2018 / JMLR 2018, Proposition 1) and the
order-statistic argument of split conformal prediction (Vovk et al. 2005; Angelopoulos & Bates 2021, Sec. 3):
the true TPR of the k-th smallest score is below t exactly when at most k - 1 of the n scores fall below the
(1 - t)-quantile of the positive scores, a Binomial(n, 1 - t) count. Ties only raise the TPR of a ``>=`` rule, so the
guarantee holds for discrete scores too.

Even k = 1 (the smallest positive score) fails when t**n > delta: then at least ceil(log(delta) / log(t)) positives
are needed (149 for t = 0.98, 59 for 0.95, 29 for 0.90 at delta = 0.05), and none suffice for t = 1. The fallback is
the empirical threshold (the largest one whose calibration TPR is >= t), marked not certified.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from almlit.metrics.checks import check_tpr_levels

DEFAULT_CONFIDENCE = 0.95


def check_confidence(confidence: float) -> None:
    """Check that a confidence level 1 - delta lies in (0, 1).

    Raises:
        ValueError: naming the value and the allowed range.
    """
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 < confidence < 1:
        raise ValueError(f"`confidence` must lie in (0, 1), got {confidence!r}")


def _positive_scores(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"`positive_scores` must be 1-D, got shape {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError(
            f"`positive_scores` must be finite, got {int((~np.isfinite(scores)).sum())} non-finite value(s)"
        )
    return np.sort(scores)


def binary_scores_and_targets(
    scores: np.ndarray, targets: np.ndarray, name: str = "scores"
) -> tuple[np.ndarray, np.ndarray]:
    """Check 1-D scores and their 0/1 labels.

    Args:
        scores: 1-D scores (logits or probabilities).
        targets: 1-D labels of the same length, 0 or 1.
        name: how the messages name ``scores``.

    Returns:
        ``scores`` as float64 and ``targets`` as int64 arrays.

    Raises:
        ValueError: on other shapes, different lengths or labels other than 0 and 1.
    """
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets)
    if scores.ndim != 1 or scores.shape != targets.shape:
        raise ValueError(
            f"`{name}` and `targets` must be 1-D of one length, got shapes {scores.shape}, {targets.shape}"
        )
    if not np.isin(targets, (0, 1)).all():
        raise ValueError(f"`targets` must contain only 0 and 1, got {sorted(set(targets.tolist()) - {0, 1})}")
    return scores, targets.astype(np.int64)


def minimum_positives(target_tpr: float, confidence: float = DEFAULT_CONFIDENCE) -> int | None:
    """Fewest calibration positives for which a threshold certifies ``target_tpr``.

    The smallest positive score certifies t when P(Binomial(n, 1 - t) <= 0) = t**n <= delta, i.e. from
    n = ceil(log(delta) / log(t)) positives on.

    Returns:
        That n, or None for t = 1 (no number of positives certifies a TPR of 1).

    Raises:
        ValueError: if ``target_tpr`` is outside (0, 1] or ``confidence`` outside (0, 1).
    """
    check_tpr_levels([target_tpr])
    check_confidence(confidence)
    if target_tpr == 1:
        return None
    delta = 1 - confidence
    positives = math.ceil(math.log(delta) / math.log(target_tpr))
    # Guard the float rounding of the logarithms: the binomial itself decides the last step.
    while positives > 1 and target_tpr ** (positives - 1) <= delta:
        positives -= 1
    while target_tpr**positives > delta:
        positives += 1
    return positives


def tpr_lower_bound(order: int, positives: int, confidence: float = DEFAULT_CONFIDENCE) -> float:
    """TPR guaranteed with confidence 1 - delta for the threshold at the ``order``-th smallest of n positive scores.

    The largest t with P(Binomial(n, 1 - t) <= k - 1) <= delta, which is 1 - Beta.ppf(1 - delta; k, n - k + 1)
    (the binomial tail as a regularised incomplete beta function): the one-sided Clopper-Pearson lower bound.

    Args:
        order: k, in [1, n].
        positives: n >= 1.
        confidence: 1 - delta in (0, 1).

    Raises:
        ValueError: if ``order`` lies outside [1, positives].
    """
    check_confidence(confidence)
    if not 1 <= order <= positives:
        raise ValueError(f"`order` must lie in [1, {positives}], got {order!r}")
    return float(1 - stats.beta.ppf(confidence, order, positives - order + 1))


@dataclass(frozen=True)
class ThresholdChoice:
    """A threshold on the score (decision ``score >= threshold``) and how far it can be trusted.

    Attributes:
        target_tpr: t.
        threshold: the chosen score, in the units of the calibration scores (logits).
        certified: True when TPR >= t holds on new cases with probability >= ``confidence``.
        confidence: 1 - delta.
        order: k, the rank of ``threshold`` among the positive scores counted from the smallest.
        positives: n, the number of calibration positives.
        tpr_lower_bound: the TPR guaranteed with probability ``confidence`` at this threshold (>= t when certified).
        positives_needed: the fewest positives that certify t (None for t = 1).
    """

    target_tpr: float
    threshold: float
    certified: bool
    confidence: float
    order: int
    positives: int
    tpr_lower_bound: float
    positives_needed: int | None

    def as_dict(self) -> dict:
        """The fields as a JSON-able dict."""
        return asdict(self)


def certified_threshold(
    positive_scores: np.ndarray, target_tpr: float, confidence: float = DEFAULT_CONFIDENCE
) -> ThresholdChoice:
    """The Neyman-Pearson umbrella threshold for ``target_tpr``, or the empirical one marked not certified.

    Args:
        positive_scores: 1-D finite scores (logits) of the calibration positives, n >= 1.
        target_tpr: t in (0, 1].
        confidence: 1 - delta in (0, 1), 0.95 by default.

    Returns:
        The certified threshold (k-th smallest score, largest k with P(Binomial(n, 1 - t) <= k - 1) <= delta) or,
        when n < :func:`minimum_positives`, the empirical one: the k-th smallest score with the largest k that keeps
        the calibration TPR >= t (the rule of :func:`almlit.metrics.threshold_at_tpr`).

    Raises:
        ValueError: on no positives, non-finite scores or levels outside their ranges.
    """
    check_tpr_levels([target_tpr])
    check_confidence(confidence)
    scores = _positive_scores(positive_scores)
    positives = scores.size
    needed = minimum_positives(target_tpr, confidence)
    if positives == 0:
        raise ValueError(
            f"a threshold for TPR {target_tpr} needs positive calibration scores, got 0 "
            f"(certifying it at confidence {confidence} needs {needed if needed else 'infinitely many'})"
        )
    orders = np.arange(1, positives + 1)
    tails = stats.binom.cdf(orders - 1, positives, 1 - target_tpr)
    passing = np.nonzero(tails <= 1 - confidence)[0]
    if passing.size:
        order = int(orders[passing[-1]])
    else:
        # The rule of the paper's Table 4 (almlit.metrics.threshold_at_tpr): the j-th largest score for the smallest
        # j with j / n >= t, divided exactly as the achieved TPR is. Like k above, the rank depends on n and t only.
        order = positives - int(np.searchsorted(orders / positives, target_tpr, side="left"))
    return ThresholdChoice(
        target_tpr=float(target_tpr),
        threshold=float(scores[order - 1]),
        certified=bool(passing.size),
        confidence=float(confidence),
        order=order,
        positives=positives,
        tpr_lower_bound=tpr_lower_bound(order, positives, confidence),
        positives_needed=needed,
    )


def clopper_pearson(successes: int, trials: int, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """Exact two-sided (Clopper-Pearson) confidence interval of a binomial proportion.

    Source: Clopper & Pearson (1934); computed by ``scipy.stats.binomtest(...).proportion_ci(method="exact")``.

    Raises:
        ValueError: if ``trials`` < 1 or ``successes`` outside [0, trials].
    """
    check_confidence(confidence)
    if trials < 1:
        raise ValueError(f"an interval needs at least one trial, got {trials}")
    if not 0 <= successes <= trials:
        raise ValueError(f"`successes` must lie in [0, {trials}], got {successes}")
    interval = stats.binomtest(int(successes), int(trials)).proportion_ci(confidence_level=confidence, method="exact")
    return float(interval.low), float(interval.high)


def rates_at_threshold(
    scores: np.ndarray, targets: np.ndarray, threshold: float, confidence: float = DEFAULT_CONFIDENCE
) -> dict:
    """TPR and FPR of the rule ``score >= threshold``, with exact intervals and the counts behind them.

    Args:
        scores: 1-D scores (logits).
        targets: 1-D 0/1 labels of the same length, with at least one positive and one negative.
        threshold: the frozen threshold.
        confidence: level of the Clopper-Pearson intervals.

    Returns:
        ``{"positives", "negatives", "true_positives", "false_positives", "tpr", "tpr_ci", "fpr", "fpr_ci"}``.

    Raises:
        ValueError: on mismatched lengths, labels other than 0/1 or a class without samples.
    """
    scores, targets = binary_scores_and_targets(scores, targets)
    positive = targets == 1
    positives, negatives = int(positive.sum()), int((~positive).sum())
    if positives == 0 or negatives == 0:
        raise ValueError(f"rates need positives and negatives, got {positives} positives and {negatives} negatives")
    over = scores >= threshold
    true_positives, false_positives = int((over & positive).sum()), int((over & ~positive).sum())
    return {
        "positives": positives,
        "negatives": negatives,
        "true_positives": true_positives,
        "false_positives": false_positives,
        "tpr": true_positives / positives,
        "tpr_ci": list(clopper_pearson(true_positives, positives, confidence)),
        "fpr": false_positives / negatives,
        "fpr_ci": list(clopper_pearson(false_positives, negatives, confidence)),
    }
