"""``python -m almlit.benchmark.members OUTPUT.json --processes 1 2 4 8 [--seconds S] [--set OVERRIDE ...]``.

How many ensemble members one device holds: for each count N, N processes train the configured run at once on the
same device (as ``hydra/launcher=joblib`` runs members in parallel), each its own network, multiplier bank and
batches, and the images per second of each and of all together are measured over the same window. The aggregate
stops growing once the device is saturated.

Each process is forked from this one after the data are set up (the data are shared, copy-on-write; the device is
first touched in the children), runs an untimed two-batch Lightning epoch (allocator, cuDNN autotuning, compilation),
waits for the others, then trains for ``--seconds`` (Lightning's ``max_time``), counting the images of its training
batches between the start of its first and the end of its last. Each process uses its share of the CPU cores.
The overrides are those of ``almlit.bench`` (conf/bench.yaml): ``bench.device``, ``trainer.precision``,
``module.channels_last``, the data and model. The JSON is rewritten after each N.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import queue
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig

from almlit.benchmark.measure import synchronize
from almlit.benchmark.settings import BenchSettings, bench_settings
from almlit.benchmark.synthetic import build_datamodule, wants_synthetic
from almlit.benchmark.training import bench_module, on_device, time_epoch
from almlit.data import ImageDataModule
from almlit.errors import BAD_INPUT, one_line_errors
from almlit.report.ensemble_members import compose_member

WARMUP_BATCHES = 2


class ImageCounter(L.Callback):
    """Training images and the seconds from the start of the first training batch to the end of training."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.images = 0
        self.started: float | None = None
        self.seconds = 0.0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, *args: Any) -> None:
        if self.started is None:
            synchronize(self.device)
            self.started = time.perf_counter()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, *args: Any
    ):
        self.images += len(batch[0])

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        synchronize(self.device)
        self.seconds = time.perf_counter() - (self.started or time.perf_counter())


def member(
    config: DictConfig,
    settings: BenchSettings,
    datamodule: ImageDataModule,
    window_seconds: float,
    threads: int,
    barrier: Any,
    results: Any,
) -> None:
    """One process: warm up, wait for the others at ``barrier``, train for ``window_seconds``; put its count."""
    torch.set_num_threads(threads)
    options = {"channels_last": settings.channels_last, "compile": settings.compile}
    module = on_device(bench_module(config, datamodule, constrained=True, **options), settings.device)
    time_epoch(config.trainer, module, datamodule, settings, limit_train_batches=WARMUP_BATCHES, limit_val_batches=0)
    counter = ImageCounter(settings.device)
    barrier.wait()
    window = datetime.timedelta(seconds=window_seconds)
    time_epoch(
        config.trainer, module, datamodule, settings, [counter], max_epochs=-1, max_time=window, limit_val_batches=0
    )
    results.put((counter.images, counter.seconds))


def collect(results: Any, children: Sequence[Any], timeout: float) -> list[tuple[int, float]]:
    """One result per child from the queue ``results``.

    Raises:
        RuntimeError: a child exited without a result (its traceback is on stderr), or ``timeout`` seconds passed.
    """
    deadline = time.monotonic() + timeout
    counts: list[tuple[int, float]] = []
    while len(counts) < len(children):
        try:
            counts.append(results.get(timeout=1.0))
            continue
        except queue.Empty:
            pass
        failed = [child.exitcode for child in children if child.exitcode not in (None, 0)]
        if failed or time.monotonic() > deadline:
            raise RuntimeError(
                f"{len(children)} members: {len(counts)} results after {timeout - deadline + time.monotonic():.0f} s,"
                f" members' exit codes {[child.exitcode for child in children]}"
            )
    return counts


def measure_members(
    config: DictConfig, processes: int, window_seconds: float, datamodule: ImageDataModule, timeout: float
) -> dict[str, Any]:
    """``processes`` members training at once; their images/s each and in sum.

    Raises:
        RuntimeError: a member process failed or did not report within ``timeout`` seconds.
    """
    settings = bench_settings(config.bench)
    # fork shares the data; it needs a parent that has not initialised CUDA (PYTORCH_NVML_BASED_CUDA_CHECK=1)
    context = multiprocessing.get_context("spawn" if torch.cuda.is_initialized() else "fork")
    barrier, results = context.Barrier(processes), context.Queue()
    threads = max(1, (os.cpu_count() or 1) // processes)
    arguments = (config, settings, datamodule, window_seconds, threads, barrier, results)
    # typeshed's BaseContext (what get_context returns for a str it cannot see) omits Process; every context has it
    children = [context.Process(target=member, args=arguments) for _ in range(processes)]  # type: ignore[attr-defined]
    for child in children:
        child.start()
    try:
        counts = collect(results, children, timeout)
    finally:
        for child in children:
            child.join(timeout=10)
            if child.is_alive():
                child.kill()
    rates = [images / seconds for images, seconds in counts]
    return {
        "processes": processes,
        "threads_per_process": threads,
        "images_per_s": rates,
        "aggregate_images_per_s": sum(rates),
        "seconds": [seconds for _, seconds in counts],
    }


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m almlit.benchmark.members", description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the JSON file")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4, 8], help="member counts to measure")
    parser.add_argument("--seconds", type=float, default=6.0, help="timed training window of each count")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the members of one count")
    parser.add_argument("--set", nargs="+", default=[], metavar="OVERRIDE", help="config overrides (as for bench)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")  # is CUDA there? without initialising it (fork)
    args = parse_arguments(argv)
    with one_line_errors(BAD_INPUT):
        if any(count < 1 for count in args.processes) or args.seconds <= 0:
            raise ValueError(f"--processes must be >= 1 and --seconds > 0, got {args.processes} and {args.seconds}")
        config = compose_member(args.set, config_name="bench")
        settings = bench_settings(config.bench)
        datamodule = build_datamodule(config.data, wants_synthetic(config.data, settings.synthetic))
        report: dict[str, Any] = {
            "device": settings.device.type,
            "precision": settings.precision,
            "channels_last": settings.channels_last,
            "batch_size": datamodule.batch_size,
            "overrides": list(args.set),
            "counts": [],
        }
        for processes in args.processes:
            result = measure_members(config, processes, args.seconds, datamodule, args.timeout)
            report["counts"].append(result)
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps(report, indent=2) + "\n")
            print(f"{processes} members: {result['aggregate_images_per_s']:.0f} images/s together", flush=True)


if __name__ == "__main__":
    main()
