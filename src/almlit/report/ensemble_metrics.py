"""Ensemble of run folders as pure functions of their test scores: logits averaged, then the usual metrics.

The paper (section 5.2, "Ensembling for higher reliability") averages the members' predictions in logit space,
before the sigmoid; for C classes each class's logit is averaged. The metrics are the ones training reports
(:class:`~almlit.metrics.BinaryRankMetrics` for one score column, :func:`~almlit.metrics.critical_class_report` for
C columns), computed here in float64 from the saved scores.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from almlit.metrics import BinaryRankMetrics, critical_class_report
from almlit.runs.reader import RunScores


@dataclass(frozen=True)
class MetricSpec:
    """Which metrics a run reports, as its config sets them.

    Attributes:
        num_classes: 2 for binary data (one score column), else C.
        tpr_levels: binary: TPRs of the FPR@TPR metrics; multi-class: critical-class TPRs of the error metrics.
        false_negatives: binary: budgets k of the FPR@kFN metrics.
        pauc_max_fpr: binary: FPR bounds of the partial AUC metrics (none for runs that predate them).
        tpauc: binary: ``(min TPR, max FPR)`` pairs of the two-way partial AUC metrics.
        critical_classes: multi-class: the critical classes (binary: the positive class 1).
    """

    num_classes: int = 2
    tpr_levels: tuple[float, ...] = (0.98, 0.95, 0.92, 0.90)
    false_negatives: tuple[int, ...] = (0, 1)
    pauc_max_fpr: tuple[float, ...] = ()
    tpauc: tuple[tuple[float, float], ...] = ()
    critical_classes: tuple[int, ...] = (1,)

    @classmethod
    def from_run(cls, config: Mapping[str, Any], metrics: Mapping[str, Any] | None = None) -> MetricSpec:
        """Read the spec from a run's resolved config (``num_classes``, ``metrics.*``) and, for C classes, the
        critical classes from its ``metrics.json`` (``critical_classes``) or else its ``data.critical_classes``."""
        num_classes = int(config.get("num_classes", 2))
        settings = config.get("metrics", {})
        critical = (1,)
        if num_classes > 2:
            critical = (metrics or {}).get("critical_classes") or config.get("data", {}).get("critical_classes")
            if not critical:
                raise ValueError(
                    f"a {num_classes}-class run must name its critical classes in metrics.json (critical_classes) "
                    f"or config.yaml (data.critical_classes), got {critical!r}"
                )
        return cls(
            num_classes=num_classes,
            tpr_levels=tuple(float(level) for level in settings.get("tpr_levels", cls.tpr_levels)),
            false_negatives=tuple(int(budget) for budget in settings.get("false_negatives", cls.false_negatives)),
            pauc_max_fpr=tuple(float(bound) for bound in settings.get("pauc_max_fpr", cls.pauc_max_fpr)),
            tpauc=tuple((float(alpha), float(beta)) for alpha, beta in settings.get("tpauc", cls.tpauc)),
            critical_classes=tuple(int(index) for index in critical),
        )


def stack_members(members: Sequence[RunScores]) -> RunScores:
    """The members' scores stacked on a new first axis, ``[M, N]`` or ``[M, N, C]``.

    Raises:
        ValueError: when there is no member, or members disagree on the test samples, their labels or the number
            of score columns.
    """
    if not members:
        raise ValueError("an ensemble needs at least one member, got 0")
    first = members[0]
    for index, member in enumerate(members[1:], start=1):
        if not np.array_equal(member.sample_ids, first.sample_ids):
            raise ValueError(f"member {index} was tested on other samples than member 0 (test sample ids differ)")
        if not np.array_equal(member.labels, first.labels):
            raise ValueError(f"member {index} and member 0 give different labels to the same test samples")
        if member.scores.shape != first.scores.shape:
            raise ValueError(
                f"member {index} has scores of shape {member.scores.shape}, member 0 of shape {first.scores.shape}"
            )
    return RunScores(first.sample_ids, first.labels, np.stack([member.scores for member in members]))


def average_logits(stacked_scores: np.ndarray) -> np.ndarray:
    """The ensemble's logits: the mean over members (axis 0), before any sigmoid or softmax."""
    return np.asarray(stacked_scores, dtype=np.float64).mean(axis=0)


def score_metrics(scores: np.ndarray, labels: np.ndarray, spec: MetricSpec) -> dict[str, float]:
    """The test metrics of one set of scores, keyed as in ``metrics.json`` ("auc", "fpr@95tpr", "accuracy", ...)."""
    scores_tensor = torch.as_tensor(np.asarray(scores, dtype=np.float64))
    labels_tensor = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    if scores_tensor.ndim == 1:
        metric = BinaryRankMetrics(spec.tpr_levels, spec.false_negatives, spec.pauc_max_fpr, spec.tpauc)
        metric.update(scores_tensor, labels_tensor)
        values = metric.compute()
    else:
        values = critical_class_report(scores_tensor, labels_tensor, spec.critical_classes, spec.tpr_levels)
    return {key: float(value) for key, value in values.items()}


def mean_and_std(per_member: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """``{metric: {"mean": m, "std": s}}`` over members; s is the sample standard deviation (0 for one member)."""
    keys = per_member[0].keys()
    summary = {}
    for key in keys:
        values = [member[key] for member in per_member]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        summary[key] = {"mean": statistics.fmean(values), "std": spread}
    return summary


def ensemble_summary(members: Sequence[RunScores], spec: MetricSpec) -> dict[str, Any]:
    """Metrics of the logit-averaged ensemble, of every member, and the members' mean and std.

    Returns:
        ``{"ensemble": {...}, "members": [{...}, ...], "members_summary": {metric: {"mean", "std"}}}``.
    """
    stacked = stack_members(members)
    per_member = [score_metrics(scores, stacked.labels, spec) for scores in stacked.scores]
    return {
        "ensemble": score_metrics(average_logits(stacked.scores), stacked.labels, spec),
        "members": per_member,
        "members_summary": mean_and_std(per_member),
    }
