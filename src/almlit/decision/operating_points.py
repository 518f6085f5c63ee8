"""``operating_points.json``: the thresholds a trained run is used at, chosen on held-out calibration scores.

Format (schema 1; every threshold is in logit units and the decision rule is ``logit >= threshold``)::

    {"schema": 1,
     "score": "logit",
     "confidence": 0.95,                       # 1 - delta of the guarantees and of every interval
     "prevalence": null | pi,                  # deployment share of positives used for ppv ... missed_per_1000
     "calibration_split": "validation" | "calibration",
     # binary runs:
     "calibration": {"method": "platt", "slope", "intercept", "calibration_prevalence", "positives", "negatives"},
     "operating_points": [
        {"target_tpr": 0.98, "threshold": <logit>, "certified": bool, "confidence": 0.95,
         "calibration_positives": n, "calibration_negatives": m, "positives_needed": 149 | null,
         "tpr_lower_bound": <TPR guaranteed with probability `confidence` at this threshold>,
         "calibration_tpr": ..., "calibration_fpr": ...,
         "test": {"tpr", "tpr_ci": [low, high], "fpr", "fpr_ci": [low, high], "positives", "negatives",
                  "true_positives", "false_positives"},              # only when test scores were given
         # only with a prevalence, from the test rates (the calibration rates without a test set):
         "ppv", "npv", "false_alarms_per_1000", "missed_per_1000"},
        ...]}
     # multi-class runs, instead of "calibration" and "operating_points":
     "critical_classes": [c, ...],
     "classes": [{"class": c, "calibration": {...one-vs-rest Platt on the logit of c...},
                  "operating_points": [{...as above, on the logit of c, class c against the rest...,
                                        "test": {..., "error_noncritical": ...}}]}]}

A binary run's thresholds come from :func:`almlit.decision.thresholds.certified_threshold`. A multi-class run has one
threshold per critical class c and TPR level t, chosen on the calibration samples of class c against its logit: the
paper's Table 4 rule (assign to c when its logit >= threshold, otherwise to the argmax over the non-critical classes)
at a threshold fixed before the test set is seen; ``error_noncritical`` is the share of non-critical test samples this
assignment gets wrong. The paper's own metrics (FPR@TPR, Table 4 error) pick the threshold on the test set itself, an
oracle; they stay in ``metrics.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from almlit.decision.calibration import check_prevalence, fit_platt
from almlit.decision.thresholds import (
    DEFAULT_CONFIDENCE,
    binary_scores_and_targets,
    certified_threshold,
    rates_at_threshold,
)
from almlit.metrics.checks import check_critical_classes
from almlit.metrics.multiclass import assign_with_critical_threshold
from almlit.runs.folder import OPERATING_POINTS_FILE

SCHEMA = 1


def screening_figures(tpr: float, fpr: float, prevalence: float) -> dict:
    """What a TPR and FPR mean where a share ``prevalence`` of the screened cases is positive (Bayes' rule).

    Returns:
        ``{"ppv", "npv", "false_alarms_per_1000", "missed_per_1000"}``; a predictive value whose denominator is 0
        (nothing called positive, or nothing negative) is None.
    """
    check_prevalence(prevalence)
    called_positive = tpr * prevalence + fpr * (1 - prevalence)
    called_negative = (1 - fpr) * (1 - prevalence) + (1 - tpr) * prevalence
    return {
        "ppv": tpr * prevalence / called_positive if called_positive > 0 else None,
        "npv": (1 - fpr) * (1 - prevalence) / called_negative if called_negative > 0 else None,
        "false_alarms_per_1000": 1000 * fpr * (1 - prevalence),
        "missed_per_1000": 1000 * (1 - tpr) * prevalence,
    }


def _operating_point(
    scores: np.ndarray,
    targets: np.ndarray,
    target_tpr: float,
    confidence: float,
    test: tuple[np.ndarray, np.ndarray] | None,
    prevalence: float | None,
) -> dict:
    """One entry of ``operating_points``, class 1 against class 0 of 1-D scores."""
    choice = certified_threshold(scores[targets == 1], target_tpr, confidence)
    negatives = scores[targets == 0]
    point: dict[str, Any] = {
        "target_tpr": choice.target_tpr,
        "threshold": choice.threshold,
        "certified": choice.certified,
        "confidence": choice.confidence,
        "calibration_positives": choice.positives,
        "calibration_negatives": int(negatives.size),
        "positives_needed": choice.positives_needed,
        "tpr_lower_bound": choice.tpr_lower_bound,
        "calibration_tpr": float(np.mean(scores[targets == 1] >= choice.threshold)),
        "calibration_fpr": float(np.mean(negatives >= choice.threshold)) if negatives.size else None,
    }
    basis: dict[str, Any] = {"tpr": point["calibration_tpr"], "fpr": point["calibration_fpr"]}
    if test is not None:
        point["test"] = basis = rates_at_threshold(test[0], test[1], choice.threshold, confidence)
    if prevalence is not None and basis["fpr"] is not None:
        point.update(screening_figures(basis["tpr"], basis["fpr"], prevalence))
    return point


def binary_operating_points(
    calibration_scores: np.ndarray,
    calibration_targets: np.ndarray,
    tpr_levels: Sequence[float],
    confidence: float = DEFAULT_CONFIDENCE,
    test_scores: np.ndarray | None = None,
    test_targets: np.ndarray | None = None,
    prevalence: float | None = None,
    calibration_split: str = "validation",
) -> dict:
    """The ``operating_points.json`` document of a binary classifier.

    Args:
        calibration_scores: 1-D logits of the calibration split (held out of training).
        calibration_targets: its 0/1 labels; at least one positive (and one negative for the Platt calibration).
        tpr_levels: target TPRs t in (0, 1], one operating point each.
        confidence: 1 - delta of the guarantee and of the Clopper-Pearson intervals.
        test_scores: 1-D test logits, or None; evaluated at the frozen thresholds.
        test_targets: their 0/1 labels (both classes present), or None.
        prevalence: deployment share of positives in (0, 1), or None.
        calibration_split: which split the thresholds come from, recorded in the document.

    Returns:
        The document described in the module docstring.

    Raises:
        ValueError: on malformed scores or levels, a calibration split without positives or negatives, a test set
            without either class, test scores without test targets, or a prevalence outside (0, 1).
    """
    check_prevalence(prevalence)
    scores, targets = binary_scores_and_targets(calibration_scores, calibration_targets, "calibration_scores")
    calibration = fit_platt(scores, targets)
    test = None
    if test_scores is not None:
        if test_targets is None:
            raise ValueError("test_scores need test_targets (their 0/1 labels, one per score), got None")
        test = binary_scores_and_targets(test_scores, test_targets, "test_scores")
    return {
        "schema": SCHEMA,
        "score": "logit",
        "confidence": float(confidence),
        "prevalence": prevalence,
        "calibration_split": calibration_split,
        "calibration": calibration,
        "operating_points": [
            _operating_point(scores, targets, level, confidence, test, prevalence) for level in tpr_levels
        ],
    }


def multiclass_operating_points(
    calibration_scores: np.ndarray,
    calibration_targets: np.ndarray,
    critical_classes: Sequence[int],
    tpr_levels: Sequence[float],
    confidence: float = DEFAULT_CONFIDENCE,
    test_scores: np.ndarray | None = None,
    test_targets: np.ndarray | None = None,
    calibration_split: str = "validation",
) -> dict:
    """The ``operating_points.json`` document of a multi-class classifier with critical classes (paper Table 4).

    Args:
        calibration_scores: ``[N, C]`` calibration logits.
        calibration_targets: ``[N]`` class indices.
        critical_classes: the critical classes, each thresholded on its own logit.
        tpr_levels: target TPRs of each critical class.
        confidence: 1 - delta.
        test_scores: ``[M, C]`` test logits, or None.
        test_targets: ``[M]`` class indices, or None.
        calibration_split: which split the thresholds come from.

    Returns:
        The document described in the module docstring, with ``"classes"``.

    Raises:
        ValueError: on malformed scores, critical classes or levels, or a critical class absent from a split.
    """
    scores = np.asarray(calibration_scores, dtype=np.float64)
    targets = np.asarray(calibration_targets, dtype=np.int64)
    if scores.ndim != 2 or targets.shape != scores.shape[:1]:
        raise ValueError(f"`calibration_scores` must be [N, C] with N labels, got {scores.shape} and {targets.shape}")
    critical = check_critical_classes(critical_classes, scores.shape[1])
    classes = []
    for critical_class in critical:
        one_vs_rest = (targets == critical_class).astype(np.int64)
        test = None
        if test_scores is not None:
            test_array = np.asarray(test_scores, dtype=np.float64)
            test_labels = np.asarray(test_targets, dtype=np.int64)
            test = (test_array[:, critical_class], (test_labels == critical_class).astype(np.int64))
        points = [
            _operating_point(scores[:, critical_class], one_vs_rest, level, confidence, test, None)
            for level in tpr_levels
        ]
        if test_scores is not None:
            thresholds = torch.tensor([point["threshold"] for point in points], dtype=torch.float64)
            assigned = assign_with_critical_threshold(
                torch.from_numpy(test_array), critical, critical_class, thresholds
            )
            noncritical = torch.from_numpy(~np.isin(test_labels, critical))
            wrong = (assigned[:, noncritical] != torch.from_numpy(test_labels)[noncritical]).to(torch.float64)
            for point, error in zip(points, wrong.mean(dim=1).tolist(), strict=True):
                point["test"]["error_noncritical"] = error
        classes.append(
            {
                "class": critical_class,
                "calibration": fit_platt(scores[:, critical_class], one_vs_rest),
                "operating_points": points,
            }
        )
    return {
        "schema": SCHEMA,
        "score": "logit",
        "confidence": float(confidence),
        "prevalence": None,
        "calibration_split": calibration_split,
        "critical_classes": list(critical),
        "classes": classes,
    }


def _finite_json(value):
    """NaN and infinities become None: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _finite_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_json(item) for item in value]
    return value


