"""PESG: proximal epoch stochastic gradient descent-ascent for min-max losses such as AUCM.

Yuan, Yan, Sonka and Yang (ICCV 2021, "Large-scale Robust Deep AUC Maximization"), after Guo et al.
(ICML 2020, "Communication-efficient distributed stochastic AUC maximization with deep neural networks"), as in
LibAUC's ``PESG``. For the primal variables v (network weights, AUCM's a and b) and the dual ones alpha:

    v     <- v - eta (grad_v F + lambda_0 (v - v_ref) + lambda v)     (with heavy-ball momentum when momentum > 0)
    alpha <- max(0, alpha + eta grad_alpha F)

lambda_0 (``epoch_decay``) pulls v toward the reference point v_ref: the parameters at the first step, then the
parameters at each :meth:`PESG.update_regularizer` call, which starts a new stage (:class:`almlit.optim.PESGStages`
calls it at chosen epochs). lambda is the usual weight decay. The reference point is per-parameter optimiser
state, so it is saved in checkpoints and a resumed run continues exactly.

Parameter groups marked ``"dual": True`` are the dual ones (see :func:`almlit.optim.parameter_groups`); they get
neither momentum nor decay, as in the paper.

Where LibAUC's ``PESG`` (2.0) differs: it ascends alpha along 2 (m + b - a) - 2 alpha (the gradient of its v2
objective) instead of the autograd gradient of the loss, its momentum is an exponential average of the directions
instead of torch's heavy ball, its first reference point is random and later ones are the stage's mean iterate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor


class PESG(torch.optim.Optimizer):
    """Proximal epoch stochastic gradient: descent on the primal groups, projected ascent on the dual groups.

    Args:
        params: Parameters or parameter groups; a group with ``"dual": True`` is ascended and kept >= 0.
        lr: eta > 0, the step size of both descent and ascent.
        momentum: Heavy-ball momentum of the primal steps, 0 <= momentum < 1.
        weight_decay: lambda >= 0, L2 decay of the primal variables.
        epoch_decay: lambda_0 >= 0, weight of the proximal term toward the stage's reference point.
    """

    ascends_dual_groups = True

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 1e-5,
        epoch_decay: float = 2e-3,
    ) -> None:
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must satisfy 0 <= momentum < 1, got {momentum}")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        if not epoch_decay >= 0:
            raise ValueError(f"epoch_decay must be >= 0, got {epoch_decay}")
        defaults = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "epoch_decay": epoch_decay}
        super().__init__(params, {**defaults, "dual": False})

    @torch.no_grad()
    # torch types the closure as returning a float; Lightning's closure (and ours) returns the loss tensor
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for parameter in group["params"]:
                if parameter.grad is None:
                    continue
                if group["dual"]:
                    parameter.add_(parameter.grad, alpha=group["lr"]).clamp_(min=0)
                else:
                    self._primal_step(parameter, group)
        return loss

    def _primal_step(self, parameter: Tensor, group: dict[str, Any]) -> None:
        state = self.state[parameter]
        if "reference" not in state:
            state["reference"] = parameter.detach().clone()
        assert parameter.grad is not None  # step skips the parameters without a gradient
        direction = parameter.grad.add(parameter - state["reference"], alpha=group["epoch_decay"])
        direction.add_(parameter, alpha=group["weight_decay"])
        if group["momentum"] > 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = direction.clone()
            else:
                state["momentum_buffer"].mul_(group["momentum"]).add_(direction)
            direction = state["momentum_buffer"]
        parameter.add_(direction, alpha=-group["lr"])

    @torch.no_grad()
    def update_regularizer(self, decay_factor: float = 1.0) -> None:
        """Start a new stage: the reference point becomes the current primal parameters; lr is divided by decay_factor.

        Args:
            decay_factor: >= 1; 1 keeps the learning rate.
        """
        if not decay_factor >= 1:
            raise ValueError(f"decay_factor must be >= 1, got {decay_factor}")
        for group in self.param_groups:
            group["lr"] /= decay_factor
            if group["dual"]:
                continue
            for parameter in group["params"]:
                self.state[parameter]["reference"] = parameter.detach().clone()
