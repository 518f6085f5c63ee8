"""The data a trained model is applied to: its saved data configuration with the user's ``data.*`` overrides.

``python -m almlit.predict <folder> data.root=/new/images`` reads new data of the kind the model was trained on,
through the same DataModule, so the same preprocessing (normalisation, no augmentation) reaches the network.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from almlit.config import CONFIG_DIR
from almlit.data.indexed import UNKNOWN_LABEL
from almlit.data.loaders import TensorDataModule

DATA_GROUP = Path(CONFIG_DIR) / "data"
# The data keys that say what the labels are: which classes are positive or critical, how many there are, which
# data set the class ids belong to (CIFAR's variant). The model's operating points were chosen for the labels it was
# trained with; predictions scored against other labels would be judged by thresholds chosen for another task.
LABEL_KEYS = ("positive_classes", "negative_classes", "critical_classes", "num_classes", "variant")


def check_data_choice(choice: str, data_config: dict[str, Any]) -> None:
    """Accept ``data=<choice>`` only when it names the kind of data the model was trained on.

    Raises:
        ValueError: an unknown choice, or one of another kind (its DataModule class differs).
    """
    path = DATA_GROUP / f"{choice}.yaml"
    choices = sorted(file.stem for file in DATA_GROUP.glob("*.yaml"))
    if not path.is_file():
        raise ValueError(f"data={choice} is not a data set; choose one of {choices}")
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):  # composed: a config's defaults count
        target = compose("train", overrides=[f"data={choice}"]).data.get("_target_")
    if target != data_config.get("_target_"):
        raise ValueError(
            f"data={choice} ({target}) is not the kind of data the model was trained on "
            f"({data_config.get('_target_')}); predict reads data of that kind: change data.* keys such as data.root"
        )


def override_text(value: Any) -> str:
    """A value as a command-line override writes it: ``[pneumonia,covid]``, ``[8]``, ``null``, ``cifar10``."""
    if isinstance(value, list):
        return "[" + ",".join(override_text(item) for item in value) + "]"
    return "null" if value is None else str(value)


def check_same_labels(key: str, trained: Any, given: Any) -> None:
    """Refuse an override of a label key (:data:`LABEL_KEYS`) that gives it another value than the model's run had.

    Args:
        key: the key below ``data`` (``positive_classes``).
        trained: its value in the run's configuration.
        given: the value of the override, read as in YAML.

    Raises:
        ValueError: naming the key, the trained value and the given value.
    """
    if key in LABEL_KEYS and override_text(given) != override_text(trained):  # [8] and ["8"] name one class
        raise ValueError(
            f"data.{key}={override_text(given)} changes the labels: the model was trained with "
            f"data.{key}={override_text(trained)}, and its operating points were chosen for those labels; leave "
            f"data.{key} out (predict keeps the trained labels)"
        )


def apply_data_overrides(config: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A copy of a resolved run config with ``data=<choice>`` checked and ``data.<key>=<value>`` set.

    Values are read as in YAML (``data.sequences=[t2w,adc]`` is a list).

    Raises:
        ValueError: an override that is not ``key=value``, one outside ``data``, a key the data config lacks, or one
            that changes the labels (:func:`check_same_labels`).
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
        parsed = cast(dict[str, Any], OmegaConf.to_container(OmegaConf.from_dotlist([f"value={value}"])))
        if not parents:
            check_same_labels(leaf, node[leaf], parsed["value"])
        node[leaf] = parsed["value"]
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
