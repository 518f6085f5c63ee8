"""``python -m almlit.predict <run or ensemble folder> [data.<key>=<value> ...] [--prevalence P] [--output DIR]``.

Applies a finished run (or ensemble: the mean of its members' logits, as the ensemble report averages them) to data
of the kind it was trained on: its saved data configuration, with ``data.*`` overrides saying where and how to read
the new data, through the same DataModule (so the same normalisation, without augmentation). What is predicted is
the DataModule's ``inference_dataset``: the test images of digits and CIFAR-layout files, the test cohort of an MRI
manifest with a ``cohort`` column or every subject of one without it (the ``label`` column may then be missing).
Batched on the GPU when there is one, with a progress bar. Writes into ``--output`` (default
``<folder>/predictions``):

* ``predictions.csv``: ``sample_id`` (MRI: and ``subject_id``), ``label`` when known, ``logit`` (multi-class:
  ``score_0 ..``), and with the folder's ``operating_points.json``, the calibrated ``probability`` and one 0/1
  ``decision@<t>tpr`` per operating point (decision rule ``logit >= threshold``);
* ``prediction.json``: what was predicted with what, and, when every sample is labelled, the TPR and FPR at the
  frozen thresholds with exact intervals and the paper's (oracle) metrics.

Examples:
    python -m almlit.predict outputs/runs/digits_bce_binary_imb100_seed0
    python -m almlit.predict outputs/runs/<run> data.root=/new/images
    python -m almlit.predict outputs/ensembles/<ens> data=mri data.root=/hospital/new_cohort --prevalence 0.02
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from almlit.decision import load_operating_points
from almlit.decision.calibration import check_prevalence
from almlit.deploy.data import apply_data_overrides, check_input_shape, known_labels, prediction_data
from almlit.deploy.decisions import decision_columns, frozen_threshold_metrics, predictions_csv
from almlit.deploy.scoring import score_data
from almlit.deploy.trained import load_mean_logit, read_trained_model
from almlit.errors import one_line_errors
from almlit.report.ensemble_metrics import MetricSpec, score_metrics
from almlit.runs.atomic_files import write_atomically
from almlit.runs.folder import OPERATING_POINTS_FILE

PREDICTIONS_FILE = "predictions.csv"
SUMMARY_FILE = "prediction.json"


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m almlit.predict", description="Apply a finished run or ensemble to data of its kind."
    )
    parser.add_argument("folder", type=Path, help="a finished run folder or an ensemble folder")
    parser.add_argument("overrides", nargs="*", help="data.<key>=<value> (where and how to read the data), data=<kind>")
    parser.add_argument("--prevalence", type=float, default=None, help="deployment share of positives in (0, 1)")
    parser.add_argument(
        "--output", type=Path, default=None, help="folder for the outputs (default <folder>/predictions)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def labelled_metrics(logits, labels, document, prevalence, spec: MetricSpec) -> dict[str, Any]:
    """The paper's metrics (thresholds chosen on this data: an oracle) and the rates at the frozen thresholds."""
    metrics: dict[str, Any] = {}
    classes_present = len(set(labels.tolist())) > 1
    if classes_present:
        metrics["oracle"] = score_metrics(logits, labels, spec)
    if document is not None and classes_present:
        metrics["operating_points"] = frozen_threshold_metrics(logits, labels, document, prevalence)
    return metrics


def predict(
    folder: Path,
    overrides: Sequence[str] = (),
    prevalence: float | None = None,
    output: Path | None = None,
    progress_bar: bool = True,
) -> dict[str, Any]:
    """Predict with the model of ``folder`` and write ``predictions.csv`` and ``prediction.json`` into ``output``.

    Returns:
        The content of ``prediction.json``.

    Raises:
        FileNotFoundError: no finished run or ensemble at ``folder``, missing data files.
        ValueError: bad overrides, data that does not fit the networks, a prevalence outside (0, 1).
    """
    check_prevalence(prevalence)
    model = read_trained_model(folder)
    document = load_operating_points(folder) if (folder / OPERATING_POINTS_FILE).is_file() else None
    config = apply_data_overrides(model.config, overrides)
    datamodule = prediction_data(config)
    dataset = datamodule.inference_dataset
    check_input_shape(dataset.images.shape[1:], model.input_shape, config["model"].get("in_channels"))
    scores = score_data(load_mean_logit(model), datamodule, progress_bar)
    labelled = known_labels(scores.labels)
    logits = scores.logits
    output = Path(output) if output is not None else folder / "predictions"
    output.mkdir(parents=True, exist_ok=True)
    columns = decision_columns(logits, document, prevalence)
    labels = scores.labels if labelled else None
    table = predictions_csv(scores.sample_ids, datamodule.inference_columns(), labels, logits, columns)
    summary: dict[str, Any] = {
        "model": str(folder),
        "members": [str(member) for member in model.members],
        "overrides": list(overrides),
        "samples": int(len(scores.sample_ids)),
        "labelled": labelled,
        "prevalence": prevalence if prevalence is not None else (document or {}).get("prevalence"),
        "operating_points": str(folder / OPERATING_POINTS_FILE) if document is not None else None,
        "predictions": str(output / PREDICTIONS_FILE),
    }
    if labelled:
        spec = MetricSpec.from_run(model.config, model.metrics[0])
        summary["metrics"] = labelled_metrics(logits, scores.labels, document, prevalence, spec)
    write_atomically(output / PREDICTIONS_FILE, table)
    write_atomically(output / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    return summary


def interval(values: Sequence[float]) -> str:
    return f"[{100 * values[0]:.1f}, {100 * values[1]:.1f}]"


def describe(summary: dict[str, Any]) -> str:
    """What the command prints: what was predicted, and the metrics at the frozen thresholds when labelled."""
    networks = len(summary["members"])
    lines = [f"predicted {summary['samples']} samples with {summary['model']} ({networks} network(s))"]
    if summary["operating_points"] is None:
        lines.append(f"no {OPERATING_POINTS_FILE} in the folder: logits only, no probabilities or decisions")
    metrics = summary.get("metrics", {})
    if "oracle" in metrics:
        oracle = "  ".join(f"{name}={value:.4f}" for name, value in metrics["oracle"].items())
        lines.append(f"paper's metrics (thresholds chosen on this data, an oracle): {oracle}")
    for point in metrics.get("operating_points", []):
        where = f"class {point['class']} " if "class" in point else ""
        certified = "certified" if point["certified"] else "not certified"
        line = (
            f"{where}target TPR {100 * point['target_tpr']:g}% (threshold {point['threshold']:.4f}, {certified}): "
            f"TPR {100 * point['tpr']:.1f}% {interval(point['tpr_ci'])}, FPR {100 * point['fpr']:.1f}% "
            f"{interval(point['fpr_ci'])} on {point['positives']} positives, {point['negatives']} negatives"
        )
        if point.get("ppv") is not None:
            line += f"; PPV {100 * point['ppv']:.1f}%, {point['false_alarms_per_1000']:.0f} false alarms per 1000"
        lines.append(line)
    lines.append(f"predictions: {summary['predictions']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    with one_line_errors():
        summary = predict(
            arguments.folder, arguments.overrides, arguments.prevalence, arguments.output, not arguments.no_progress
        )
    print(describe(summary))


if __name__ == "__main__":
    main()
