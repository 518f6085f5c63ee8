"""Training steps, validation passes and one Lightning epoch of the configured :class:`ALMClassifier`.

The modules are built from the composed config by :func:`almlit.module.build_module`, the function training
uses, so the benchmark times the objects a run trains.
"""

from __future__ import annotations

import copy
import math
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from functools import partial
from typing import Any, TypeVar, cast

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.utilities.warnings import PossibleUserWarning
from omegaconf import DictConfig, OmegaConf

from almlit.benchmark.measure import count_flops, interleaved_samples, seconds
from almlit.benchmark.settings import BenchSettings
from almlit.data import ImageDataModule
from almlit.data.indexed import Batch
from almlit.module import ALMClassifier, build_module

MAX_STEPS = 1000  # per repeat, when chosen from settings.repeat_seconds


def autocast(settings: BenchSettings) -> AbstractContextManager:
    """The autocast context a Lightning run with ``settings.precision`` puts around the forward pass."""
    dtype = settings.autocast_dtype
    return torch.autocast(settings.device.type, dtype=dtype, enabled=dtype is not None)


def bench_module(
    cfg: DictConfig, datamodule: ImageDataModule, constrained: bool, **module_options: bool
) -> ALMClassifier:
    """The configured module, its base loss alone when ``constrained`` is false, on the CPU in training mode.

    The global seed is set to ``cfg.seed`` first, so every call starts from the same initial weights.

    Args:
        cfg: the composed config (``model``, ``loss``, ``optim``, ``alm``, ``module``, ``metrics``).
        datamodule: the set-up data (class counts and the size of the multiplier bank).
        constrained: keep ``alm.constraint``; otherwise the module trains the base loss alone.
        module_options: replace entries of ``cfg.module`` (``channels_last``, ``compile``).
    """
    overrides: dict = {"module": module_options}
    if not constrained:
        overrides["alm"] = {"constraint": None}
    torch.manual_seed(cfg.seed)
    return build_module(cast(DictConfig, OmegaConf.merge(cfg, overrides)), datamodule)  # a DictConfig merged


def on_device(module: ALMClassifier, device: torch.device) -> ALMClassifier:
    """Move ``module`` to ``device`` and apply its speed options (channels-last, compile), as Lightning would."""
    module.to(device)
    module.configure_model()
    return module


def optimizer_of(module: ALMClassifier) -> torch.optim.Optimizer:
    """The optimiser that ``module.configure_optimizers`` builds (without its scheduler)."""
    configured = module.configure_optimizers()
    return configured["optimizer"] if isinstance(configured, dict) else configured


def train_step(module: ALMClassifier, settings: BenchSettings) -> Callable[[Batch], None]:
    """One optimisation step on a batch: the module's training loss, backward pass and optimiser step.

    Lightning's automatic optimisation does the same work around ``training_step``; 16-mixed adds its loss scaling.
    """
    optimizer = optimizer_of(module)
    scaler = torch.amp.GradScaler(settings.device.type, enabled=settings.precision == "16-mixed")

    def step(batch: Batch) -> None:
        with autocast(settings):
            loss, _ = module.training_loss(batch)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    return step


StepBatch = TypeVar("StepBatch")  # one network's Batch, or a stack's batches


def run_steps(step: Callable[[StepBatch], None], batches: Sequence[StepBatch], count: int) -> None:
    """``count`` steps over ``batches``, cycling through them."""
    for index in range(count):
        step(batches[index % len(batches)])


def time_training_steps(
    steps: dict[str, Callable[[StepBatch], None]], batches: Sequence[StepBatch], settings: BenchSettings
) -> tuple[dict[str, list[float]], int]:
    """Seconds per training step of every variant, same batches, in ``settings.step_repeats`` interleaved repeats.

    Each variant first runs ``settings.warmup_steps`` untimed steps. ``settings.steps`` timed steps make one
    repeat; when it is ``None``, as many as fill ``settings.repeat_seconds`` at the slowest warm-up step's pace.

    Returns:
        ``(name -> seconds per step of each repeat, timed steps per repeat)``.
    """
    device = settings.device
    slowest = 0.0
    for step in steps.values():
        run_steps(step, batches, settings.warmup_steps - 1)
        slowest = max(slowest, seconds(partial(step, batches[0]), device))
    count = settings.steps or min(MAX_STEPS, math.ceil(settings.repeat_seconds / slowest))

    def per_step(step: Callable[[StepBatch], None]) -> Callable[[], float]:
        return lambda: seconds(lambda: run_steps(step, batches, count), device) / count

    runs = {name: per_step(step) for name, step in steps.items()}
    return interleaved_samples(runs, settings.step_repeats), count


