"""Pure per-member decisions of a stacked run, as Lightning's callbacks take them for a run trained alone."""

from __future__ import annotations

import math

import torch


def as_logged(value: float) -> float:
    """``value`` as Lightning's callbacks see a logged metric: rounded to float32 (``trainer.callback_metrics``)."""
    return float(torch.tensor(value, dtype=torch.float32))


def checkpoint_improves(current: float, best: float | None, mode: str) -> bool:
    """Whether ``ModelCheckpoint(save_top_k=1, mode=mode)`` replaces its best checkpoint with this epoch's.

    The first epoch is always kept; a NaN counts as the worst value; a tie keeps the older checkpoint (Lightning
    compares with ``torch.gt`` for ``max``, ``torch.lt`` for ``min``).

    Raises:
        ValueError: if ``mode`` is neither ``"max"`` nor ``"min"``.
    """
    if mode not in ("max", "min"):
        raise ValueError(f"callbacks.model_checkpoint.mode must be max or min, got {mode!r}")
    if best is None:
        return True
    if math.isnan(current):
        current = -math.inf if mode == "max" else math.inf
    return current > best if mode == "max" else current < best
