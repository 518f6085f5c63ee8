"""The Lightning shell of mu's growth rule (:class:`~almlit.alm.penalty.PenaltyGrowth`): it runs the rule at every
training epoch end on the module's mu and saves the rule's memory in checkpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import lightning as L

from almlit.alm.penalty import PenaltyGrowth

if TYPE_CHECKING:
    from almlit.module import ALMClassifier


class PenaltySchedule(L.Callback):
    """Grows the ALM module's ``penalty`` buffer (mu) by :class:`~almlit.alm.penalty.PenaltyGrowth` on the monitored
    validation metric, and logs it as ``alm/mu``.

    In a DDP run the monitored metric is the whole validation set's on every process (the metric states are
    synchronised when computed), so every process takes the same decision and mu stays equal.

    Args:
        monitor: the validation metric logged by the module.
        rule: the rule's settings, ``alm.schedule.*`` (``growth``, ``rule``, ``max_penalty``, ``drop_tolerance``,
            ``metric_ceiling``; see :class:`~almlit.alm.penalty.PenaltyGrowth`).
    """

    def __init__(self, monitor: str = "val/auc", **rule: Any) -> None:
        self.growth_rule = PenaltyGrowth(**rule)
        self.monitor = monitor

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        module = cast("ALMClassifier", pl_module)  # mu is the ALM module's buffer, mu0 its penalty_init
        self.update(module, float(value))
        module.log("alm/mu", module.penalty, on_epoch=True)

    def update(self, module: ALMClassifier, metric: float) -> None:
        """One epoch's decision on the validation ``metric``: grow the module's mu or not (a stacked run calls it for
        each member, :mod:`almlit.stacking`)."""
        self.growth_rule.step_(module.penalty, module.penalty_init, metric)

    def state_dict(self) -> dict[str, Any]:
        return self.growth_rule.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.growth_rule.load_state_dict(state_dict)
