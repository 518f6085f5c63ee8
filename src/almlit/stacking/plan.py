"""Pure planning of stacked runs: which members train together, and which settings a stack can hold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Callbacks whose effect a stacked run reproduces per member (almlit.stacking.loop); any other one is refused.
STACKED_CALLBACKS = frozenset(
    {
        "model_checkpoint",
        "last_checkpoint",
        "early_stopping",
        "non_finite_loss",
        "pair_coverage",
        "stop_on_signal",
        "carry_over_best",
        "keep_early_stop",
    }
)
# Trainer settings a stacked run implements as they are in conf/trainer/default.yaml; another value is refused.
TRAINER_DEFAULTS: Mapping[str, Any] = {
    "devices": 1,
    "num_nodes": 1,
    "precision": "32-true",
    "accumulate_grad_batches": 1,
    "gradient_clip_val": None,
    "check_val_every_n_epoch": 1,
    "val_check_interval": None,
    "limit_train_batches": None,
    "limit_val_batches": None,
    "min_epochs": None,
    "max_steps": -1,
}


def check_stack_size(stack: Any, name: str = "ensemble.stack") -> int:
    """The number of members per stack, from ``ensemble.stack`` (or the option ``name``): an int >= 1.

    Raises:
        ValueError: naming the value and what is allowed.
    """
    text = str(stack)
    if isinstance(stack, bool) or not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be an integer >= 1 (members trained as one model), got {stack!r}")
    return int(text)


def stack_groups(pending: Sequence[int], stack: int) -> list[list[int]]:
    """The members still to train, in stacks of at most ``stack`` trained one after another.

    Example: ``stack_groups([0, 1, 2, 3, 4], 2) == [[0, 1], [2, 3], [4]]``.
    """
    check_stack_size(stack)
    return [list(pending[start : start + stack]) for start in range(0, len(pending), stack)]


def unsupported_settings(config: Mapping[str, Any]) -> list[str]:
    """``key=value`` of the settings of a resolved member config that a stacked run cannot reproduce.

    A stack runs every callback of :data:`STACKED_CALLBACKS` per member, in float32 on one device, validating
    after every epoch; another callback or trainer setting would change what a member learns.
    """
    found = [
        f"callbacks.{name}"
        for name, node in (config.get("callbacks") or {}).items()
        if node is not None and name not in STACKED_CALLBACKS
    ]
    trainer = config.get("trainer") or {}
    found += [
        f"trainer.{key}={trainer[key]}"
        for key, default in TRAINER_DEFAULTS.items()
        if key in trainer and trainer[key] != default and not (key == "val_check_interval" and trainer[key] == 1.0)
    ]
    max_epochs = trainer.get("max_epochs")
    if "max_epochs" in trainer and (isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1):
        found.append(f"trainer.max_epochs={max_epochs}")  # a stack trains a given number of epochs
    if config.get("ckpt_path") is not None:
        found.append(f"ckpt_path={config['ckpt_path']}")
    if (config.get("module") or {}).get("compile"):
        found.append("module.compile=true")
    return found


def architecture_differences(first: Mapping[str, Any], other: Mapping[str, Any]) -> list[str]:
    """The keys that must agree between two members of a stack and do not: the network (``model``), the batch
    sizes and the image transform of the data (stacked members share one forward pass of equal batches) and the
    device (``trainer.accelerator``). ``trainer.max_epochs`` and the size of the training set may differ: each member
    stops at its own last epoch, and members of other epoch lengths train as stacks of their own."""
    differing = [key for key in ("model", "num_outputs", "num_classes") if first.get(key) != other.get(key)]
    first_trainer, other_trainer = first.get("trainer") or {}, other.get("trainer") or {}
    if first_trainer.get("accelerator") != other_trainer.get("accelerator"):  # one device per stack
        differing.append("trainer.accelerator")
    first_data, other_data = first.get("data") or {}, other.get("data") or {}
    differing += [
        f"data.{key}"
        for key in ("_target_", "batch_size", "eval_batch_size", "crop_padding", "hflip", "imbalance_ratio")
        if first_data.get(key) != other_data.get(key)
    ]
    return differing


def check_stackable(configs: Sequence[Mapping[str, Any]], names: Sequence[str]) -> None:
    """Refuse a stack whose members cannot train as one model.

    Args:
        configs: the resolved config of every member.
        names: how messages name each member (its run folder).

    Raises:
        ValueError: one line naming the member and the setting.
    """
    for config, name in zip(configs, names, strict=True):
        unsupported = unsupported_settings(config)
        if unsupported:
            raise ValueError(
                f"a stacked run cannot reproduce {', '.join(unsupported)} of {name}; "
                "train it without ensemble.stack (or remove the setting)"
            )
        differing = architecture_differences(configs[0], config)
        if differing:
            raise ValueError(
                f"stacked members must share one architecture and batch shape: {name} differs from {names[0]} in "
                f"{', '.join(differing)}; stack them separately"
            )
