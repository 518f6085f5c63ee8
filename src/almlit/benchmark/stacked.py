"""The benchmark's stacked rows: K members trained as one batched model (:mod:`almlit.stacking`) against K separate
runs one after another, in members x images per second.

K separate runs in turn take K single-network steps (each member its own optimiser and batch) where a stack of K
takes one step of all K (:func:`almlit.stacking.loop.stacked_step`, the step of ``ensemble.stack``). Both are timed
on the same pre-augmented batches, in interleaved repeats, as the benchmark's other training rows. Start-up and
Lightning's per-step work, which a stack also saves, are not in these rows: the end-to-end row has them
(``bench.end_to_end=true``, :mod:`almlit.benchmark.end_to_end`).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

import torch
from omegaconf import DictConfig

from almlit.benchmark.settings import BenchSettings
from almlit.benchmark.training import bench_module, on_device, optimizer_of, time_training_steps, train_step
from almlit.data import ImageDataModule
from almlit.data.indexed import Batch
from almlit.module import ALMClassifier
from almlit.stacking.forward import StackedForward, resolve_mode
from almlit.stacking.loop import stacked_step

STACKED_TITLE = "stacked members (ensemble.stack=K): members x images/s of one stack vs K separate runs in turn"
StackedBatch = tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]


def stacked_batches(batches: Sequence[Batch], members: int) -> list[StackedBatch]:
    """For each batch position, member k's batch is ``batches[(position + k) % len(batches)]`` (distinct batches)."""
    stacked = []
    for position in range(len(batches)):
        chosen = [batches[(position + member) % len(batches)] for member in range(members)]
        stacked.append(
            (
                torch.stack([images for images, _, _ in chosen]),
                [targets for _, targets, _ in chosen],
                [ids for _, _, ids in chosen],
            )
        )
    return stacked


def members(cfg: DictConfig, datamodule: ImageDataModule, count: int, settings: BenchSettings) -> list[ALMClassifier]:
    """``count`` freshly built members of the configured run (base loss + ALM) on the device."""
    return [on_device(bench_module(cfg, datamodule, True, compile=False), settings.device) for _ in range(count)]


def stack_step(modules: Sequence[ALMClassifier], mode: str = "auto") -> Callable[[StackedBatch], None]:
    """One step of ``modules`` as one stack (:func:`almlit.stacking.loop.stacked_step`), its forward pass in ``mode``
    (:class:`~almlit.stacking.forward.StackedForward`)."""
    optimizers = [optimizer_of(module) for module in modules]
    forward = StackedForward(modules[0].network, mode)

    def step(batch: StackedBatch) -> None:
        stacked_step(modules, optimizers, forward, *batch)

    return step


def separate_steps(modules: Sequence[ALMClassifier], settings: BenchSettings) -> Callable[[StackedBatch], None]:
    """One step of each of ``modules`` on its own batch, one after another: K separate runs in turn."""
    steps = [train_step(module, settings) for module in modules]

    def step(batch: StackedBatch) -> None:
        images, targets, sample_ids = batch
        for index, member_step in enumerate(steps):
            member_step((images[index], targets[index], sample_ids[index]))

    return step


def stacked_rows(
    cfg: DictConfig,
    datamodule: ImageDataModule,
    batches: Sequence[Batch],
    settings: BenchSettings,
    progress: Callable[[str], None] = lambda message: None,
) -> list[dict[str, Any]]:
    """Members x images per second of a stack of K against K separate runs in turn, for each K of ``settings.stack``.

    Both variants train K freshly built members on the same K batches per step, timed in interleaved repeats
    (:func:`~almlit.benchmark.training.time_training_steps`), so a change of the machine's load hits both alike.

    Args:
        cfg: the composed config.
        datamodule: its data (the networks' input shape).
        batches: pre-augmented training batches ``(images, targets, sample_ids)`` of one size, on the device.
        settings: the benchmark's settings (device, repeats, stack sizes).
        progress: called before each stack size.

    Returns:
        One row per K: ``members``, ``forward`` (the stack's forward mode: vmap or sequential),
        ``stacked_seconds_per_step``, ``separate_seconds_per_step`` (K steps), ``stacked_images_per_s``,
        ``separate_images_per_s``, ``stacked_over_separate``.
    """
    batch_size = len(batches[0][0])
    rows = []
    for count in settings.stack:
        progress(f"stack of {count} and {count} separate runs")
        steps = {
            "stacked": stack_step(members(cfg, datamodule, count, settings), settings.stack_mode),
            "separate": separate_steps(members(cfg, datamodule, count, settings), settings),
        }
        samples, _ = time_training_steps(steps, stacked_batches(batches, count), settings)
        stacked, separate = (statistics.median(samples[name]) for name in ("stacked", "separate"))
        rows.append(
            {
                "members": count,
                "forward": resolve_mode(settings.stack_mode, settings.device),
                "stacked_seconds_per_step": stacked,
                "separate_seconds_per_step": separate,
                "stacked_images_per_s": count * batch_size / stacked,
                "separate_images_per_s": count * batch_size / separate,
                "stacked_over_separate": separate / stacked,
            }
        )
        del steps
    return rows


def stacked_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The stacked rows of the printed table."""
    if not rows:
        return []
    lines = ["", STACKED_TITLE]
    lines += [
        f"  K={row['members']:<3d} stacked ({row['forward']}) {row['stacked_images_per_s']:9.1f} img/s   separate "
        f"{row['separate_images_per_s']:9.1f} img/s   stacked / separate {row['stacked_over_separate']:.2f}x"
        for row in rows
    ]
    return lines
