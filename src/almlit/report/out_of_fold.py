"""Out-of-fold scores of a K-fold ensemble (``python -m almlit.ensemble ... data.folds=K members=folds``).

Member k trained on every fold but k and validated on fold k (:mod:`almlit.data.folds`), so its scores on fold k
come from images it never trained on. Concatenated over the K members they give one such score per image of the
training pool (every non-test image), the usual estimate of how the setting generalises when a cohort is too small
for one validation split (Hastie, Tibshirani and Friedman, "The Elements of Statistical Learning", section 7.10).
The scores come from each member's best checkpoint, the one its test scores come from; that checkpoint was chosen
on the same held-out fold (``monitor``), so out-of-fold metrics lean optimistic and the test split stays the
unbiased estimate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from almlit.alm.constraints import positive_scores
from almlit.models.library import load_into, read_weights
from almlit.report.ensemble_metrics import MetricSpec, score_metrics
from almlit.runs.atomic_files import write_atomically
from almlit.runs.folder import write_scores
from almlit.runs.reader import RunScores, read_config, read_metrics

OUT_OF_FOLD_SCORES_FILE = "out_of_fold_scores.csv"
OUT_OF_FOLD_FILE = "out_of_fold.json"


def concatenate_folds(folds: Sequence[RunScores]) -> RunScores:
    """The scores of the K held-out folds as one set, rows sorted by sample id.

    Raises:
        ValueError: when there is no fold, or a sample is scored in two folds (the folds were drawn differently).
    """
    if not folds:
        raise ValueError("out-of-fold scores need at least one fold, got 0")
    sample_ids = np.concatenate([fold.sample_ids for fold in folds])
    unique, counts = np.unique(sample_ids, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"sample {unique[counts > 1][0]} is held out in {counts.max()} folds: the members' folds differ "
            "(they must share data.folds and data.split_seed)"
        )
    order = np.argsort(sample_ids, kind="stable")
    labels = np.concatenate([fold.labels for fold in folds])
    scores = np.concatenate([fold.scores for fold in folds])
    return RunScores(sample_ids[order], labels[order], scores[order])


@torch.no_grad()
def held_out_scores(run_dir: Path, split: str = "validation", device: str | None = None) -> RunScores:
    """The scores of a finished run's best checkpoint on its validation split (its held-out fold) or, with
    ``split="test"``, on its test split (the scores of its ``test_scores.csv``).

    The run's data and network are built from its ``config.yaml``; the batches pass through the data module's
    evaluation transform (``on_after_batch_transfer`` without a trainer: normalisation, no augmentation), and the
    scores are those the run's test scores are made of (binary: the critical-class logit ``[N]``; else ``[N, C]``).

    Raises:
        FileNotFoundError: if the run folder has no ``metrics.json`` or best checkpoint.
        ValueError: if the checkpoint's network does not fit the network of the run's config.
    """
    run_dir = Path(run_dir)
    config = OmegaConf.create(read_config(run_dir))
    checkpoint_path = run_dir / read_metrics(run_dir)["best_checkpoint"]
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    datamodule = instantiate(config.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    network = instantiate(config.model)
    load_into(network, read_weights(checkpoint_path), checkpoint_path)
    network.to(device).eval()
    binary = int(config.get("num_classes", 2)) == 2
    records = []
    loader = datamodule.test_dataloader() if split == "test" else datamodule.val_dataloader()
    for batch in loader:
        images, labels, sample_ids = datamodule.on_after_batch_transfer(
            tuple(part.to(device) for part in batch), dataloader_idx=0
        )
        outputs = network(images).double()
        scores = positive_scores(outputs) if binary else outputs
        records.append((sample_ids.cpu().numpy(), labels.cpu().numpy(), scores.cpu().numpy()))
    sample_ids, labels, scores = (np.concatenate(parts) for parts in zip(*records, strict=True))
    order = np.argsort(sample_ids, kind="stable")
    return RunScores(sample_ids[order].astype(np.int64), labels[order].astype(np.int64), scores[order])


def write_out_of_fold_report(ensemble_dir: Path, member_dirs: Sequence[Path]) -> dict[str, Any]:
    """Score every member on its held-out fold and write ``out_of_fold_scores.csv`` and ``out_of_fold.json``.

    Returns:
        ``{"folds": K, "samples": N, "class_counts": [...], "metrics": {"auc": ..., "fpr@95tpr": ..., ...}}``, the
        metrics computed as a run's test metrics are (:func:`almlit.report.ensemble_metrics.score_metrics`).

    Raises:
        ValueError: from :func:`concatenate_folds`.
    """
    ensemble_dir = Path(ensemble_dir)
    combined = concatenate_folds([held_out_scores(path) for path in member_dirs])
    spec = MetricSpec.from_run(read_config(member_dirs[0]), read_metrics(member_dirs[0]))
    write_scores(
        ensemble_dir / OUT_OF_FOLD_SCORES_FILE,
        torch.as_tensor(combined.scores),
        torch.as_tensor(combined.labels),
        torch.as_tensor(combined.sample_ids),
    )
    summary = {
        "folds": len(member_dirs),
        "samples": len(combined.sample_ids),
        "class_counts": np.bincount(combined.labels, minlength=spec.num_classes).tolist(),
        "metrics": score_metrics(combined.scores, combined.labels, spec),
    }
    write_atomically(ensemble_dir / OUT_OF_FOLD_FILE, json.dumps(summary, indent=2) + "\n")
    return summary


def out_of_fold_line(summary: dict[str, Any]) -> str:
    """``out-of-fold (N images, K folds): auc=0.9876 fpr@95tpr=0.0123 ...`` from :func:`write_out_of_fold_report`."""
    values = " ".join(f"{name}={value:.4f}" for name, value in summary["metrics"].items())
    return f"out-of-fold ({summary['samples']} images, {summary['folds']} folds): {values}"
