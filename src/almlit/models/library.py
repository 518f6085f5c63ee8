"""Networks of torchvision, timm and MONAI by name, with local weights and a head giving ``num_outputs`` scores.

Nothing is downloaded: ``weights`` is a local file, either a state dict of the network as its library publishes it
(e.g. ``torch.save(torchvision.models.resnet18(weights="DEFAULT").state_dict(), "resnet18.pth")`` on a machine with
internet access) or a Lightning checkpoint of an almlit run (its ``network.*`` entries, head included).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from almlit.errors import optional_module
from almlit.models.heads import check_positive_int

NETWORK_PREFIX = "network."  # ALMClassifier keeps its network under this name in its checkpoints


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict in a weights file: a plain state dict, or a checkpoint's ``state_dict`` (``network.*`` entries).

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if it is not a state dict or checkpoint torch can load with ``weights_only=True``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model.weights not found: {path}")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises pickle, zip and runtime errors for a file it cannot read
        raise ValueError(f"model.weights {path} is not a state dict or checkpoint torch can read: {error}") from error
    if isinstance(content, dict) and isinstance(content.get("state_dict"), dict):
        state = content["state_dict"]
        return {
            key.removeprefix(NETWORK_PREFIX): value for key, value in state.items() if key.startswith(NETWORK_PREFIX)
        }
    if not isinstance(content, dict) or not all(isinstance(value, torch.Tensor) for value in content.values()):
        raise ValueError(f"model.weights {path} holds a {type(content).__name__}, not a state dict of tensors")
    return content


def last_linear(network: nn.Module) -> tuple[str, nn.Linear]:
    """The name and module of the network's last ``nn.Linear`` (its classification head, for torchvision's networks).

    Raises:
        ValueError: if the network has no linear layer.
    """
    linears = [(name, module) for name, module in network.named_modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(network).__name__} has no nn.Linear head to replace")
    return linears[-1]


def replace_head(network: nn.Module, num_outputs: int) -> nn.Module:
    """Replace the last ``nn.Linear`` by a fresh one with ``num_outputs`` outputs (same inputs, bias kept)."""
    name, head = last_linear(network)
    parent = network.get_submodule(name.rpartition(".")[0]) if "." in name else network
    setattr(parent, name.rpartition(".")[2], nn.Linear(head.in_features, num_outputs, bias=head.bias is not None))
    return network


def load_into(network: nn.Module, state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Load ``state`` strictly, naming the first missing, unexpected and differently shaped entries when it does not
    fit (e.g. a checkpoint of a network with another number of outputs).

    Raises:
        ValueError: ``model.weights <path> does not fit <network>: ...``.
    """
    own = network.state_dict()
    missing = [key for key in own if key not in state]
    unexpected = [key for key in state if key not in own]
    reshaped = [
        f"{key} {list(state[key].shape)} vs {list(value.shape)}"
        for key, value in own.items()
        if key in state and state[key].shape != value.shape
    ]
    if missing or unexpected or reshaped:
        raise ValueError(
            f"model.weights {path} does not fit {type(network).__name__}: {len(missing)} missing keys"
            f" {missing[:3]}, {len(unexpected)} unexpected keys {unexpected[:3]}, {len(reshaped)} of another shape"
            f" {reshaped[:3]}"
        )
    network.load_state_dict(state)


def with_weights(
    network: nn.Module, weights: str | Path | None, reset_head: Callable[[nn.Module], nn.Module]
) -> nn.Module:
    """Load local weights into ``network`` and give it the head ``reset_head`` makes.

    Weights that fit the network as its library builds it (the published head) are loaded before the head is
    reset; weights that do not (an almlit checkpoint, whose head has ``num_outputs`` already) after.

    Raises:
        FileNotFoundError, ValueError: from :func:`read_weights` and :func:`load_into`.
    """
    if weights is None:
        return reset_head(network)
    state = read_weights(weights)
    own = network.state_dict()
    if state.keys() == own.keys() and all(own[key].shape == value.shape for key, value in state.items()):
        load_into(network, state, weights)
        return reset_head(network)
    network = reset_head(network)
    load_into(network, state, weights)
    return network


