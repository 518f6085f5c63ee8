"""The end of a training run: test its best checkpoint, score the calibration split, write the run folder.

Shared by ``python -m almlit.train`` and the members of a stacked run (:mod:`almlit.stacking`), so both leave the
same files (:mod:`almlit.runs.folder`, :mod:`almlit.report.decision_files`, :mod:`almlit.plots.roc`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import lightning as L
from omegaconf import DictConfig

from almlit.data.loaders import TensorDataModule
from almlit.decision.operating_points import load_operating_points
from almlit.errors import out_of_memory_advice
from almlit.module import ALMClassifier
from almlit.plots.roc import write_roc_figures
from almlit.report.decision_files import operating_point_lines, write_decision_files
from almlit.runs.folder import OPERATING_POINTS_FILE, write_run_folder
from almlit.runs.identity import seeds
from almlit.runs.trackers import log_run_folder


class FitOutcome(NamedTuple):
    """What training left for the test: the best checkpoint (by the monitored metric, Lightning's float32 score),
    the epochs trained, the training seconds and mu at the end."""

    best_checkpoint: str
    best_score: float
    epochs_trained: int
    train_seconds: float
    final_penalty: float


def test_and_write(
    cfg: DictConfig,
    run_dir: Path,
    resolved: dict[str, Any],
    trainer: L.Trainer,
    module: ALMClassifier,
    datamodule: TensorDataModule,
    fitted: FitOutcome,
) -> dict[str, Any]:
    """Test the best checkpoint, score the calibration split with it, write the run folder; returns ``metrics.json``.

    Shared by ``almlit.train`` and the members of a stacked run (:mod:`almlit.stacking`).
    """
    with out_of_memory_advice("test", {"eval_batch_size": datamodule.eval_batch_size}):
        trainer.test(module, datamodule=datamodule, ckpt_path=fitted.best_checkpoint, verbose=False)
        # the calibration split (or validation), scored by the same best checkpoint: operating points are chosen on it
        trainer.predict(module, datamodule=datamodule, ckpt_path=fitted.best_checkpoint, return_predictions=False)
    # float64, as computed: Lightning's logged values (trainer.test's results, best_model_score) are float32
    best_val = module.computed["val"].get(cfg.monitor.removeprefix("val/"), fitted.best_score)
    metrics: dict[str, Any] = {
        "test": module.computed["test"],
        "best_val": {cfg.monitor: best_val},
        "critical_classes": list(datamodule.critical_classes),
        "best_checkpoint": str(Path(fitted.best_checkpoint).relative_to(run_dir.resolve())),
        "epochs_trained": fitted.epochs_trained,
        "train_seconds": round(fitted.train_seconds, 2),
        "final_penalty": fitted.final_penalty,
        "class_counts": {"train": list(datamodule.class_counts)},
        "input_shape": list(datamodule.input_shape),  # of one sample: what almlit.predict and almlit.export accept
        "seeds": seeds(resolved),
    }
    headline = cfg.monitor.removeprefix("val/")
    title = f"{cfg.run_name} (test {headline} {metrics['test'][headline]:.3f})"
    critical_classes = tuple(datamodule.critical_classes)
    tpr_levels = tuple(cfg.metrics.tpr_levels)
    if trainer.is_global_zero:  # every rank holds all test scores (ALMClassifier.on_test_epoch_end)
        metrics["calibration"] = write_decision_files(
            run_dir,
            module.predicted_scores(),
            module.test_scores(),
            critical_classes,
            tpr_levels,
            datamodule.calibration_split,
            cfg.metrics.prevalence,
            cfg.run_name,
        )
        scores, targets, sample_ids = module.test_scores()
        write_roc_figures(run_dir, scores, targets, critical_classes, title, tpr_levels)
        write_run_folder(run_dir, cfg, metrics, (scores, targets, sample_ids))
        log_run_folder(trainer.loggers, run_dir)
    return metrics


def print_summary(metrics: dict[str, Any], run_dir: Path) -> None:
    """What ``almlit.train`` prints at the end of a run (or of a stacked job): the test metrics, the operating points
    and the run folder."""
    test = "  ".join(f"{name}={value:.4f}" for name, value in metrics["test"].items())
    print(f"test: {test}")
    if (run_dir / OPERATING_POINTS_FILE).is_file():
        calibration = metrics["calibration"]
        print(f"operating points chosen on the {calibration['split']} split ({calibration['samples']} images):")
        for line in operating_point_lines(load_operating_points(run_dir)):
            print(f"  {line}")
    print(f"run folder: {run_dir}")