def training_step_flops(module: ALMClassifier, batch: Batch) -> int:
    """FLOPs of one training step (forward and backward) of ``module`` on ``batch``, counted from the shapes.

    The count runs on copies on the ``meta`` device, so it costs no arithmetic and leaves ``module`` unchanged.
    ``module`` must not be compiled.
    """
    meta_module = copy.deepcopy(module).to("meta")
    images, labels, sample_ids = (tensor.to("meta") for tensor in batch)
    meta_batch = (images, labels, sample_ids)
    return count_flops(lambda: meta_module.training_loss(meta_batch)[0].backward())


def validation_pass(module: ALMClassifier, datamodule: ImageDataModule, settings: BenchSettings) -> Callable[[], int]:
    """One pass of ``module.evaluation_scores`` over the normalised validation set, in eval batches, without autograd.

    The function returns the image count.
    """
    augment = datamodule.augment.to(settings.device)
    batches = [augment(images.to(settings.device), train=False) for images, _, _ in datamodule.val_dataloader()]

    def run() -> int:
        module.eval()
        with torch.inference_mode(), autocast(settings):
            for images in batches:
                module.evaluation_scores(images)
        module.train()
        return sum(len(images) for images in batches)

    return run


def time_epoch(
    trainer_config: DictConfig,
    module: ALMClassifier,
    datamodule: ImageDataModule,
    settings: BenchSettings,
    callbacks: Sequence[L.Callback] = (),
    **trainer_options: Any,
) -> tuple[float, int]:
    """One Lightning epoch (training and validation) of ``module`` on ``datamodule``.

    The Trainer is the configured one, without logger, checkpoints, progress bar or sanity check, with
    ``callbacks`` only. ``trainer_options`` are further Trainer arguments or replace these (``limit_train_batches=2``
    for a warm-up; ``max_epochs`` and ``max_time`` for a longer run).

    Returns:
        ``(wall seconds, training batches of an epoch)``.
    """
    options = {
        "accelerator": "gpu" if settings.device.type == "cuda" else "cpu",
        "devices": 1,
        "precision": settings.precision,
        "max_epochs": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        **trainer_options,
    }
    with tempfile.TemporaryDirectory() as root_dir:
        trainer: L.Trainer = instantiate(
            trainer_config, callbacks=list(callbacks), default_root_dir=root_dir, **options
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PossibleUserWarning)  # "few DataLoader workers": in-process by design
            wall_seconds = seconds(lambda: trainer.fit(module, datamodule=datamodule), settings.device)
    return wall_seconds, int(trainer.num_training_batches)


def probe_batch_size(
    module: ALMClassifier, datamodule: ImageDataModule, settings: BenchSettings
) -> tuple[int, list[dict[str, Any]]]:
    """The largest training batch that ``module`` steps through on ``settings.device`` within the probing time.

    Batch sizes double from ``datamodule.batch_size`` while they fit in the training set and
    ``settings.probe_seconds`` have not passed; each size runs one warm-up and one timed step on training images
    drawn without replacement. Probing stops at the first size that runs out of device memory.

    Returns:
        ``(largest size that ran, one record per size tried: batch_size, seconds_per_step, out_of_memory)``.
    """
    device = settings.device
    step = train_step(module, settings)
    dataset = datamodule.train_dataset
    augment = datamodule.augment.to(device)
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))
    size, largest = min(datamodule.batch_size, len(dataset)), 0
    trials: list[dict[str, Any]] = []
    batch: Batch | None
    started = time.perf_counter()
    while True:
        index = order[:size]
        try:
            batch = (
                augment(dataset.images[index].to(device), train=True),
                dataset.labels[index].to(device),
                dataset.sample_ids[index].to(device),
            )
            step(batch)
            trials.append({"batch_size": size, "seconds_per_step": seconds(partial(step, batch), device)})
        except torch.OutOfMemoryError:
            trials.append({"batch_size": size, "seconds_per_step": None, "out_of_memory": True})
            break
        finally:
            batch = None
            if device.type == "cuda":
                torch.cuda.empty_cache()
        largest = size
        if 2 * size > len(dataset) or time.perf_counter() - started > settings.probe_seconds:
            break
        size *= 2
    return largest, trials
