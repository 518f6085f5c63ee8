"""The decision files of a run folder or ensemble report: ``calibration_scores.csv``, ``operating_points.json`` and
(binary) ``reliability.png``.

The operating points are chosen on the calibration scores (the calibration split, or the validation split when none is
held out) and evaluated on the test scores at the frozen thresholds; see :mod:`almlit.decision.operating_points` for
the file format. The run's paper metrics (FPR@TPR with the threshold chosen on the test set itself) are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from scipy import special
from torch import Tensor

from almlit.decision.calibration import (
    calibrated_probability,
    check_prevalence,
    expected_calibration_error,
    save_reliability_diagram,
)
from almlit.decision.operating_points import binary_operating_points, multiclass_operating_points, operating_points_json
from almlit.decision.thresholds import DEFAULT_CONFIDENCE
from almlit.report.ensemble_metrics import average_logits, stack_members
from almlit.runs.atomic_files import write_atomically
from almlit.runs.folder import OPERATING_POINTS_FILE, write_scores
from almlit.runs.reader import RunScores, read_scores

CALIBRATION_SCORES_FILE = "calibration_scores.csv"
RELIABILITY_FILE = "reliability.png"


def write_decision_files(
    folder: Path,
    calibration_scores: tuple[Tensor, Tensor, Tensor],
    test_scores: tuple[Tensor, Tensor, Tensor],
    critical_classes: Sequence[int],
    tpr_levels: Sequence[float],
    calibration_split: str,
    prevalence: float | None = None,
    title: str = "",
) -> dict[str, Any]:
    """Write the calibration scores, the operating points and (binary) the reliability diagram into ``folder``.

    Args:
        folder: a run folder or an ensemble folder.
        calibration_scores: ``(scores, targets, sample_ids)`` of the calibration images: scores ``[N]`` (binary
            logits) or ``[N, C]``.
        test_scores: the same for the test images.
        critical_classes: the critical classes (binary: ``(1,)``).
        tpr_levels: the target TPRs (``metrics.tpr_levels``).
        calibration_split: ``"calibration"`` or ``"validation"``, recorded in the files.
        prevalence: deployment share of positives (``metrics.prevalence``), or None.
        title: the reliability diagram's title.

    Returns:
        What goes into ``metrics.json`` under ``"calibration"``: the split, its class counts and, binary, the test ECE
        of the sigmoid of the logit and of the Platt-calibrated probability; ``"operating_points"`` says why there is
        no file when the calibration split cannot give one (no positive or no negative).
    """
    scores, targets, sample_ids = calibration_scores
    write_scores(folder / CALIBRATION_SCORES_FILE, scores, targets, sample_ids)
    test, test_targets = test_scores[0].numpy(), test_scores[1].numpy()
    summary: dict[str, Any] = {"split": calibration_split, "samples": len(targets)}
    check_prevalence(prevalence)
    try:
        if scores.dim() == 1:
            document = binary_operating_points(
                scores.numpy(),
                targets.numpy(),
                tpr_levels,
                DEFAULT_CONFIDENCE,
                test,
                test_targets,
                prevalence,
                calibration_split,
            )
        else:
            document = multiclass_operating_points(
                scores.numpy(),
                targets.numpy(),
                critical_classes,
                tpr_levels,
                DEFAULT_CONFIDENCE,
                test,
                test_targets,
                calibration_split,
            )
    except ValueError as error:  # a calibration split too small for a threshold must not fail a finished run
        summary["operating_points"] = f"not written: {error}"
        print(f"{folder / OPERATING_POINTS_FILE} not written: {error}", flush=True)
        return summary
    write_atomically(folder / OPERATING_POINTS_FILE, operating_points_json(document))
    if scores.dim() == 1:
        calibration = document["calibration"]
        summary.update(positives=calibration["positives"], negatives=calibration["negatives"])
        raw = special.expit(test)
        platt = calibrated_probability(test, calibration)
        summary["test_ece_sigmoid"] = expected_calibration_error(raw, test_targets)
        summary["test_ece_platt"] = expected_calibration_error(platt, test_targets)
        curves = {
            "sigmoid of the logit": (raw, test_targets),
            f"Platt ({calibration_split} split)": (platt, test_targets),
        }
        save_reliability_diagram(curves, folder / RELIABILITY_FILE, f"{title}: test set" if title else "test set")
    return summary


def write_ensemble_decision_files(
    ensemble_dir: Path,
    member_dirs: Sequence[Path],
    member_metrics: Sequence[dict[str, Any]],
    test: RunScores,
    critical_classes: Sequence[int],
    tpr_levels: Sequence[float],
    prevalence: float | None,
    title: str,
) -> dict[str, Any]:
    """The decision files of an ensemble, from its members' calibration scores averaged like their test logits.

    An ensemble's thresholds must come from images that no member trained or early-stopped on. Each member's
    validation split is drawn with its own seed (one member's validation images are another's training images), so
    only a calibration split held out with the fixed :data:`~almlit.data.imbalance.CALIBRATION_SPLIT_SEED`
    (``data.calibration_per_class``, MRI ``data.calibration_fraction``) qualifies; otherwise no file is written and
    the returned summary says why.

    Args:
        ensemble_dir: the ensemble folder.
        member_dirs: the member run folders.
        member_metrics: their ``metrics.json``.
        test: the ensemble's test scores (averaged logits), labels and sample ids.
        critical_classes: the critical classes.
        tpr_levels: the target TPRs.
        prevalence: deployment share of positives, or None.
        title: the reliability diagram's title.

    Returns:
        What goes into ``ensemble.json`` under ``"calibration"``.

    Raises:
        ValueError: if the members were calibrated on different images.
    """
    splits = {metrics.get("calibration", {}).get("split") for metrics in member_metrics}
    reason = None
    if None in splits:
        reason = "no operating_points.json: a member has no calibration scores (trained before almlit wrote them)"
    elif len(member_dirs) > 1 and splits != {"calibration"}:
        reason = (
            "no operating_points.json: the members hold no calibration split fixed across seeds (each one's "
            "validation split is another member's training data); train them with data.calibration_per_class=N "
            "(MRI: data.calibration_fraction=F)"
        )
    if reason is not None:
        print(reason, flush=True)
        return {"split": sorted(str(split) for split in splits), "operating_points": reason}
    stacked = stack_members([read_scores(path / CALIBRATION_SCORES_FILE) for path in member_dirs])
    scores = torch.as_tensor(average_logits(stacked.scores))
    calibration = (scores, torch.as_tensor(stacked.labels), torch.as_tensor(stacked.sample_ids))
    test_scores = (torch.as_tensor(test.scores), torch.as_tensor(test.labels), torch.as_tensor(test.sample_ids))
    split = splits.pop()
    return write_decision_files(
        ensemble_dir, calibration, test_scores, critical_classes, tpr_levels, split, prevalence, title
    )


def operating_point_lines(document: dict[str, Any]) -> list[str]:
    """One line per operating point: the frozen threshold, whether it is certified, and its test TPR and FPR
    (multi-class: per critical class, prefixed ``class c``)."""
    groups = [("", document.get("operating_points", []))]
    groups += [(f"class {entry['class']} ", entry["operating_points"]) for entry in document.get("classes", [])]
    lines = []
    for prefix, points in groups:
        for point in points:
            needed = point["positives_needed"]
            status = "certified" if point["certified"] else f"not certified (needs {needed} positives)"
            line = f"{prefix}TPR {point['target_tpr']:.2f}: threshold {point['threshold']:.3f}, {status}"
            if "test" in point:
                test = point["test"]
                line += (
                    f"; test TPR {test['tpr']:.3f} [{test['tpr_ci'][0]:.3f}, {test['tpr_ci'][1]:.3f}]"
                    f" FPR {test['fpr']:.3f} [{test['fpr_ci'][0]:.3f}, {test['fpr_ci'][1]:.3f}]"
                )
            lines.append(line)
    return lines
