"""A finished run or ensemble folder as the networks it trained, their configuration and the input they take.

A run folder (:mod:`almlit.runs.folder`) holds one network, its best checkpoint named in ``metrics.json``; an ensemble
folder (:mod:`almlit.report.ensemble_report`) holds the run folders listed in its ``ensemble.json``, whose logits it
averages (the paper, section 5.2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from torch import Tensor, nn

from almlit.alm import positive_scores
from almlit.report.ensemble_report import SUMMARY_FILE, check_same_setting
from almlit.runs.checkpoint_io import AtomicCheckpointIO
from almlit.runs.reader import is_finished, read_config, read_metrics

NETWORK_PREFIX = "network."


@dataclass(frozen=True)
class TrainedModel:
    """The run folders behind a run or ensemble folder.

    Attributes:
        folder: the run or ensemble folder given.
        members: its run folders (one for a run).
        config: the resolved ``config.yaml`` of the first member (the members differ only by their seeds).
        metrics: the ``metrics.json`` of every member.
    """

    folder: Path
    members: tuple[Path, ...]
    config: dict[str, Any]
    metrics: tuple[dict[str, Any], ...]

    @property
    def is_binary(self) -> bool:
        """One logit per sample (two classes), else C logits."""
        return int(self.config.get("num_classes", 2)) == 2

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """The shape of one sample the networks were trained on, as ``metrics.json`` records it (``None`` for runs
        trained before it did)."""
        shape = self.metrics[0].get("input_shape")
        return None if shape is None else tuple(int(size) for size in shape)


def read_trained_model(folder: str | Path) -> TrainedModel:
    """The finished run or ensemble folder ``folder``.

    Raises:
        FileNotFoundError: no such folder, or one that is neither a finished run nor an ensemble report's folder.
        ValueError: ensemble members trained with different settings.
    """
    folder = Path(folder)
    summary = folder / SUMMARY_FILE
    if summary.is_file():
        members = tuple(folder / name for name in json.loads(summary.read_text())["member_folders"])
    elif folder.is_dir() and not is_finished(folder) and any(folder.glob("member*")):
        raise FileNotFoundError(
            f"{folder} holds ensemble members but no {SUMMARY_FILE}: run python -m almlit.ensemble to finish it"
        )
    else:
        members = (folder,)
    metrics = tuple(read_metrics(member) for member in members)  # raises for a folder that is no finished run
    configs = {member.name: read_config(member) for member in members}
    if len(members) > 1:
        check_same_setting(configs)
    return TrainedModel(folder, members, configs[members[0].name], metrics)


def load_network(run_dir: Path) -> nn.Module:
    """The network of a finished run with the weights of its best checkpoint, in evaluation mode, on the CPU.

    Raises:
        FileNotFoundError: the checkpoint is missing.
        ValueError: the checkpoint is truncated or holds no weights of this network.
    """
    network = instantiate(read_config(run_dir)["model"])
    path = Path(run_dir) / read_metrics(run_dir)["best_checkpoint"]  # the checkpoint its test scores come from
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} of the run {run_dir} not found")
    checkpoint = AtomicCheckpointIO().load_checkpoint(path, map_location="cpu", weights_only=True)
    state = {
        key.removeprefix(NETWORK_PREFIX): value
        for key, value in checkpoint.get("state_dict", {}).items()
        if key.startswith(NETWORK_PREFIX)
    }
    try:
        network.load_state_dict(state)
    except RuntimeError as error:
        reason = " ".join(str(error).split())[:300]
        raise ValueError(f"checkpoint {path} does not fit the network of {run_dir}/config.yaml: {reason}") from error
    return network.eval()


class MeanLogit(nn.Module):
    """The members' logits and their mean: the score of a run (one member) or of an ensemble (paper, section 5.2).

    Args:
        networks: the members' networks, each mapping a batch to raw outputs ``[N, K]``.
        binary: one score per sample (the critical class's, :func:`~almlit.alm.positive_scores`), else K per sample.
        channels_last: feed the networks channels-last batches, as a run trained with ``module.channels_last`` did.
    """

    def __init__(self, networks: list[nn.Module], binary: bool, channels_last: bool = False) -> None:
        super().__init__()
        self.networks = nn.ModuleList(networks)
        self.binary = binary
        self.channels_last = channels_last

    def member_logits(self, inputs: Tensor) -> Tensor:
        """Every member's logits, ``[M, N]`` (binary) or ``[M, N, C]``, float32."""
        if self.channels_last:
            layout = torch.channels_last_3d if inputs.dim() == 5 else torch.channels_last
            inputs = inputs.contiguous(memory_format=layout)
        outputs = [network(inputs) for network in self.networks]
        return torch.stack([positive_scores(output) if self.binary else output for output in outputs])

    def forward(self, inputs: Tensor) -> Tensor:
        """The mean of the members' logits, ``[N]`` (binary) or ``[N, C]``, float32."""
        return self.member_logits(inputs).mean(dim=0)


def load_mean_logit(model: TrainedModel) -> MeanLogit:
    """The networks of every member of ``model`` as one :class:`MeanLogit`, in evaluation mode, on the CPU."""
    channels_last = bool(model.config.get("module", {}).get("channels_last", False))
    networks = [load_network(member) for member in model.members]
    return MeanLogit(networks, model.is_binary, channels_last).eval()
