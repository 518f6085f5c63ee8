"""``python -m almlit.demo`` (``make demo``): BCE vs ALM + BCE on the embedded digits data.

Trains the baseline and its constrained version with the same seeds through the real entry point
(``python -m almlit.train``), one run folder each under ``outputs/demo/``, then prints their test
metrics side by side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

SETTINGS = {
    "BCE": ["alm=none"],
    "ALM + BCE": ["alm=binary", "alm.penalty_init=1e-2", "alm.constraint.margin=0.25"],
}
COMMON = [
    "data=digits",
    "loss=bce",
    "imb=50",
    "trainer.max_epochs=40",
    "optim.lr=0.01",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]
COLUMNS = ("auc", "fpr@98tpr", "fpr@95tpr", "fpr@90tpr", "fpr@0fn", "fpr@1fn")
WIDTH = 14


def train(name: str, overrides: list[str], seed: int, output_root: Path) -> dict:
    """One run of ``python -m almlit.train``; its metrics.json."""
    run_dir = output_root / f"{name.replace(' + ', '_').lower()}_seed{seed}"
    command = [sys.executable, "-m", "almlit.train", *COMMON, *overrides, f"seed={seed}", f"hydra.run.dir={run_dir}"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"almlit: error: the {name} run (seed {seed}) failed:\n{result.stderr.strip()}")
    return json.loads((run_dir / "metrics.json").read_text())


def format_cell(values: list[float]) -> str:
    """Mean +- standard deviation in percent."""
    mean = 100 * statistics.fmean(values)
    spread = 100 * statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.1f}±{spread:.1f}".rjust(WIDTH)


def table(results: dict[str, list[dict]]) -> str:
    header = " " * 10 + "".join(column.rjust(WIDTH) for column in COLUMNS)
    rows = [
        f"{name:<10}" + "".join(format_cell([run["test"][column] for run in runs]) for column in COLUMNS)
        for name, runs in results.items()
    ]
    return "\n".join([header, *rows])


def machine() -> str:
    """What the numbers depend on besides the code: the device the runs train on (``trainer.accelerator=auto``: the
    GPU if there is one, else the CPU model as ``lscpu`` names it), the torch version and its CPU kernel set.

    Runs repeat exactly on one machine, not across CPU models: torch picks its kernels by the instruction set.
    """
    import torch  # here: the trainings run in subprocesses, and --help needs no torch

    from almlit.bench import device_name

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    kernels = torch.backends.cpu.get_cpu_capability()
    return f"{device_name(device)}, torch {torch.__version__}, CPU kernels {kernels}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="runs per setting (split and init seeds 0..n-1)")
    parser.add_argument("--output-root", type=Path, default=Path("outputs/demo"))
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    started = time.perf_counter()
    results: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for seed in range(args.seeds):
        for name, overrides in SETTINGS.items():
            print(f"training {name:<10} seed {seed} ...", flush=True)
            results[name].append(train(name, overrides, seed, args.output_root))
    print(f"\nTest metrics on digits (critical class: 8, train ratio 1:50), mean ± std over {args.seeds} seeds, in %")
    print("(AUC: higher is better; FPR at a TPR or at k false negatives: lower is better)\n")
    print(table(results))
    print(f"\nrun folders: {args.output_root}/   total time: {time.perf_counter() - started:.0f} s")
    print(f"machine: {machine()} (runs repeat exactly on one machine, not across CPU models)")


if __name__ == "__main__":
    main()
