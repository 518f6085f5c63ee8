"""Parameter groups for the optimiser: the network and the loss's own variables, the loss's dual ones apart."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn


@runtime_checkable
class HasDualParameters(Protocol):
    """A loss with variables it maximises over (e.g. AUCM's alpha)."""

    def dual_parameters(self) -> Iterable[nn.Parameter]: ...


def parameter_groups(network: nn.Module, loss: nn.Module) -> list[dict[str, Any]]:
    """The primal group (network + the loss's other parameters) and, if the loss has any, the dual group.

    A loss declares the variables it maximises over with a ``dual_parameters()`` method (e.g. AUCM's alpha); they
    go in a group marked ``"dual": True``, which :class:`almlit.optim.PESG` ascends.
    """
    dual = list(loss.dual_parameters()) if isinstance(loss, HasDualParameters) else []
    dual_ids = {id(parameter) for parameter in dual}
    primal = [*network.parameters(), *(p for p in loss.parameters() if id(p) not in dual_ids)]
    return [{"params": primal}] + ([{"params": dual, "dual": True}] if dual else [])


def build_optimizer(
    factory: Callable[[list[dict[str, Any]]], torch.optim.Optimizer], network: nn.Module, loss: nn.Module
) -> torch.optim.Optimizer:
    """``factory(parameter_groups(network, loss))``, refusing an optimiser that would descend on dual variables.

    Raises:
        ValueError: the loss has dual variables and the optimiser does not declare ``ascends_dual_groups``.
    """
    optimizer = factory(parameter_groups(network, loss))
    has_dual = any(group.get("dual", False) for group in optimizer.param_groups)
    if has_dual and not getattr(optimizer, "ascends_dual_groups", False):
        raise ValueError(
            f"loss {type(loss).__name__} is a min-max objective whose dual variables need gradient ascent, "
            f"which {type(optimizer).__name__} cannot do; use optim=pesg callbacks=pesg_stages (PESG with its stages)"
        )
    return optimizer
