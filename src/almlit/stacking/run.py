"""Train one stack: build its members as runs trained alone are built, share their images, fit them together, write
one ordinary run folder per member."""

from __future__ import annotations

import contextlib
import gc
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import Tensor

from almlit.data.fingerprint import write_fingerprint
from almlit.errors import out_of_memory_advice
from almlit.runs.folder import write_config, write_overrides
from almlit.runs.resume import LAST_CHECKPOINT
from almlit.stacking.data import shared_images
from almlit.stacking.loop import fit_stack
from almlit.stacking.members import StackMember, build_member
from almlit.stacking.output import finish_member
from almlit.stacking.plan import check_stackable


def stack_device(accelerator: str) -> torch.device:
    """The device of ``trainer.accelerator``: ``cpu``, or the first GPU for ``gpu``/``cuda``/``auto`` when present."""
    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def check_equal_epochs(members: Sequence[StackMember]) -> None:
    """Refuse members whose epochs have different numbers of training batches (one batched step serves all)."""
    lengths = [len(member.sampler) for member in members]
    if len(set(lengths)) > 1:
        raise ValueError(
            f"stacked members must see as many training images per epoch; got {lengths} for "
            f"{', '.join(str(member.run_dir) for member in members)}; stack them separately"
        )


def prepare_folder(run_dir: Path) -> None:
    """A member folder of an unfinished stack (killed before its end) is trained again from its start: what an earlier
    attempt left in ``checkpoints/`` is removed (a stacked member writes its checkpoint only when the stack ends)."""
    if (run_dir / LAST_CHECKPOINT).is_file():
        raise ValueError(f"{run_dir} holds a run trained alone that can resume; finish it without ensemble.stack")
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)


def prepare_stack(
    configs: Sequence[dict[str, Any]], run_dirs: Sequence[Path], overrides: Sequence[Sequence[str]]
) -> tuple[list[StackMember], Tensor]:
    """Check and build the members of one stack, on its device, with their images held once.

    Each member folder receives its ``config.yaml``, ``.hydra/overrides.yaml`` and ``data_fingerprint.json`` as a run
    trained alone does when it starts.

    Returns:
        The members and the shared training images (:func:`~almlit.stacking.data.shared_images`).

    Raises:
        ValueError: if the members cannot share one model (:func:`check_stackable`, :func:`check_equal_epochs`).
    """
    check_stackable(configs, [str(run_dir) for run_dir in run_dirs])
    for run_dir in run_dirs:
        prepare_folder(run_dir)
    members, datasets, num_samples = [], [], 1
    for config, run_dir in zip(configs, run_dirs, strict=True):
        member, datamodule = build_member(OmegaConf.create(config), run_dir)
        members.append(member)
        datasets += [datamodule.train_dataset, datamodule.val_dataset]
        num_samples = datamodule.num_train_samples
    check_equal_epochs(members)
    device = stack_device(str(configs[0]["trainer"]["accelerator"]))
    images = shared_images(datasets, num_samples).to(device)
    for member, member_overrides in zip(members, overrides, strict=True):
        write_config(member.run_dir, member.config)
        write_overrides(member.run_dir, member_overrides)
        write_fingerprint(member.run_dir, member.fingerprint)
        member.module.to(device)
        member.augment.to(device)
        member.train_ids, member.train_labels, member.val_ids, member.val_labels = (
            tensor.to(device) for tensor in (member.train_ids, member.train_labels, member.val_ids, member.val_labels)
        )
    return members, images  # the members' own copies of the images went with their data modules


def train_stack(
    configs: Sequence[dict[str, Any]],
    run_dirs: Sequence[Path],
    overrides: Sequence[Sequence[str]],
    report: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Train the members of one stack and write their run folders; returns their ``metrics.json``.

    Args:
        configs: each member's resolved training config (as ``config.yaml`` holds it).
        run_dirs: each member's run folder.
        overrides: each member's command-line overrides (``.hydra/overrides.yaml``).
        report: receives the progress lines.

    Raises:
        ValueError: if the members cannot share one model (see :func:`prepare_stack`).
    """
    members, images = prepare_stack(configs, run_dirs, overrides)
    data = configs[0]["data"]
    advice = {"batch_size": data["batch_size"], "eval_batch_size": data["eval_batch_size"]}
    with out_of_memory_advice("fit", advice) if len(members) == 1 else contextlib.nullcontext():
        fit_stack(
            members,
            images,
            int(configs[0]["trainer"]["max_epochs"]),
            data["batch_size"],
            data["eval_batch_size"],
            report,
        )
    return [finish_member(member, config) for member, config in zip(members, configs, strict=True)]


def train_stacks(
    configs: Sequence[dict[str, Any]],
    run_dirs: Sequence[Path],
    overrides: Sequence[Sequence[str]],
    report: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """:func:`train_stack`, split in two halves (again and again) while the stack does not fit in the device's memory.

    A stack of one member that does not fit is refused with the batch sizes to lower (as a run trained alone).
    """
    try:
        return train_stack(configs, run_dirs, overrides, report)
    except torch.OutOfMemoryError:
        if len(configs) == 1:  # pragma: no cover - train_stack turns a single member's error into advice
            raise
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    half = (len(configs) + 1) // 2
    report(
        f"a stack of {len(configs)} members does not fit in memory: training it as stacks of {half} and "
        f"{len(configs) - half}"
    )
    return [
        *train_stacks(configs[:half], run_dirs[:half], overrides[:half], report),
        *train_stacks(configs[half:], run_dirs[half:], overrides[half:], report),
    ]
