"""Train one stack: build its members as runs trained alone are built, share their images, fit them together, write
one ordinary run folder per member."""

from __future__ import annotations

import contextlib
import gc
import shutil
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import Tensor

from almlit.callbacks import StopOnSignal
from almlit.data.fingerprint import check_same_data, write_fingerprint
from almlit.errors import NonFiniteLossError, out_of_memory_advice
from almlit.runs.folder import write_config, write_overrides
from almlit.runs.preemption import Preempted, stop_after_preemption
from almlit.runs.resume import LAST_CHECKPOINT, check_same_run
from almlit.stacking.checkpoints import restore_member
from almlit.stacking.data import shared_images
from almlit.stacking.loop import fit_stack
from almlit.stacking.members import StackMember, build_member
from almlit.stacking.output import finish_member, write_hparams
from almlit.stacking.plan import check_stackable


def stack_device(accelerator: str) -> torch.device:
    """The device of ``trainer.accelerator``: ``cpu``, or the first GPU for ``gpu``/``cuda``/``auto`` when present."""
    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def epoch_groups(members: Sequence[StackMember]) -> list[list[StackMember]]:
    """The members in groups of equal training epochs (one batched step serves a group), in order of first appearance.

    Members whose splits differ in size (``data.majority_fraction``, ``sampler``, ``data.val_per_class`` of a grid)
    train as stacks of their own, one after another.
    """
    groups: dict[int, list[StackMember]] = {}
    for member in members:
        groups.setdefault(len(member.sampler), []).append(member)
    return list(groups.values())


def prepare_folder(run_dir: Path, config: dict[str, Any]) -> Path | None:
    """The member's ``checkpoints/last.ckpt`` to resume from (written by a stack or by a run trained alone), or
    ``None`` for a start from epoch 0, when what an earlier attempt left in ``checkpoints/`` is removed.

    Raises:
        ValueError: the folder holds a run of another configuration (:func:`~almlit.runs.resume.check_same_run`).
    """
    check_same_run(run_dir, config)
    last = run_dir / LAST_CHECKPOINT
    if last.is_file():
        return last
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    return None


def prepare_stack(
    configs: Sequence[dict[str, Any]],
    run_dirs: Sequence[Path],
    overrides: Sequence[Sequence[str]],
    report: Callable[[str], None] = print,
) -> tuple[list[StackMember], Tensor]:
    """Check and build the members of one stack, on its device, with their images held once; a member whose folder
    holds a ``checkpoints/last.ckpt`` is restored from it (:func:`~almlit.stacking.checkpoints.restore_member`).

    Each member folder receives its ``config.yaml``, ``.hydra/overrides.yaml``, ``data_fingerprint.json`` and
    ``logs/hparams.yaml`` as a run trained alone does when it starts.

    Returns:
        The members and the shared training images (:func:`~almlit.stacking.data.shared_images`).

    Raises:
        ValueError: if the members cannot share one model (:func:`check_stackable`), a folder holds another run or
            other data, or a ``last.ckpt`` cannot be resumed (:func:`restore_member`).
    """
    check_stackable(configs, [str(run_dir) for run_dir in run_dirs])
    resumed = [prepare_folder(run_dir, config) for run_dir, config in zip(run_dirs, configs, strict=True)]
    members, datasets, num_samples = [], [], 1
    for config, run_dir in zip(configs, run_dirs, strict=True):
        member, datamodule = build_member(OmegaConf.create(config), run_dir)
        check_same_data(run_dir, member.fingerprint)  # a member resumes on the data it started with
        members.append(member)
        datasets += [datamodule.train_dataset, datamodule.val_dataset]
        num_samples = datamodule.num_train_samples
    device = stack_device(str(configs[0]["trainer"]["accelerator"]))
    images = shared_images(datasets, num_samples).to(device)
    for member, last in zip(members, resumed, strict=True):
        member.module.to(device)
        member.augment.to(device)
        member.train_ids, member.train_labels, member.val_ids, member.val_labels = (
            tensor.to(device) for tensor in (member.train_ids, member.train_labels, member.val_ids, member.val_labels)
        )
        if last is not None:
            restore_member(member, last, member.max_epochs)
            report(f"resuming {member.run_dir} from {LAST_CHECKPOINT} (epochs done: {member.epochs_trained})")
    for member, member_overrides in zip(members, overrides, strict=True):  # once every member could be restored
        write_config(member.run_dir, member.config)
        write_overrides(member.run_dir, member_overrides)
        write_fingerprint(member.run_dir, member.fingerprint)
        write_hparams(member)
    return members, images  # the members' own copies of the images went with their data modules