def operating_points_json(document: Mapping) -> str:
    """The document as JSON text (sorted keys are not used: the order above reads best)."""
    return json.dumps(_finite_json(document), indent=2) + "\n"


def load_operating_points(path_or_folder: str | Path) -> dict:
    """Read ``operating_points.json`` from a file or from the run / ensemble folder holding it.

    Returns:
        The document described in the module docstring.

    Raises:
        FileNotFoundError: if there is no such file.
        ValueError: if the file is not JSON or not a schema-1 operating-points document.
    """
    path = Path(path_or_folder)
    if path.is_dir():
        path = path / OPERATING_POINTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {OPERATING_POINTS_FILE} at {path}; a finished binary run or ensemble writes one")
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        found = document.get("schema") if isinstance(document, dict) else type(document).__name__
        raise ValueError(f"{path} must be an operating-points document with schema {SCHEMA}, got schema {found!r}")
    if ("operating_points" in document) == ("classes" in document):
        raise ValueError(f"{path} must hold exactly one of 'operating_points' (binary) and 'classes' (multi-class)")
    return document


def apply_operating_points(logits: np.ndarray, document: Mapping) -> np.ndarray:
    """Decisions of a binary document's operating points: ``logit >= threshold``.

    Args:
        logits: 1-D raw scores (logits) of the positive class.
        document: a binary ``operating_points.json`` document.

    Returns:
        bool array ``[N, len(document["operating_points"])]``, one column per operating point in the document's order.

    Raises:
        ValueError: for a multi-class document or logits that are not 1-D.
    """
    if "operating_points" not in document:
        raise ValueError("apply_operating_points needs a binary document; use assign_critical_classes for 'classes'")
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 1:
        raise ValueError(f"`logits` must be 1-D (one score per sample), got shape {logits.shape}")
    thresholds = np.array([point["threshold"] for point in document["operating_points"]], dtype=np.float64)
    return logits[:, None] >= thresholds[None, :]


def assign_critical_classes(scores: np.ndarray, document: Mapping) -> dict[tuple[int, float], np.ndarray]:
    """Class assignments of a multi-class document: the paper's Table 4 rule at each frozen threshold.

    Args:
        scores: ``[N, C]`` logits.
        document: a multi-class ``operating_points.json`` document.

    Returns:
        ``{(critical class, target TPR): int64 array [N]}``: the critical class where its logit >= its threshold,
        otherwise the argmax over the non-critical classes.

    Raises:
        ValueError: for a binary document or scores that are not 2-D.
    """
    if "classes" not in document:
        raise ValueError("assign_critical_classes needs a multi-class document; use apply_operating_points")
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"`scores` must be [N, C], got shape {scores.shape}")
    assignments = {}
    for entry in document["classes"]:
        points = entry["operating_points"]
        thresholds = torch.tensor([point["threshold"] for point in points], dtype=torch.float64)
        assigned = assign_with_critical_threshold(
            torch.from_numpy(scores), document["critical_classes"], entry["class"], thresholds
        )
        for point, row in zip(points, assigned.numpy(), strict=True):
            assignments[(entry["class"], point["target_tpr"])] = row
    return assignments
