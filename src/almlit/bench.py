"""``python -m almlit.bench [group=choice ...] [bench.<key>=<value> ...]`` (``make bench``): where a run's time goes.

For the composed configuration it measures, in one process and side by side: training throughput of the base
loss alone and of base loss + ALM, validation throughput, the batched data pipeline against a per-sample
torchvision one, achieved GFLOP/s against the measured matmul GFLOP/s, peak memory, one Lightning epoch and the
stacked rows (K members trained as one batched model against K separate runs, ``bench.stack``; with
``bench.end_to_end=true`` also ``python -m almlit.demo`` as one stack against separate processes).
It prints a table and writes the numbers as JSON (``bench.output``). Options: conf/bench.yaml.
"""

from __future__ import annotations

import itertools
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from almlit.bad_overrides import run_hydra_main
from almlit.benchmark.end_to_end import measure_end_to_end
from almlit.benchmark.measure import (
    cuda_max_allocated_mib,
    device_name,
    matmul_flops_per_second,
    max_rss_mib,
    seconds,
)
from almlit.benchmark.pipelines import augmented_batches, batched_epoch, per_sample_epoch
from almlit.benchmark.results import check_targets, format_table, write_json
from almlit.benchmark.settings import BenchSettings, bench_settings
from almlit.benchmark.stacked import stacked_rows
from almlit.benchmark.synthetic import build_datamodule, wants_synthetic
from almlit.benchmark.training import (
    bench_module,
    on_device,
    probe_batch_size,
    time_epoch,
    time_training_steps,
    train_step,
    training_step_flops,
    validation_pass,
)
from almlit.config import CONFIG_DIR
from almlit.errors import one_line_errors

MAX_BATCHES = 50  # distinct pre-augmented batches kept for the step timings (they cycle)


def images_per_second(run: Callable[[], int], settings: BenchSettings) -> float:
    """Images per second of ``run``, which returns how many images it handled: median of the repeats after a warm-up."""
    count = run()
    return count / statistics.median(seconds(run, settings.device) for _ in range(settings.repeats))


