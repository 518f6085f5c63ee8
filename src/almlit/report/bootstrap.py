"""Bootstrap confidence intervals of AUC and FPR@TPR over the test samples.

Each replicate draws the positives and the negatives of the test set with replacement, separately (a stratified
bootstrap: every replicate keeps the class sizes, so every metric stays defined), and recomputes the metrics.
A replicate is a vector of per-sample counts, so all replicates are ranked at once from one sort of the scores:
the ROC of counts ``w`` has ``TP(t) = sum of w over positives scoring >= t`` (and FP alike), exactly the ROC of
the resampled set, ties included. The percentile interval of the replicates is reported, and the interval of
the paired difference of two score sets of the same test samples (the same resamples for both).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

REPLICATES = 1000
LEVEL = 0.95


def stratified_counts(labels: np.ndarray, replicates: int, seed: int = 0) -> np.ndarray:
    """``[replicates, N]`` counts: how often each test sample is drawn, positives and negatives drawn apart."""
    labels = np.asarray(labels).astype(bool)
    generator = np.random.default_rng(seed)
    counts = np.zeros((replicates, labels.size), dtype=np.float64)
    rows = np.arange(replicates)[:, None]
    for members in (np.flatnonzero(labels), np.flatnonzero(~labels)):
        draws = members[generator.integers(0, members.size, size=(replicates, members.size))]
        np.add.at(counts, (rows, draws), 1.0)
    return counts


def weighted_rank_metrics(
    scores: np.ndarray, labels: np.ndarray, weights: np.ndarray, tpr_levels: Sequence[float]
) -> dict[str, np.ndarray]:
    """AUC and FPR at each TPR level of the ROC weighted by each row of ``weights``.

    Args:
        scores: ``[N]`` raw scores of the critical class.
        labels: ``[N]`` 0/1 labels.
        weights: ``[R, N]`` non-negative sample weights (counts), each row with positive and negative mass.
        tpr_levels: levels t in (0, 1].

    Returns:
        ``{"auc": [R], "fpr@{100t}tpr": [R], ...}``, the definitions of :mod:`almlit.metrics.binary`
        (trapezoid AUC; lowest FPR among ROC points with TPR >= t).
    """
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    positive = np.asarray(labels)[order].astype(bool)
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))[:, order]
    # the last sample of each run of equal scores closes one ROC step
    step_ends = np.flatnonzero(np.append(sorted_scores[1:] != sorted_scores[:-1], True))
    true_positives = np.cumsum(weights * positive, axis=1)[:, step_ends]
    false_positives = np.cumsum(weights * ~positive, axis=1)[:, step_ends]
    tpr = true_positives / true_positives[:, -1:]
    fpr = false_positives / false_positives[:, -1:]
    start = np.zeros((len(weights), 1))
    tpr_full, fpr_full = np.hstack([start, tpr]), np.hstack([start, fpr])
    values = {"auc": np.sum(np.diff(fpr_full, axis=1) * (tpr_full[:, 1:] + tpr_full[:, :-1]) / 2, axis=1)}
    for level in tpr_levels:
        first = np.argmax(tpr_full >= level, axis=1)
        values[f"fpr@{round(100 * level)}tpr"] = fpr_full[np.arange(len(weights)), first]
    return values


def bootstrap_draws(
    scores: np.ndarray, labels: np.ndarray, tpr_levels: Sequence[float], replicates: int = REPLICATES, seed: int = 0
) -> dict[str, np.ndarray]:
    """AUC and FPR@TPR of ``replicates`` stratified resamples of the test set, ``{metric: [replicates]}``.

    The resamples depend only on the labels and the seed, so two score sets of the same test samples get the same
    resamples: the difference of their draws is the paired bootstrap of their difference.

    Raises:
        ValueError: when ``replicates`` < 1 or a class is missing.
    """
    if replicates < 1:
        raise ValueError(f"`replicates` must be >= 1, got {replicates}")
    labels = np.asarray(labels)
    if labels.all() or not labels.any():
        raise ValueError("bootstrap intervals need at least one positive and one negative test sample")
    return weighted_rank_metrics(scores, labels, stratified_counts(labels, replicates, seed), tpr_levels)


def percentile_interval(draws: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central ``level`` interval of bootstrap draws.

    Raises:
        ValueError: when ``level`` is outside (0, 1).
    """
    if not 0 < level < 1:
        raise ValueError(f"`level` must lie in (0, 1), got {level}")
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def confidence_intervals(
    scores: np.ndarray,
    labels: np.ndarray,
    tpr_levels: Sequence[float],
    replicates: int = REPLICATES,
    level: float = LEVEL,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals ``{metric: (low, high)}`` of AUC and FPR@TPR for binary test scores."""
    draws = bootstrap_draws(scores, labels, tpr_levels, replicates, seed)
    return {key: percentile_interval(values, level) for key, values in draws.items()}
