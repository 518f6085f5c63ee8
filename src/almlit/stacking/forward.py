"""One forward pass for K networks of one architecture: ``functional_call`` under ``vmap`` over stacked state.

The members' parameters stay separate leaves (each member keeps its own optimiser); every step stacks those of the
active members with ``torch.stack``, which is differentiable, so the gradient of the summed losses reaches every
member's own leaves, and member k's gradient depends only on member k's loss. Buffers (BatchNorm running statistics)
are stacked too: under ``vmap`` a batched buffer takes its member's in-place update (PyTorch's "Patching Batch Norm"
note: only a regular buffer updated from a batched input is refused), and :func:`write_back_buffers` returns each
slice to its member.

On a CPU the members' networks are instead called one after another in the same step (``mode="sequential"``): there
the batched kernels under ``vmap`` and the stacking of parameters and buffers cost more than the K calls they replace
(measured: docs/stacking.md, "Where a stacked step spends its time"), while a stack still saves the K processes, data
pipelines and Lightning loops. Each member's network then updates its own BatchNorm buffers and gets its own gradient,
exactly as when it trains alone.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

State = dict[str, Tensor]
STACK_MODES = ("auto", "vmap", "sequential")  # auto: vmap on CUDA, sequential elsewhere (the faster one measured)


def resolve_mode(mode: str, device: torch.device) -> str:
    """``"vmap"`` or ``"sequential"``: ``mode`` (one of :data:`STACK_MODES`) with ``auto`` resolved for ``device``."""
    if mode != "auto":
        return mode
    return "vmap" if device.type == "cuda" else "sequential"


def stacked_state(networks: Sequence[nn.Module]) -> tuple[State, State]:
    """``(parameters, buffers)`` of ``networks`` stacked on a new first axis ``[K, ...]``.

    The parameters are stacked differentiably (gradients flow back to each network's own leaves); the buffers are
    copies, updated in place by the forward pass and returned with :func:`write_back_buffers`.
    """
    parameters = {
        name: torch.stack([dict(net.named_parameters())[name] for net in networks])
        for name, _ in networks[0].named_parameters()
    }
    buffers = {
        name: torch.stack([dict(net.named_buffers())[name] for net in networks])
        for name, _ in networks[0].named_buffers()
    }
    return parameters, buffers


@torch.no_grad()
def write_back_buffers(networks: Sequence[nn.Module], buffers: State) -> None:
    """Copy slice k of every stacked buffer into network k's own buffer."""
    for index, network in enumerate(networks):
        for name, buffer in network.named_buffers():
            buffer.copy_(buffers[name][index])


class StackedForward:
    """Apply K networks of ``template``'s architecture to K batches at once.

    Args:
        template: a network of the members' architecture; a state-less copy of it (on the ``meta`` device) is kept.
        mode: ``"vmap"`` (one batched call over stacked state), ``"sequential"`` (network k called on its batch in
            turn) or ``"auto"``: vmap on a CUDA device, sequential elsewhere.

    Raises:
        ValueError: for a ``mode`` not in :data:`STACK_MODES`.
    """

    def __init__(self, template: nn.Module, mode: str = "auto") -> None:
        if mode not in STACK_MODES:
            raise ValueError(f"the stack's forward mode must be one of {', '.join(STACK_MODES)}; got {mode!r}")
        self.mode = mode
        self.skeleton = copy.deepcopy(template).to("meta")

    def resolved_mode(self, device: torch.device) -> str:
        """``"vmap"`` or ``"sequential"``: the mode used for images on ``device``."""
        return resolve_mode(self.mode, device)

    def __call__(self, networks: Sequence[nn.Module], images: Tensor) -> Tensor:
        """Outputs ``[K, B, ...]`` of network k on ``images[k]`` (``images``: ``[K, B, C, H, W]``).

        The skeleton runs in the networks' mode (train: batch statistics, and the running statistics updated per
        member; eval: each member's running statistics).
        """
        if self.resolved_mode(images.device) == "sequential":
            return torch.stack([network(images[index]) for index, network in enumerate(networks)])
        self.skeleton.train(networks[0].training)
        parameters, buffers = stacked_state(networks)

        def one_member(member_parameters: State, member_buffers: State, member_images: Tensor) -> Tensor:
            return functional_call(self.skeleton, (member_parameters, member_buffers), (member_images,))

        outputs = vmap(one_member, randomness="different")(parameters, buffers, images)
        if networks[0].training:
            write_back_buffers(networks, buffers)
        return outputs
