"""Learning-rate schedules chosen by the config (``scheduler:``)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def warmup_step_factor(epoch: int, warmup_epochs: int, milestones: Sequence[int], factors: Sequence[float]) -> float:
    """Multiplier of the base learning rate at 0-based ``epoch``.

    Linear warm-up ``(epoch + 1) / warmup_epochs`` for the first ``warmup_epochs`` epochs, then 1, then
    ``factors[i]`` from epoch ``milestones[i]`` on (LDAM-DRW, Cao et al. 2019: x0.01 at 160, x0.0001 at 180).
    """
    if epoch < warmup_epochs:
        return (epoch + 1) / warmup_epochs
    factor = 1.0
    for milestone, milestone_factor in zip(milestones, factors, strict=True):
        if epoch >= milestone:
            factor = milestone_factor
    return factor


def warmup_step_schedule(
    optimizer: Optimizer,
    warmup_epochs: int = 5,
    milestones: Sequence[int] = (160, 180),
    factors: Sequence[float] = (0.01, 0.0001),
) -> LambdaLR:
    """An epoch-wise ``LambdaLR`` following :func:`warmup_step_factor`."""
    if warmup_epochs < 0:
        raise ValueError(f"scheduler.warmup_epochs must be >= 0, got {warmup_epochs}")
    if len(milestones) != len(factors) or list(milestones) != sorted(milestones):
        raise ValueError(
            "scheduler.milestones must be increasing and as many as scheduler.factors, "
            f"got milestones {list(milestones)} and factors {list(factors)}"
        )
    factor = functools.partial(
        warmup_step_factor, warmup_epochs=warmup_epochs, milestones=tuple(milestones), factors=tuple(factors)
    )
    return LambdaLR(optimizer, factor)
