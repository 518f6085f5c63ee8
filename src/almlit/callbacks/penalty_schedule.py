"""Policy of the penalty coefficient mu: when ``mu <- rho * mu`` happens (state lives on the module)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

import lightning as L
import torch

if TYPE_CHECKING:
    from almlit.module import ALMClassifier

RULES = ("official", "paper")


def default_penalty_cap(initial_penalty: float, growth: float) -> float:
    """mu_max of the authors' code: ``mu0 * rho^5`` when ``mu0 < 1e-3``, else ``mu0 * rho^3``."""
    return initial_penalty * growth ** (5 if initial_penalty < 1e-3 else 3)


def should_grow(rule: str, epochs_seen: int, metric: float, previous: float | None, drop_tolerance: float) -> bool:
    """Whether mu grows at the end of the ``epochs_seen``-th epoch (1-based), before the cap.

    ``official`` (the authors' code): never after the first epoch, unconditionally after the second,
    then only when the validation metric fell by more than ``drop_tolerance`` against the previous epoch.
    ``paper`` (Algorithm 1): whenever the metric is lower than the previous epoch's.
    """
    if previous is None or math.isnan(metric) or math.isnan(previous):
        return False
    if rule == "official":
        return epochs_seen == 2 or previous - metric > drop_tolerance
    return metric < previous


class PenaltySchedule(L.Callback):
    """Grows the module's ``penalty`` buffer (mu) by ``growth`` (rho) on the chosen rule, up to a cap.

    Once the cap is reached, or the validation metric reaches its maximum (1.0 for AUC), mu stays fixed.
    The memory of the last metric is saved in checkpoints, so a resumed run grows mu exactly as an
    uninterrupted one. In a DDP run the monitored metric is the whole validation set's on every process (the
    metric states are synchronised when computed), so every process takes the same decision and mu stays equal.

    Args:
        growth: rho > 1 (paper grid {2, 3}).
        rule: ``"official"`` (default, the authors' code) or ``"paper"`` (Algorithm 1).
        max_penalty: mu_max; ``None`` derives it from mu0 as the authors' code does.
        drop_tolerance: the fall of the metric that triggers growth under the official rule.
        monitor: the validation metric logged by the module.
        metric_ceiling: the metric's best possible value; reaching it freezes mu.
    """

    def __init__(
        self,
        growth: float = 2.0,
        rule: str = "official",
        max_penalty: float | None = None,
        drop_tolerance: float = 0.05,
        monitor: str = "val/auc",
        metric_ceiling: float = 1.0,
    ) -> None:
        if growth <= 1:
            raise ValueError(f"alm.schedule.growth (rho) must be > 1, got {growth}")
        if rule not in RULES:
            raise ValueError(f"alm.schedule.rule must be one of {RULES}, got {rule!r}")
        self.growth = float(growth)
        self.rule = rule
        self.max_penalty = max_penalty
        self.drop_tolerance = float(drop_tolerance)
        self.monitor = monitor
        self.metric_ceiling = metric_ceiling
        self.epochs_seen = 0
        self.previous_metric: float | None = None
        self.frozen = False

    def cap(self, pl_module: L.LightningModule) -> float:
        if self.max_penalty is not None:
            return float(self.max_penalty)
        hparams: Any = pl_module.hparams  # Lightning's AttributeDict: the module's arguments by attribute
        return default_penalty_cap(float(hparams.penalty_init), self.growth)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        module = cast("ALMClassifier", pl_module)  # mu is the ALM module's buffer
        self.update(module, float(value))
        module.log("alm/mu", module.penalty, on_epoch=True)

    def update(self, module: ALMClassifier, metric: float) -> None:
        """One epoch's decision on the validation ``metric``: grow the module's mu or not (a stacked run calls it for
        each member, :mod:`almlit.stacking`)."""
        self.epochs_seen += 1
        cap = self.cap(module)
        grow = should_grow(self.rule, self.epochs_seen, metric, self.previous_metric, self.drop_tolerance)
        if grow and not self.frozen:
            with torch.no_grad():
                module.penalty.mul_(self.growth).clamp_(max=cap)
        self.frozen = self.frozen or float(module.penalty) >= cap or metric >= self.metric_ceiling
        self.previous_metric = metric

    def state_dict(self) -> dict[str, Any]:
        return {"epochs_seen": self.epochs_seen, "previous_metric": self.previous_metric, "frozen": self.frozen}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.epochs_seen = state_dict["epochs_seen"]
        self.previous_metric = state_dict["previous_metric"]
        self.frozen = state_dict["frozen"]
