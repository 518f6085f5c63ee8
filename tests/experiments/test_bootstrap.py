"""Bootstrap intervals: the weighted ROC against the exact metrics and scikit-learn's weighted ones."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score, roc_curve

from almlit.metrics import binary_auc, fpr_at_tpr
from almlit.report.bootstrap import (
    bootstrap_draws,
    confidence_intervals,
    percentile_interval,
    stratified_counts,
    weighted_rank_metrics,
)

GENERATOR = np.random.default_rng(1)
LABELS = (GENERATOR.random(400) < 0.15).astype(int)
SCORES = np.round(GENERATOR.normal(size=400) + LABELS, 1)  # rounded: many ties
LEVELS = (0.98, 0.95, 0.9)


def test_unit_weights_give_the_exact_metrics():
    values = weighted_rank_metrics(SCORES, LABELS, np.ones((1, 400)), LEVELS)
    scores, labels = torch.as_tensor(SCORES), torch.as_tensor(LABELS)
    assert values["auc"][0] == pytest.approx(binary_auc(scores, labels).item(), abs=1e-12)
    exact = fpr_at_tpr(scores, labels, LEVELS).tolist()
    assert [values[f"fpr@{round(100 * level)}tpr"][0] for level in LEVELS] == pytest.approx(exact, abs=1e-12)


def test_count_weights_match_scikit_learn_weighted_roc():
    counts = stratified_counts(LABELS, replicates=3, seed=4)
    values = weighted_rank_metrics(SCORES, LABELS, counts, LEVELS)
    for replicate, weights in enumerate(counts):
        assert values["auc"][replicate] == pytest.approx(roc_auc_score(LABELS, SCORES, sample_weight=weights))
        fpr, tpr, _ = roc_curve(LABELS, SCORES, sample_weight=weights)
        assert values["fpr@95tpr"][replicate] == pytest.approx(fpr[tpr >= 0.95 - 1e-12].min())


def test_stratified_counts_keep_the_class_sizes():
    counts = stratified_counts(LABELS, replicates=5)
    assert (counts[:, LABELS == 1].sum(axis=1) == LABELS.sum()).all()
    assert (counts.sum(axis=1) == LABELS.size).all()


def test_intervals_contain_the_estimate_and_narrow_with_more_samples():
    small = confidence_intervals(SCORES[:100], LABELS[:100], (0.9,), replicates=300)
    large = confidence_intervals(SCORES, LABELS, (0.9,), replicates=300)
    auc = roc_auc_score(LABELS, SCORES)
    assert large["auc"][0] <= auc <= large["auc"][1]
    assert large["auc"][1] - large["auc"][0] < small["auc"][1] - small["auc"][0]


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="at least one positive and one negative"):
        confidence_intervals(SCORES[:5], np.zeros(5), (0.9,))


def test_draws_of_two_score_sets_are_paired():
    better = SCORES + 0.8 * LABELS  # the same samples, positives pushed up: every resample ranks it higher
    first, second = bootstrap_draws(SCORES, LABELS, (0.9,), 200), bootstrap_draws(better, LABELS, (0.9,), 200)
    assert (second["auc"] - first["auc"] >= 0).all()
    assert percentile_interval(second["auc"] - first["auc"])[0] > 0
    assert percentile_interval(first["auc"] - first["auc"]) == (0.0, 0.0)
