"""The optimiser steps of a stack's members: one ``foreach`` SGD step over every member whose SGD settings agree.

A stack steps K optimisers per batch. Plain ``torch.optim.SGD`` optimisers whose parameter groups share their
settings (learning rate, momentum, dampening, weight decay, Nesterov, maximize) are stepped together by torch's
functional SGD (``torch.optim.sgd.sgd``) with ``foreach=True`` over all their parameters: the same operations on
each tensor as each optimiser's own step (SGD's single-tensor and ``foreach`` paths apply the same ``add``, ``mul_``
and ``add_`` to each tensor; on a CPU the ``foreach`` kernels run them tensor by tensor), in one call instead of K.
Any other optimiser (PESG, Adam, an SGD with ``fused=True``, hooks, or a ``step`` wrapped by a learning-rate
scheduler, which counts its calls) takes its own ``step()``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import torch
from torch import Tensor
from torch.optim.sgd import sgd

SGD_SETTINGS = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")


def groupable(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer`` is a plain SGD whose step may be taken by :func:`step_optimizers` with others'.

    Not groupable: another optimiser class (a subclass of SGD too), ``fused`` or ``differentiable`` groups, a
    tensor learning rate, step hooks, or a ``step`` replaced on the instance (a learning-rate scheduler wraps it).
    """
    if type(optimizer) is not torch.optim.SGD or "step" in vars(optimizer):
        return False
    if getattr(optimizer, "_optimizer_step_pre_hooks", None) or getattr(optimizer, "_optimizer_step_post_hooks", None):
        return False
    return all(
        not group["fused"] and not group["differentiable"] and not isinstance(group["lr"], Tensor)
        for group in optimizer.param_groups
    )


def settings_key(group: dict) -> tuple[Hashable, ...]:
    """The SGD settings of a parameter group (groups with equal keys are stepped together)."""
    return tuple(group[name] for name in SGD_SETTINGS)


@torch.no_grad()
def step_optimizers(optimizers: Sequence[torch.optim.Optimizer]) -> None:
    """Step every optimiser of ``optimizers`` once, as ``optimizer.step()`` would.

    The parameter groups of the :func:`groupable` optimisers are gathered by :func:`settings_key`; each gathering
    takes one functional ``foreach`` SGD step over the parameters that have a gradient, and every optimiser keeps its
    own momentum buffers (``state[p]["momentum_buffer"]``, created at its first step as SGD creates them). The others
    call their own ``step()``.
    """
    gathered: dict[tuple[Hashable, ...], tuple[list[Tensor], list[Tensor], list[Tensor | None], list]] = {}
    for optimizer in optimizers:
        if not groupable(optimizer):
            optimizer.step()
            continue
        for group in optimizer.param_groups:
            params, grads, buffers, states = gathered.setdefault(settings_key(group), ([], [], [], []))
            for parameter in group["params"]:
                if parameter.grad is None:
                    continue
                params.append(parameter)
                grads.append(parameter.grad)
                state = optimizer.state[parameter]
                buffers.append(state.get("momentum_buffer"))
                states.append(state)
    for key, (params, grads, buffers, states) in gathered.items():
        if not params:
            continue
        settings = dict(zip(SGD_SETTINGS, key, strict=True))
        sgd(params, grads, buffers, foreach=True, **settings)  # type: ignore[arg-type]  # the settings' own types
        if settings["momentum"] != 0:
            for state, buffer in zip(states, buffers, strict=True):
                state["momentum_buffer"] = buffer
