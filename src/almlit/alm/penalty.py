"""The growth rule of the penalty coefficient mu and its cap: when ``mu <- rho * mu`` happens (Sangalli et al. 2021,
Algorithm 1, and the authors' code).

Cooper's split of state and policy: mu itself is the ``penalty`` buffer of :class:`almlit.module.ALMClassifier`,
beside the multipliers' bank (:class:`~almlit.alm.bank.MultiplierBank`), so both live in every checkpoint;
:class:`PenaltyGrowth` is the rule that changes it, with the memory the rule needs (saved through
:class:`almlit.callbacks.PenaltySchedule`, its Lightning shell).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

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


class PenaltyGrowth:
    """Grows mu by ``growth`` (rho) at an epoch end on the chosen rule, up to a cap.

    Once the cap is reached, or the validation metric reaches its maximum (1.0 for AUC), mu stays fixed. The rule's
    memory (epochs seen, the last metric, whether mu is frozen) is :meth:`state_dict`, so a resumed run grows mu
    exactly as an uninterrupted one.

    Args:
        growth: rho > 1 (paper grid {2, 3}).
        rule: ``"official"`` (default, the authors' code) or ``"paper"`` (Algorithm 1).
        max_penalty: mu_max; ``None`` derives it from mu0 as the authors' code does (:func:`default_penalty_cap`).
        drop_tolerance: the fall of the metric that triggers growth under the official rule.
        metric_ceiling: the metric's best possible value; reaching it freezes mu.

    Raises:
        ValueError: ``growth <= 1`` or an unknown ``rule``, naming the ``alm.schedule`` key.
    """

    def __init__(
        self,
        growth: float = 2.0,
        rule: str = "official",
        max_penalty: float | None = None,
        drop_tolerance: float = 0.05,
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
        self.metric_ceiling = metric_ceiling
        self.epochs_seen = 0
        self.previous_metric: float | None = None
        self.frozen = False

    def cap(self, initial_penalty: float) -> float:
        """mu_max: ``max_penalty``, or the authors' cap for ``initial_penalty`` (mu0)."""
        if self.max_penalty is not None:
            return float(self.max_penalty)
        return default_penalty_cap(initial_penalty, self.growth)

    def step_(self, penalty: Tensor, initial_penalty: float, metric: float) -> None:
        """At the end of an epoch whose validation metric is ``metric``: grow ``penalty`` (mu, a scalar tensor) in
        place when the rule says so, never above the cap for ``initial_penalty`` (mu0)."""
        self.epochs_seen += 1
        cap = self.cap(initial_penalty)
        grow = should_grow(self.rule, self.epochs_seen, metric, self.previous_metric, self.drop_tolerance)
        if grow and not self.frozen:
            with torch.no_grad():
                penalty.mul_(self.growth).clamp_(max=cap)
        self.frozen = self.frozen or float(penalty) >= cap or metric >= self.metric_ceiling
        self.previous_metric = metric

    def state_dict(self) -> dict[str, Any]:
        return {"epochs_seen": self.epochs_seen, "previous_metric": self.previous_metric, "frozen": self.frozen}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.epochs_seen = state_dict["epochs_seen"]
        self.previous_metric = state_dict["previous_metric"]
        self.frozen = state_dict["frozen"]
