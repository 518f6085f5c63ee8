"""The benchmark's stacked rows: K members trained as one batched model (:mod:`almlit.stacking`) against K separate
runs one after another, in members x images per second.

A separate run trains one network per step, so K of them one after another train at the single network's rate
whatever K is; a stack of K trains K batches per step (:func:`almlit.stacking.loop.stacked_step`, the step of
``ensemble.stack``). Both are timed on the same pre-augmented batches, as the benchmark's other training rows.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

import torch
from omegaconf import DictConfig

from almlit.benchmark.settings import BenchSettings
from almlit.benchmark.training import bench_module, on_device, optimizer_of, time_training_steps
from almlit.data import ImageDataModule
from almlit.data.indexed import Batch
from almlit.stacking.forward import StackedForward
from almlit.stacking.loop import stacked_step

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


def stack_step(cfg: DictConfig, datamodule: ImageDataModule, members: int, settings: BenchSettings) -> Callable:
    """One step of a stack of ``members`` freshly built members of the configured run (base loss + ALM)."""
    modules = [on_device(bench_module(cfg, datamodule, True, compile=False), settings.device) for _ in range(members)]
    optimizers = [optimizer_of(module) for module in modules]
    forward = StackedForward(modules[0].network)

    def step(batch: StackedBatch) -> None:
        stacked_step(modules, optimizers, forward, *batch)

    return step


def stacked_rows(
    cfg: DictConfig,
    datamodule: ImageDataModule,
    batches: Sequence[Batch],
    separate_seconds: float,
    settings: BenchSettings,
    progress: Callable[[str], None] = lambda message: None,
) -> list[dict[str, Any]]:
    """Members x images per second of a stack of K, for each K of ``settings.stack``, against separate runs.

    Args:
        cfg: the composed config.
        datamodule: its data (the networks' input shape).
        batches: pre-augmented training batches ``(images, targets, sample_ids)`` of one size, on the device.
        separate_seconds: the median seconds of one training step of one network (base loss + ALM).
        settings: the benchmark's settings (device, repeats, stack sizes).
        progress: called before each stack size.

    Returns:
        One row per K: ``members``, ``seconds_per_step``, ``stacked_images_per_s``, ``separate_images_per_s``,
        ``stacked_over_separate``.
    """
    batch_size = len(batches[0][0])
    rows = []
    for members in settings.stack:
        progress(f"stack of {members}")
        step = stack_step(cfg, datamodule, members, settings)
        samples, _ = time_training_steps({"stack": step}, stacked_batches(batches, members), settings)
        seconds = statistics.median(samples["stack"])
        rows.append(
            {
                "members": members,
                "seconds_per_step": seconds,
                "stacked_images_per_s": members * batch_size / seconds,
                "separate_images_per_s": batch_size / separate_seconds,
                "stacked_over_separate": separate_seconds * members / seconds,
            }
        )
        del step
    return rows


def stacked_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The stacked rows of the printed table."""
    if not rows:
        return []
    lines = ["", "stacked members (ensemble.stack=K): members x images/s of one stack vs K separate runs in turn"]
    lines += [
        f"  K={row['members']:<3d} stacked {row['stacked_images_per_s']:9.1f} img/s   separate "
        f"{row['separate_images_per_s']:9.1f} img/s   stacked / separate {row['stacked_over_separate']:.2f}x"
        for row in rows
    ]
    return lines