def signal_stop(configs: Sequence[dict[str, Any]]) -> StopOnSignal | None:
    """The stack's ``callbacks.stop_on_signal`` (its first member's that sets one), or ``None``."""
    nodes = [config["callbacks"].get("stop_on_signal") for config in configs]
    return next((instantiate(node) for node in nodes if node is not None), None)


def train_stack(
    configs: Sequence[dict[str, Any]],
    run_dirs: Sequence[Path],
    overrides: Sequence[Sequence[str]],
    report: Callable[[str], None] = print,
    on_written: Callable[[Path, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train the members of one stack and write their run folders; returns their ``metrics.json``.

    Args:
        configs: each member's resolved training config (as ``config.yaml`` holds it).
        run_dirs: each member's run folder.
        overrides: each member's command-line overrides (``.hydra/overrides.yaml``).
        report: receives the progress lines.
        on_written: called with each member's folder and ``metrics.json`` as soon as the folder is written (the
            stacked launcher prints the summary ``almlit.train`` prints), also when another member failed.

    Members of different epoch lengths train as stacks of their own (:func:`epoch_groups`), one after another. A
    member whose loss becomes NaN or inf leaves its stack; the others finish and are written, then its failure is
    raised.

    Raises:
        ValueError: if the members cannot share one model or cannot resume (see :func:`prepare_stack`).
        NonFiniteLossError: naming every member whose loss became NaN or inf, after the others were written.
        SystemExit: ``128 + signal`` after SIGTERM or SIGUSR1 (``callbacks.stop_on_signal``) or Ctrl-C (SIGINT), while
            the members train or while their folders are written: the stack stops at the end of the step (or of the
            member's test) under way; the same command resumes each unfinished member from its last epoch end
            (:func:`~almlit.runs.preemption.stop_after_preemption`).
    """
    members, images = prepare_stack(configs, run_dirs, overrides, report)
    data = configs[0]["data"]
    advice = {"batch_size": data["batch_size"], "eval_batch_size": data["eval_batch_size"]}
    groups = epoch_groups(members)
    if len(groups) > 1:
        images_per_epoch = " and ".join(str(len(group[0].sampler)) for group in groups)
        sizes = ", ".join(str(len(group)) for group in groups)
        report(f"the members see {images_per_epoch} training images per epoch: training them as stacks of {sizes}")
    stop = signal_stop(configs)
    if stop is not None:
        stop.on_fit_start(None, None)  # type: ignore[arg-type]  # installs its handlers; it needs no trainer
    after_step = None if stop is None else stop.on_train_batch_end
    written = []
    try:
        with out_of_memory_advice("fit", advice) if len(members) == 1 else contextlib.nullcontext():
            for group in groups:
                fit_stack(group, images, data["batch_size"], data["eval_batch_size"], report, after_step)
        for member, config in zip(members, configs, strict=True):
            if member.failure is not None:
                continue
            written.append(finish_member(member, config))
            if on_written is not None:
                on_written(member.run_dir, written[-1])
            if after_step is not None:
                after_step()  # a signal received during this member's test stops the stack here
    except (Preempted, KeyboardInterrupt) as stopped:
        signalled = stopped if isinstance(stopped, Preempted) else Preempted(signal.SIGINT)
        stop_after_preemption(signalled, [str(run_dir / LAST_CHECKPOINT) for run_dir in run_dirs])
    finally:
        if stop is not None:
            stop.teardown(None, None, "fit")  # type: ignore[arg-type]  # restores the handlers
    failures = [member.failure for member in members if member.failure is not None]
    if failures:
        raise NonFiniteLossError(
            "; ".join(failures) + f" ({len(written)} other member(s) of the stack finished and were written)"
        )
    return written


def train_stacks(
    configs: Sequence[dict[str, Any]],
    run_dirs: Sequence[Path],
    overrides: Sequence[Sequence[str]],
    report: Callable[[str], None] = print,
    on_written: Callable[[Path, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """:func:`train_stack`, split in two halves (again and again) while the stack does not fit in the device's memory.

    A stack of one member that does not fit is refused with the batch sizes to lower (as a run trained alone).
    """
    try:
        return train_stack(configs, run_dirs, overrides, report, on_written)
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
        *train_stacks(configs[:half], run_dirs[:half], overrides[:half], report, on_written),
        *train_stacks(configs[half:], run_dirs[half:], overrides[half:], report, on_written),
    ]
