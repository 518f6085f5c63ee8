"""Predictions of a trained model as a table: logits, calibrated probabilities and a decision per operating point.

The operating points are those of the model's ``operating_points.json`` (:mod:`almlit.decision.operating_points`),
frozen before the new data is seen: a binary decision is ``logit >= threshold``; a multi-class one assigns a critical
class where its logit reaches its threshold, otherwise the most likely non-critical class (the paper's Table 4 rule).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

import numpy as np

from almlit.decision import apply_operating_points, assign_critical_classes, calibrated_probability, rates_at_threshold
from almlit.decision.operating_points import screening_figures


def level_name(target_tpr: float) -> str:
    """``98tpr`` of 0.98, as the metrics name their TPR levels (``fpr@98tpr``)."""
    return f"{100 * target_tpr:g}tpr"


def decision_columns(logits: np.ndarray, document: Mapping[str, Any] | None, prevalence: float | None) -> dict:
    """The probability and decision columns of ``predictions.csv``.

    Args:
        logits: ``[N]`` (binary) or ``[N, C]`` logits.
        document: the model's operating points, or None (no columns).
        prevalence: deployment share of positives for the calibrated probability, or None for the document's own
            (or, without one, the calibration split's).

    Returns:
        ``{column name: [N] array}``: binary ``probability`` and ``decision@<t>tpr`` (0/1); multi-class
        ``probability_class<c>`` (one-vs-rest) and ``class@<c>@<t>tpr`` (the class assigned).
    """
    if document is None:
        return {}
    prevalence = prevalence if prevalence is not None else document.get("prevalence")
    if "operating_points" in document:
        decisions = apply_operating_points(logits, document)
        columns = {"probability": calibrated_probability(logits, document["calibration"], prevalence)}
        for index, point in enumerate(document["operating_points"]):
            columns[f"decision@{level_name(point['target_tpr'])}"] = decisions[:, index].astype(np.int64)
        return columns
    columns = {
        f"probability_class{entry['class']}": calibrated_probability(logits[:, entry["class"]], entry["calibration"])
        for entry in document["classes"]
    }
    for (critical, target_tpr), assigned in assign_critical_classes(logits, document).items():
        columns[f"class@{critical}@{level_name(target_tpr)}"] = assigned
    return columns


def predictions_csv(
    sample_ids: np.ndarray,
    names: Mapping[str, list[str]],
    labels: np.ndarray | None,
    logits: np.ndarray,
    columns: Mapping[str, np.ndarray],
) -> str:
    """``predictions.csv`` as text: ``sample_id``, the naming columns (MRI: ``subject_id``), ``label`` when known,
    ``logit`` (binary) or ``score_0 .. score_{C-1}``, then ``columns``; floats written exactly (``repr``)."""
    score_names = ["logit"] if logits.ndim == 1 else [f"score_{index}" for index in range(logits.shape[1])]
    header = ["sample_id", *names, *(["label"] if labels is not None else []), *score_names, *columns]
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    score_rows = logits.reshape(len(logits), -1)
    for row in range(len(sample_ids)):
        cells = [int(sample_ids[row]), *(values[row] for values in names.values())]
        cells += [int(labels[row])] if labels is not None else []
        cells += [repr(float(value)) for value in score_rows[row]]
        cells += [
            repr(float(values[row])) if values.dtype.kind == "f" else int(values[row]) for values in columns.values()
        ]
        writer.writerow(cells)
    return stream.getvalue()


def frozen_threshold_metrics(
    logits: np.ndarray, labels: np.ndarray, document: Mapping[str, Any], prevalence: float | None
) -> list[dict]:
    """TPR and FPR, with exact (Clopper-Pearson) intervals, of the labelled data at every frozen threshold.

    Binary: one entry per operating point; multi-class: per critical class (against the rest) and TPR level. With a
    ``prevalence`` (or the document's), also PPV, NPV and the false alarms and missed cases per 1000 screened.

    Raises:
        ValueError: the labels lack one of the two classes (of a critical class against the rest).
    """
    confidence = document.get("confidence", 0.95)
    prevalence = prevalence if prevalence is not None else document.get("prevalence")
    if "operating_points" in document:
        entries = [(None, logits, labels, document["operating_points"])]
    else:
        entries = [
            (
                entry["class"],
                logits[:, entry["class"]],
                (labels == entry["class"]).astype(np.int64),
                entry["operating_points"],
            )
            for entry in document["classes"]
        ]
    results = []
    for critical, scores, targets, points in entries:
        for point in points:
            rates = rates_at_threshold(scores, targets, point["threshold"], confidence)
            result = {
                "target_tpr": point["target_tpr"],
                "threshold": point["threshold"],
                "certified": point["certified"],
            }
            if critical is not None:
                result["class"] = critical
            result.update(rates)
            if prevalence is not None and critical is None:
                result.update(screening_figures(rates["tpr"], rates["fpr"], prevalence))
            results.append(result)
    return results