def run_bench(
    cfg: DictConfig, model_name: str, data_name: str, progress: Callable[[str], None] = lambda message: None
) -> dict[str, Any]:
    """Measure everything for the composed config ``cfg``; returns the results that the table and JSON show.

    Args:
        cfg: the config composed from conf/bench.yaml.
        model_name: the ``model=`` choice, for the report.
        data_name: the ``data=`` choice, for the report.
        progress: called with a short message before each measurement.

    Raises:
        ValueError: for a bad ``bench.*`` option or a config without a constraint (``alm=none``).
    """
    settings = bench_settings(cfg.bench)
    if cfg.alm.constraint is None:
        raise ValueError("almlit.bench compares the base loss alone with base loss + ALM; alm=none has no constraint")
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    device = settings.device
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    load_at_start = os.getloadavg()[0]

    synthetic = wants_synthetic(cfg.data, settings.synthetic)
    overrides = {"batch_size": settings.batch_size} if isinstance(settings.batch_size, int) else {}
    datamodule = build_datamodule(cfg.data, synthetic, **overrides)
    options = {"channels_last": settings.channels_last, "compile": settings.compile}
    probed: list[dict[str, Any]] = []
    if settings.batch_size == "probe":
        progress(f"largest batch size, {settings.probe_seconds:g} s of probing")
        probe_module = on_device(bench_module(cfg, datamodule, True, **{**options, "compile": False}), device)
        datamodule.batch_size, probed = probe_batch_size(probe_module, datamodule, settings)
        del probe_module
    batches = list(itertools.islice(augmented_batches(datamodule, device), MAX_BATCHES))
    batch_size = len(batches[0][0])
    batches = [batch for batch in batches if len(batch[0]) == batch_size]  # an epoch's short last batch left out

    progress("matmul reference")
    matmul_dtype = settings.autocast_dtype or torch.float32
    matmul = matmul_flops_per_second(device, matmul_dtype, settings.matmul_size)
    flops = training_step_flops(bench_module(cfg, datamodule, constrained=True, compile=False), batches[0])

    progress("training steps, base loss alone and base loss + ALM")
    modules = {
        name: on_device(bench_module(cfg, datamodule, constrained, **options), device)
        for name, constrained in (("base", False), ("alm", True))
    }
    step_samples, steps = time_training_steps(
        {name: train_step(module, settings) for name, module in modules.items()}, batches, settings
    )
    step_seconds = {name: statistics.median(samples) for name, samples in step_samples.items()}
    progress("validation")
    validation = images_per_second(validation_pass(modules["alm"], datamodule, settings), settings)
    progress("data pipelines, batched and per-sample")
    batched = images_per_second(batched_epoch(datamodule, device), settings)
    per_sample = images_per_second(per_sample_epoch(datamodule, device), settings)
    stacked = stacked_rows(cfg, datamodule, batches, settings, progress)
    progress("one Lightning epoch")
    epoch_seconds, epoch_batches = time_epoch(cfg.trainer, modules["alm"], datamodule, settings)
    end_to_end = (
        measure_end_to_end(
            settings.end_to_end_repeats,
            settings.end_to_end_seeds,
            settings.end_to_end_epochs,
            progress=progress,
        )
        if settings.end_to_end
        else None
    )

    results: dict[str, Any] = {
        "setting": {
            "model": model_name,
            "data": data_name,
            "loss": type(modules["alm"].loss).__name__,
            "alm": type(modules["alm"].constraint).__name__,
            "imb": cfg.imb,
            "synthetic": synthetic,
            "device": device.type,
            "device_name": device_name(device),
            "threads": torch.get_num_threads(),
            "precision": settings.precision,
            "compile": settings.compile,
            "channels_last": settings.channels_last,
            "batch_size": batch_size,
            "batch_size_probe": probed,
            "eval_batch_size": datamodule.eval_batch_size,
            "train_images": len(datamodule.train_dataset),
            "validation_images": len(datamodule.val_dataset),
            "steps_per_repeat": steps,
            "warmup_steps": settings.warmup_steps,
            "step_repeats": settings.step_repeats,
            "repeats": settings.repeats,
            "torch": torch.__version__,
            "load_average": [load_at_start, os.getloadavg()[0]],
        },
        "training": {
            "base_seconds_per_step": step_seconds["base"],
            "alm_seconds_per_step": step_seconds["alm"],
            "base_images_per_s": batch_size / step_seconds["base"],
            "alm_images_per_s": batch_size / step_seconds["alm"],
            "alm_over_base": step_seconds["alm"] / step_seconds["base"],
            "base_seconds_per_step_by_repeat": step_samples["base"],
            "alm_seconds_per_step_by_repeat": step_samples["alm"],
        },
        "validation": {"images_per_s": validation},
        "data": {
            "batched_images_per_s": batched,
            "per_sample_images_per_s": per_sample,
            "batched_over_per_sample": batched / per_sample,
        },
        "compute": {
            "gflop_per_step": flops / 1e9,
            "train_gflop_per_s": flops / step_seconds["alm"] / 1e9,
            "matmul_gflop_per_s": matmul / 1e9,
            "matmul_dtype": str(matmul_dtype).removeprefix("torch."),
            "matmul_size": settings.matmul_size,
            "matmul_fraction": flops / step_seconds["alm"] / matmul,
        },
        "memory": {"cpu_max_rss_mib": max_rss_mib(), "cuda_max_allocated_mib": cuda_max_allocated_mib(device)},
        "epoch": {"seconds": epoch_seconds, "train_batches": epoch_batches},
        "stacking": stacked,
        "end_to_end": end_to_end,
    }
    results["targets"] = check_targets(results)
    return results


def default_output(output_root: str, model_name: str, data_name: str, device: str) -> Path:
    """``<output_root>/bench/<model>-<data>-<device>.json``."""
    return Path(output_root) / "bench" / f"{model_name}-{data_name}-{device}.json"


def print_progress(message: str) -> None:
    print(f"bench: {message} ...", file=sys.stderr, flush=True)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="bench")
def bench(cfg: DictConfig) -> None:
    choices = HydraConfig.get().runtime.choices
    with one_line_errors():
        results = run_bench(cfg, choices["model"], choices["data"], print_progress)
    output = Path(
        cfg.bench.output
        or default_output(cfg.paths.output_root, choices["model"], choices["data"], results["setting"]["device"])
    )
    write_json(results, output)
    print(format_table(results))
    print(f"\nJSON: {output}")


def main() -> None:
    """``python -m almlit.bench [overrides]``; a command line that does not compose gets one line, exit status 2."""
    run_hydra_main(bench, "bench")


if __name__ == "__main__":
    main()
