"""``python -m almlit.demo`` (``make demo``): BCE vs ALM + BCE on the embedded digits data.

Trains the baseline and its constrained version with the same seeds, one run folder each under ``outputs/demo/``:
by default all of them as one stacked model (``--stack 6``, :mod:`almlit.stacking`: each run keeps its own data,
state and decisions, and equals the run trained alone up to float32 rounding), or each through the real entry point
``python -m almlit.train`` in its own process (``--stack 1``). Then prints their test
metrics side by side, and the test TPR and FPR at the thresholds each run chose on its validation split
(``operating_points.json``) beside the paper's oracle FPR @ TPR, whose threshold is chosen on the test set itself.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from almlit.decision.operating_points import load_operating_points

SETTINGS = {
    "BCE": ["alm=none"],
    "ALM + BCE": ["alm=binary", "alm.penalty_init=1e-2", "alm.constraint.margin=0.25"],
}
MAX_EPOCHS = 40
COMMON = [
    "data=digits",
    "loss=bce",
    "imb=50",
    f"trainer.max_epochs={MAX_EPOCHS}",
    "optim.lr=0.01",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def common_overrides(max_epochs: int = MAX_EPOCHS) -> list[str]:
    """:data:`COMMON` with ``trainer.max_epochs`` set to ``max_epochs`` (in its place: the runs' overrides keep their
    order)."""
    return [f"trainer.max_epochs={max_epochs}" if item.startswith("trainer.max_epochs=") else item for item in COMMON]


COLUMNS = ("auc", "fpr@98tpr", "fpr@95tpr", "fpr@90tpr", "fpr@0fn", "fpr@1fn")
DEPLOYED_LEVELS = (0.98, 0.95, 0.90)
WIDTH = 14


def run_folder(name: str, seed: int, output_root: Path) -> Path:
    """``<output_root>/<setting>_seed<seed>``."""
    return output_root / f"{name.replace(' + ', '_').lower()}_seed{seed}"


def train(name: str, overrides: list[str], seed: int, output_root: Path, common: list[str]) -> dict:
    """One run of ``python -m almlit.train`` with the ``common`` overrides; its metrics.json, with its operating points
    under ``"deployed"``."""
    run_dir = run_folder(name, seed, output_root)
    command = [sys.executable, "-m", "almlit.train", *common, *overrides, f"seed={seed}", f"hydra.run.dir={run_dir}"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"almlit: error: the {name} run (seed {seed}) failed:\n{result.stderr.strip()}")
    return read_run(run_dir)


def train_stacked(seeds: int, output_root: Path, stack: int, common: list[str]) -> dict[str, list[dict]]:
    """Every run of every setting (the ``common`` overrides and its own), those not finished yet trained in stacks of
    at most ``stack`` (one process)."""
    from almlit.report.ensemble_members import compose_member, resolve_member  # here: --help needs no torch
    from almlit.runs.reader import is_finished
    from almlit.stacking.run import train_stacks

    jobs = [(name, overrides, seed) for seed in range(seeds) for name, overrides in SETTINGS.items()]
    pending = [job for job in jobs if not is_finished(run_folder(job[0], job[2], output_root))]
    for start in range(0, len(pending), stack):
        group = pending[start : start + stack]
        print(f"training {', '.join(f'{name} seed {seed}' for name, _, seed in group)} as one stack ...", flush=True)
        run_dirs = [run_folder(name, seed, output_root) for name, _, seed in group]
        configs = [
            resolve_member(compose_member([*common, *overrides], seed=seed), run_dir)
            for (_, overrides, seed), run_dir in zip(group, run_dirs, strict=True)
        ]
        train_stacks(configs, run_dirs, [[*common, *overrides, f"seed={seed}"] for _, overrides, seed in group])
    return {name: [read_run(run_folder(name, seed, output_root)) for seed in range(seeds)] for name in SETTINGS}


def read_run(run_dir: Path) -> dict:
    """A finished run folder's metrics.json, with its operating points under ``"deployed"``."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["deployed"] = {point["target_tpr"]: point for point in load_operating_points(run_dir)["operating_points"]}
    return metrics


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


