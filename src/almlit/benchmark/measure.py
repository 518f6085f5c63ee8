"""Timing, FLOP counting and memory: the measuring instruments of ``python -m almlit.bench``.

Every timing synchronises the device before reading the clock, so queued GPU work is counted where it runs.
"""

from __future__ import annotations

import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode


def synchronize(device: torch.device) -> None:
    """Wait for the work queued on ``device`` (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds(run: Callable[[], object], device: torch.device) -> float:
    """Wall-clock seconds of one call of ``run``, including the device work it queued."""
    synchronize(device)
    started = time.perf_counter()
    run()
    synchronize(device)
    return time.perf_counter() - started


def interleaved_samples(runs: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Call every run ``repeats`` times, alternating their order (A B, B A, A B, ...).

    Alternating the order spreads slow drifts of the machine (other processes, clock changes) evenly over the
    runs, so the medians of two runs compare like with like.

    Args:
        runs: name -> function returning one measurement (e.g. seconds per step).
        repeats: measurements per run, >= 1.

    Returns:
        name -> its measurements, in the order taken.
    """
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for repeat in range(repeats):
        order = list(runs) if repeat % 2 == 0 else list(reversed(runs))
        for name in order:
            samples[name].append(runs[name]())
    return samples


def count_flops(run: Callable[[], object]) -> int:
    """FLOPs of the matrix products and convolutions that ``run`` executes, forward and backward.

    Counted with :class:`torch.utils.flop_counter.FlopCounterMode` from the shapes (a multiply-add is 2 FLOPs);
    elementwise work such as BatchNorm, ReLU or the optimiser's update counts zero.
    """
    with FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops()


def matmul_flops_per_second(device: torch.device, dtype: torch.dtype, size: int = 2048, repeats: int = 10) -> float:
    """Measured FLOP/s of a square ``torch.mm`` on ``device``: the practical ceiling of a dense workload.

    Args:
        device: where to multiply.
        dtype: element type (float32, or the autocast type of a mixed-precision run).
        size: side of the two square matrices; ``2 * size**3`` FLOPs per product.
        repeats: timed products after one warm-up; the median is used.
    """
    generator = torch.Generator(device=device).manual_seed(0)
    left, right = (torch.randn(size, size, device=device, dtype=dtype, generator=generator) for _ in range(2))
    torch.mm(left, right)
    timings = [seconds(lambda: torch.mm(left, right), device) for _ in range(repeats)]
    return 2 * size**3 / statistics.median(timings)


def max_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def cuda_max_allocated_mib(device: torch.device) -> float | None:
    """Peak memory held by tensors on a CUDA ``device`` since the last reset, in MiB; ``None`` on the CPU."""
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU model as /proc/cpuinfo gives it."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
