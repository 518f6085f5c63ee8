"""The benchmark's end-to-end stacked row (``bench.end_to_end=true``): ``python -m almlit.demo`` timed as one stack
against the same runs as separate ``python -m almlit.train`` processes (``--stack 1``), issue 18's first CPU target.

Both are the real commands, run as subprocesses into fresh temporary folders (a finished run folder would be
skipped), in interleaved repeats (stack, separate; separate, stack; ...), so a change of the machine's load hits both
alike. Everything a user waits for is in the times: start-up, composing the configs, the data, training, the tests,
the calibration, the figures and the demo's table.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from almlit.benchmark.measure import interleaved_samples

TARGET = 3.0  # issue 18: a stack of 6 at least 3x faster than 6 separate runs, end to end (CPU, the demo's CNN)
VARIANTS = ("stacked", "separate")


def demo_arguments(seeds: int, max_epochs: int) -> list[str]:
    """The demo's arguments for ``seeds`` runs per setting of ``max_epochs`` epochs each."""
    return ["--seeds", str(seeds), "--max-epochs", str(max_epochs)]


def demo_command(variant: str, output_root: Path, seeds: int, max_epochs: int) -> list[str]:
    """The demo's command line for ``variant``: ``stacked`` (all ``2 * seeds`` runs as one stack) or ``separate``
    (``--stack 1``: every run its own ``python -m almlit.train`` process), writing under ``output_root``."""
    stack = 1 if variant == "separate" else 2 * seeds  # the demo trains two settings per seed
    arguments = ["--stack", str(stack), *demo_arguments(seeds, max_epochs)]
    return [sys.executable, "-m", "almlit.demo", "--output-root", str(output_root), *arguments]


def run_timed(command: Sequence[str]) -> float:
    """Wall-clock seconds of ``command`` run to its end.

    Raises:
        RuntimeError: if it fails, with the last line it wrote to stderr.
    """
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
        raise RuntimeError(f"{' '.join(command[1:])} failed with exit status {result.returncode}: {last}")
    return seconds


def end_to_end_row(
    samples: dict[str, list[float]], seeds: int, max_epochs: int, load_average: Sequence[float]
) -> dict[str, Any]:
    """The end-to-end row from the measured wall times.

    Args:
        samples: seconds of each repeat, per variant (``stacked``, ``separate``).
        seeds: the demo's ``--seeds`` (it trains ``2 * seeds`` runs: the members of the stack).
        max_epochs: its ``--max-epochs``.
        load_average: the 1-minute load average before and after the measurement.

    Returns:
        ``runs``, ``arguments`` (the demo's, both variants), ``stacked_seconds`` and ``separate_seconds``
        (medians), their repeats (``*_by_repeat``), ``separate_over_stacked`` (the speed-up), the ``target`` and
        whether it ``holds``, ``load_average``.
    """
    stacked, separate = (statistics.median(samples[name]) for name in VARIANTS)
    return {
        "runs": 2 * seeds,
        "arguments": demo_arguments(seeds, max_epochs),
        "stacked_seconds": stacked,
        "separate_seconds": separate,
        "stacked_seconds_by_repeat": list(samples["stacked"]),
        "separate_seconds_by_repeat": list(samples["separate"]),
        "separate_over_stacked": separate / stacked,
        "target": TARGET,
        "holds": separate / stacked >= TARGET,
        "load_average": list(load_average),
    }


def end_to_end_line(row: dict[str, Any]) -> str:
    """The row as the stacked table prints it."""
    command = " ".join(["python -m almlit.demo", *row["arguments"]])
    verdict = "ok" if row["holds"] else "MISSED"
    repeats = len(row["stacked_seconds_by_repeat"])
    return (
        f"  end to end, {command} ({row['runs']} runs): one stack {row['stacked_seconds']:.1f} s   separate "
        f"processes {row['separate_seconds']:.1f} s   separate / stack {row['separate_over_stacked']:.2f}x   "
        f"target >= {row['target']:g}x {verdict}   (median of {repeats}, interleaved; load average "
        f"{row['load_average'][0]:.2f} to {row['load_average'][1]:.2f})"
    )


def measure_end_to_end(
    repeats: int,
    seeds: int,
    max_epochs: int,
    run: Callable[[Sequence[str]], float] = run_timed,
    progress: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """Time the demo as one stack and as separate processes, ``repeats`` times each, interleaved.

    Args:
        repeats: timed runs of each variant (medians reported).
        seeds: the demo's ``--seeds`` (``2 * seeds`` runs; 3 by default: the stack of 6 of issue 18's target).
        max_epochs: its ``--max-epochs`` (40 by default).
        run: runs a command line and returns its seconds (:func:`run_timed`).
        progress: called before each command.

    Returns:
        :func:`end_to_end_row`.
    """
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="almlit-bench-demo-") as folder:
        counts = dict.fromkeys(VARIANTS, 0)

        def timed(variant: str) -> Callable[[], float]:
            def once() -> float:
                counts[variant] += 1
                command = demo_command(variant, Path(folder) / f"{variant}{counts[variant]}", seeds, max_epochs)
                progress(f"end to end: the demo, {variant} ({counts[variant]}/{repeats})")
                return run(command)

            return once

        samples = interleaved_samples({variant: timed(variant) for variant in VARIANTS}, repeats)
    return end_to_end_row(samples, seeds, max_epochs, (load_at_start, os.getloadavg()[0]))