def deployed_table(results: dict[str, list[dict]]) -> str:
    """Per target TPR t: the test TPR and FPR at the threshold chosen on validation, and the oracle FPR @ t TPR."""
    columns = [(level, column) for level in DEPLOYED_LEVELS for column in ("TPR", "FPR", "oracle FPR")]
    header = " " * 10 + "".join(f"{column}@{round(100 * level)}".rjust(WIDTH) for level, column in columns)
    rows = []
    for name, runs in results.items():
        cells = []
        for level, column in columns:
            if column == "oracle FPR":
                values = [run["test"][f"fpr@{round(100 * level)}tpr"] for run in runs]
            else:
                values = [run["deployed"][level]["test"][column.lower()] for run in runs]
            cells.append(format_cell(values))
        rows.append(f"{name:<10}" + "".join(cells))
    return "\n".join([header, *rows])


def certification_note(runs: list[dict]) -> str:
    """How many validation positives the runs had and which target TPRs that certifies."""
    points = runs[0]["deployed"]
    positives = next(iter(points.values()))["calibration_positives"]
    certified = [f"{round(100 * level)}%" for level, point in points.items() if point["certified"]]
    needed = ", ".join(f"{round(100 * level)}%: {point['positives_needed']}" for level, point in points.items())
    verdict = f"certified: {', '.join(certified)}" if certified else "too few to certify any target"
    return f"{positives} validation positives per run, {verdict} (positives needed at 95% confidence, {needed})"


def machine() -> str:
    """What the numbers depend on besides the code: the device the runs train on (``trainer.accelerator=auto``: the
    GPU if there is one, else the CPU model as ``lscpu`` names it), the torch version and its CPU kernel set.

    Runs repeat exactly on one machine, not across CPU models: torch picks its kernels by the instruction set.
    """
    import torch  # here: the trainings run in subprocesses, and --help needs no torch

    from almlit.benchmark.measure import device_name

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    kernels = torch.backends.cpu.get_cpu_capability()
    return f"{device_name(device)}, torch {torch.__version__}, CPU kernels {kernels}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m almlit.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="runs per setting (split and init seeds 0..n-1)")
    parser.add_argument("--output-root", type=Path, default=Path("outputs/demo"))
    parser.add_argument(
        "--stack", type=int, default=6, help="runs trained as one stacked model (1: each run in its own process)"
    )
    parser.add_argument("--max-epochs", type=int, default=MAX_EPOCHS, help="epochs per run (trainer.max_epochs)")
    args = parser.parse_args(argv)
    if args.max_epochs < 1:
        parser.error(f"--max-epochs must be >= 1, got {args.max_epochs}")
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    if args.stack < 1:
        parser.error(f"--stack must be >= 1, got {args.stack}")
    from almlit.runs.reader import is_finished  # here: --help needs no torch

    started = time.perf_counter()
    common = common_overrides(args.max_epochs)
    results: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    if args.stack > 1:
        results = train_stacked(args.seeds, args.output_root, args.stack, common)
    for seed in range(args.seeds if args.stack == 1 else 0):
        for name, overrides in SETTINGS.items():
            run_dir = run_folder(name, seed, args.output_root)
            if is_finished(run_dir):  # trained before: read, as almlit.train would find it
                results[name].append(read_run(run_dir))
                continue
            print(f"training {name:<10} seed {seed} ...", flush=True)
            results[name].append(train(name, overrides, seed, args.output_root, common))
    print(f"\nTest metrics on digits (critical class: 8, train ratio 1:50), mean ± std over {args.seeds} seeds, in %")
    print("(AUC: higher is better; FPR at a TPR or at k false negatives: lower is better)\n")
    print(table(results))
    print("\nAt the thresholds chosen on each run's validation split, then frozen: test TPR and FPR in %, beside the")
    print("paper's oracle FPR @ TPR (threshold chosen on the test set itself)")
    print(certification_note(next(iter(results.values()))) + "\n")
    print(deployed_table(results))
    print(f"\nrun folders: {args.output_root}/   total time: {time.perf_counter() - started:.0f} s")
    print(f"machine: {machine()} (runs repeat exactly on one machine, not across CPU models)")


if __name__ == "__main__":
    main()