def torchvision_network(name: str, num_outputs: int, weights: str | Path | None = None, **kwargs: Any) -> nn.Module:
    """A torchvision classification network (``torchvision.models.get_model(name)``) with ``num_outputs`` outputs.

    Args:
        name: a torchvision model name, e.g. ``resnet18``, ``densenet121``, ``efficientnet_b0``.
        num_outputs: outputs of the new head (1 for a binary task, C for C classes).
        weights: a local state dict or checkpoint file (see :func:`with_weights`), or ``None``.
        **kwargs: passed to the network's constructor.

    Raises:
        ValueError: for an unknown name or weights that do not fit.
    """
    import torchvision

    check_positive_int("num_outputs", num_outputs)
    try:
        network = torchvision.models.get_model(name, weights=None, **kwargs)
    except ValueError as error:
        raise ValueError(
            f"model.name={name} is not a torchvision model (torchvision.models.list_models() lists them)"
        ) from error
    return with_weights(network, weights, lambda built: replace_head(built, num_outputs))


def timm_network(
    name: str, num_outputs: int, weights: str | Path | None = None, in_channels: int = 3, **kwargs: Any
) -> nn.Module:
    """A timm network (``timm.create_model``) with ``num_outputs`` outputs and ``in_channels`` input channels.

    Args:
        name: a timm model name, e.g. ``resnet18``, ``convnext_tiny``.
        num_outputs: outputs of the head (timm's ``reset_classifier``).
        weights: a local state dict or checkpoint file (see :func:`with_weights`), or ``None``.
        in_channels: input channels (published weights must have been trained on as many).
        **kwargs: passed to ``timm.create_model``.

    Raises:
        ValueError: if timm is not installed (the ``timm`` extra), the name is unknown or the weights do not fit.
    """
    timm = optional_module("timm", "timm")
    check_positive_int("num_outputs", num_outputs)
    if name not in timm.list_models():
        raise ValueError(f"model.name={name} is not a timm model (timm.list_models() lists them)")
    network = timm.create_model(name, pretrained=False, in_chans=in_channels, **kwargs)

    def reset_head(built: Any) -> nn.Module:  # a timm model: reset_classifier is timm's, not nn.Module's
        built.reset_classifier(num_outputs)
        return built

    return with_weights(network, weights, reset_head)


def monai_network(
    name: str,
    num_outputs: int,
    weights: str | Path | None = None,
    spatial_dims: int = 2,
    in_channels: int = 3,
    **kwargs: Any,
) -> nn.Module:
    """A MONAI network (``monai.networks.nets.<name>``), 2D or 3D, built with ``num_outputs`` outputs.

    MONAI's classifiers take their sizes under two spellings (``in_channels``/``out_channels`` as DenseNet121,
    ``n_input_channels``/``num_classes`` as ResNet); the constructor's signature says which.

    Args:
        name: a class of ``monai.networks.nets``, e.g. ``DenseNet121``, ``EfficientNetBN`` (with
            ``model.model_name``), ``ResNet`` (with ``model.block``, ``model.layers``, ``model.block_inplanes``).
        num_outputs: outputs of the network (1 for a binary task, C for C classes).
        weights: a local state dict or checkpoint of the network as built here (its head gives ``num_outputs``
            already, see :func:`with_weights`), or ``None``.
        spatial_dims: 2 for images ``[B, C, H, W]``, 3 for volumes ``[B, C, D, H, W]``.
        in_channels: input channels (``data.channels``, or the number of MRI sequences).
        **kwargs: passed to the network's constructor.

    Raises:
        ValueError: if MONAI is not installed (the ``monai`` extra), the name is not a network of
            ``monai.networks.nets``, its constructor takes no channel or output count, or the weights do not fit.
    """
    nets = optional_module("monai", "monai").networks.nets
    check_positive_int("num_outputs", num_outputs)
    builder = getattr(nets, name, None)
    if not (isinstance(builder, type) and issubclass(builder, nn.Module)):
        raise ValueError(f"model.name={name} is not a network of monai.networks.nets")
    parameters = inspect.signature(builder).parameters
    sizes = {"spatial_dims": spatial_dims}
    spelled = [(in_channels, ("in_channels", "n_input_channels")), (num_outputs, ("out_channels", "num_classes"))]
    for value, spellings in spelled:
        spelling = next((spelling for spelling in spellings if spelling in parameters), None)
        if spelling is None:
            raise ValueError(
                f"model.name={name}: monai.networks.nets.{name} takes none of {', '.join(spellings)}; give it"
                " through its own config with _target_ (README, Your own data)"
            )
        sizes[spelling] = value
    return with_weights(builder(**sizes, **kwargs), weights, lambda built: built)
