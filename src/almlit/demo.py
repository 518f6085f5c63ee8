"""``python -m almlit.demo`` (``make demo``): BCE vs ALM + BCE on the embedded digits data.

Trains the baseline and its constrained version with the same seeds through the real entry point
(``python -m almlit.train``), one run folder each under ``outputs/demo/``, then prints their test
metrics side by side.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

SETTINGS = {"BCE": ["alm=none"], "ALM + BCE": ["alm=binary"]}
COMMON = [
    "data=digits",
    "loss=bce",
    "imb=50",
    "trainer.max_epochs=40",
    "optim.lr=0.01",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]
COLUMNS = ("auc", "fpr@98tpr", "fpr@95tpr", "fpr@92tpr", "fpr@90tpr", "fpr@0fn", "fpr@1fn")


def train(name: str, overrides: list[str], seed: int, output_root: Path) -> dict:
    run_dir = output_root / f"{name.replace(' + ', '_').lower()}_seed{seed}"
    command = [sys.executable, "-m", "almlit.train", *COMMON, *overrides, f"seed={seed}", f"hydra.run.dir={run_dir}"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads((run_dir / "metrics.json").read_text())


def format_row(name: str, runs: list[dict]) -> str:
    cells = []
    for column in COLUMNS:
        values = [run["test"][column] for run in runs]
        mean = sum(values) / len(values)
        cells.append(f"{100 * mean:9.1f}")
    return f"{name:<10}" + "".join(cells)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="runs per setting (split and init seeds 0..n-1)")
    parser.add_argument("--output-root", type=Path, default=Path("outputs/demo"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = {}
    for name, overrides in SETTINGS.items():
        results[name] = []
        for seed in range(args.seeds):
            print(f"training {name:<10} seed {seed} ...", flush=True)
            results[name].append(train(name, overrides, seed, args.output_root))
    print(f"\nTest metrics on digits (critical class 8, 1:50), mean of {args.seeds} seeds, in %:")
    print(f"{'':<10}" + "".join(f"{column:>9}" for column in COLUMNS))
    for name, runs in results.items():
        print(format_row(name, runs))
    print(f"\nrun folders: {args.output_root}/   total time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
