"""The data a trained model is applied to: its saved data configuration with the user's ``data.*`` overrides.

``python -m almlit.predict <folder> data.root=/new/images`` reads new data of the kind the model was trained on,
through the same DataModule, so the same preprocessing (normalisation, no augmentation) reaches the network.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from hydra.utils import instantiate
from omegaconf import OmegaConf

from almlit.config import CONFIG_DIR
from almlit.data.indexed import UNKNOWN_LABEL
from almlit.data.loaders import TensorDataModule

DATA_GROUP = Path(CONFIG_DIR) / "data"


def check_data_choice(choice: str, data_config: dict[str, Any]) -> None:
    """Accept ``data=<choice>`` only when it names the kind of data the model was trained on.

    Raises:
        ValueError: an unknown choice, or one of another kind (its DataModule class differs).
    """
    path = DATA_GROUP / f"{choice}.yaml"
    choices = sorted(file.stem for file in DATA_GROUP.glob("*.yaml"))
    if not path.is_file():
        raise ValueError(f"data={choice} is not a data set; choose one of {choices}")
    target = OmegaConf.load(path).get("_target_")
    if target != data_config.get("_target_"):
        raise ValueError(
            f"data={choice} ({target}) is not the kind of data the model was trained on "
            f"({data_config.get('_target_')}); predict reads data of that kind: change data.* keys such as data.root"
        )


def apply_data_overrides(config: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A copy of a resolved run config with ``data=<choice>`` checked and ``data.<key>=<value>`` set.

    Values are read as in YAML (``data.sequences=[t2w,adc]`` is a list).

    Raises:
        ValueError: an override that is not ``key=value``, one outside ``data``, or a key the data config lacks.
    """
    config = copy.deepcopy(config)
    data_config = config["data"]
    for override in overrides:
        key, equals, value = override.partition("=")
        if not equals:
            raise ValueError(f"an override must read key=value, got {override!r}")
        if key == "data":
            check_data_choice(value, data_config)
            continue
        if not key.startswith("data."):
            raise ValueError(
                f"{override} is not allowed: predict takes overrides of data.* (where and how to read the new data) "
                "and the data=<kind> the model was trained on"
            )
        *parents, leaf = key.removeprefix("data.").split(".")
        node = data_config
        for parent in parents:
            node = node.get(parent) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node:
            parent = ".".join(["data", *parents])
            known = f"; {parent} has {', '.join(node)}" if isinstance(node, dict) else ""
            raise ValueError(f"{key} is not a key of the model's data config{known}")
        node[leaf] = OmegaConf.to_container(OmegaConf.from_dotlist([f"value={value}"]))["value"]
    return config


def prediction_data(config: dict[str, Any]) -> TensorDataModule:
    """The DataModule of ``config["data"]``, set up for prediction (its ``inference_dataset`` read and preprocessed).

    Raises:
        ValueError: it holds no sample to predict.
    """
    datamodule = instantiate(OmegaConf.create(config["data"]))
    datamodule.prepare_data()
    datamodule.setup_inference()
    if len(datamodule.inference_dataset) == 0:
        raise ValueError(f"the data at data.root={config['data'].get('root')} holds no sample to predict")
    return datamodule


def check_input_shape(
    sample_shape: Sequence[int], trained_shape: Sequence[int] | None, in_channels: int | None
) -> None:
    """Refuse data whose samples do not have the shape the networks were trained on.

    Args:
        sample_shape: ``(C, H, W)`` or ``(C, D, H, W)`` of one sample of the data to predict.
        trained_shape: the same of the training data (``metrics.json``: ``input_shape``), or ``None`` when unknown.
        in_channels: the networks' input channels (``model.in_channels``), checked when ``trained_shape`` is unknown.

    Raises:
        ValueError: naming both shapes.
    """
    sample_shape = tuple(int(size) for size in sample_shape)
    axes = "channels, height, width" if len(sample_shape) == 3 else "channels, depth, height, width"
    if trained_shape is not None and sample_shape != tuple(trained_shape):
        raise ValueError(
            f"the data's samples have shape {list(sample_shape)} ({axes}) but the model was trained on "
            f"{list(trained_shape)}: predict needs data of the shape and channels the model was trained on"
        )
    if trained_shape is None and in_channels is not None and sample_shape[0] != in_channels:
        raise ValueError(
            f"the data's samples have {sample_shape[0]} channels (shape {list(sample_shape)}, {axes}) but the "
            f"network takes {in_channels}: predict needs data of the channels the model was trained on"
        )


def known_labels(labels: np.ndarray) -> bool:
    """Whether every sample has a label (none is :data:`~almlit.data.indexed.UNKNOWN_LABEL`)."""
    return bool(len(labels)) and not np.any(labels == UNKNOWN_LABEL)
