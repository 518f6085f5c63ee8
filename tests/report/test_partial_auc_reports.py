"""Reports carry the partial AUCs: ensemble metrics read their bounds from a run's config, tables name them."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from almlit.report.ensemble_metrics import MetricSpec, score_metrics
from almlit.report.tables import higher_is_better, metric_title
from tests.helpers.hand_computed_roc import HAND_LABELS, HAND_SCORES


def test_ensemble_metrics_follow_the_runs_partial_auc_settings():
    config = {"metrics": {"tpr_levels": [0.5], "false_negatives": [], "pauc_max_fpr": [0.3], "tpauc": [[0.5, 0.6]]}}
    spec = MetricSpec.from_run(config)
    assert spec.pauc_max_fpr == (0.3,) and spec.tpauc == ((0.5, 0.6),)
    values = score_metrics(HAND_SCORES.numpy(), HAND_LABELS.numpy(), spec)
    assert list(values) == ["auc", "fpr@50tpr", "pauc@30fpr", "tpauc@50tpr60fpr"]
    assert values["pauc@30fpr"] == pytest.approx(roc_auc_score(HAND_LABELS, HAND_SCORES, max_fpr=0.3), abs=1e-15)
    assert values["tpauc@50tpr60fpr"] == pytest.approx(5 / 24, abs=1e-15)  # the hand-computed value


def test_runs_written_before_the_partial_aucs_report_none():
    spec = MetricSpec.from_run({"metrics": {"tpr_levels": [0.5], "false_negatives": [0]}})
    values = score_metrics(np.array([0.1, 0.9, 0.4]), np.array([0, 1, 1]), spec)
    assert list(values) == ["auc", "fpr@50tpr", "fpr@0fn"]


def test_tables_title_the_partial_aucs_and_rank_them_higher_is_better():
    assert metric_title("pauc@30fpr") == "pAUC @ FPR <= 30%"
    assert metric_title("tpauc@50tpr30fpr") == "TPAUC @ TPR >= 50%, FPR <= 30%"
    assert metric_title("members:pauc@30fpr") == "Avg pAUC @ FPR <= 30%"
    assert higher_is_better("pauc@30fpr") and higher_is_better("tpauc@50tpr30fpr")
