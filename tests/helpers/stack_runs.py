"""Helpers of the stacking tests: member configs composed as ``almlit.ensemble`` composes them, trained alone
in-process with ``almlit.train.run`` (the existing code path) or as one stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from almlit.report.ensemble_members import compose_member, resolve_member
from almlit.runs.folder import SCORES_FILE
from almlit.runs.reader import read_scores
from almlit.train import run

# digits, a small CNN, few epochs, a short patience and a high learning rate: members stop at different epochs
TINY = [
    "model.width=4",
    "trainer.max_epochs=6",
    "callbacks.early_stopping.patience=1",
    "optim.lr=0.05",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "logger=csv",
]

# A member trained in a stack against the same member trained alone: batched (or differently ordered) kernels add
# up in another order; measured at most 7.6e-6 on test logits and 7.7e-7 on multipliers, allowed about five times that.
SCORE_TOLERANCE = 5e-5
MULTIPLIER_TOLERANCE = 5e-6


def member_config(overrides: list[str], seed: int, run_dir: Path) -> dict[str, Any]:
    """The resolved config of the member ``seed`` trained in ``run_dir``."""
    return resolve_member(compose_member([*TINY, *overrides], seed=seed), run_dir)


def train_alone(config: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """``almlit.train``'s run of one config (its ``metrics.json``)."""
    metrics = run(OmegaConf.create(config), run_dir)
    assert metrics is not None
    return metrics


def best_state(run_dir: Path, metrics: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The state dict of a run folder's best checkpoint."""
    return torch.load(run_dir / metrics["best_checkpoint"], map_location="cpu", weights_only=False)["state_dict"]


def saved_test_scores(run_dir: Path) -> torch.Tensor:
    """A run folder's test scores (float64)."""
    return torch.as_tensor(read_scores(run_dir / SCORES_FILE).scores)
