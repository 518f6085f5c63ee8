"""Fabricated run folders: the files almlit.train writes, with chosen contents."""

import json
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf


def binary_config(seed: int = 0, margin: float = 0.25, penalty: float = 1e-3, growth: float = 2.0, **extra) -> dict:
    """A resolved run config reduced to the keys reports and selection read."""
    return {
        "seed": seed,
        "imb": 100,
        "num_classes": 2,
        "monitor": "val/auc",
        "metrics": {"tpr_levels": [0.98, 0.95, 0.92, 0.9], "false_negatives": [0, 1]},
        "data": {"_target_": "almlit.data.BinaryDigits", "split_seed": seed, "seed": seed},
        "loss": {"_target_": "almlit.losses.BCELoss"},
        "alm": {"constraint": {"margin": margin}, "penalty_init": penalty, "schedule": {"growth": growth}},
        **extra,
    }


def write_scored_run(
    run_dir: Path,
    config: dict,
    scores: np.ndarray,
    labels: np.ndarray,
    sample_ids: np.ndarray | None = None,
    best_val: float = 0.5,
    overrides: list[str] | None = None,
) -> Path:
    """A finished run folder: config.yaml, test_scores.csv, metrics.json, given overrides .hydra/overrides.yaml, and
    last, the COMPLETE marker."""
    run_dir.mkdir(parents=True, exist_ok=True)
    config = {**config, "paths": {"output_dir": str(run_dir.resolve())}}
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(config)))
    sample_ids = np.arange(len(labels)) if sample_ids is None else sample_ids
    scores = np.asarray(scores, dtype=np.float64)
    columns = ["score"] if scores.ndim == 1 else [f"score_{index}" for index in range(scores.shape[1])]
    lines = [",".join(["sample_id", "label", *columns])]
    for sample_id, label, row in zip(sample_ids, labels, scores.reshape(len(labels), -1), strict=True):
        lines.append(",".join([str(int(sample_id)), str(int(label)), *map(repr, row.tolist())]))
    (run_dir / "test_scores.csv").write_text("\n".join(lines) + "\n")
    if overrides is not None:
        (run_dir / ".hydra").mkdir(exist_ok=True)
        (run_dir / ".hydra" / "overrides.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(overrides)))
    metrics = {"best_val": {config["monitor"]: best_val}, "test": {}}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    (run_dir / "COMPLETE").write_text("2026-01-01T00:00:00+00:00\n")
    return run_dir
