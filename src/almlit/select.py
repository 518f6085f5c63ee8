"""``python -m almlit.select SWEEP_FOLDER [SWEEP_FOLDER ...]``: the paper's two-stage hyper-parameter choice.

Section 5.2 of the paper: "Once we find the best combination of mu and rho based on the chosen metrics on the
validation set, we fix them and we search for delta as final step." The validation metric is each run's
``metrics.json`` ``best_val`` (validation AUC for binary data, validation accuracy for multi-class data).

The swept hyper-parameters are read from the runs themselves: every config key whose value differs between the
finished runs (seeds aside: repeats of one grid point are averaged).

- Stage 1 compares the grid points of every swept key but delta (``alm.constraint.margin``): (mu0, rho) for ALM,
  the loss's own parameter for a baseline. When delta is swept too, stage 1 uses the runs at the stage-1 delta
  (``--stage1-margin``, default: the margin of ``conf/alm/binary.yaml``).
- Stage 2 compares the deltas of the runs that share the stage-1 choice.

The choice is printed and written as ``selection.yaml`` (in the first folder, or ``--output``): the winning run's
training overrides, which ``python -m almlit.ensemble selection=<file>`` trains.

Examples:
    python -m almlit.train -m +sweep=alm_grid loss=bce data=cifar10 imb=100
    python -m almlit.select outputs/sweeps/<sweep folder>
    python -m almlit.select <stage-1 folder> <stage-2 folder>       # the cheaper two sweeps alm_stage1, alm_stage2
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from omegaconf import OmegaConf

from almlit.config import CONFIG_DIR
from almlit.errors import one_line_errors
from almlit.report.ensemble_members import is_launch_override, override_key
from almlit.runs.atomic_files import write_atomically
from almlit.runs.identity import comparable
from almlit.runs.reader import finished_runs, read_config, read_metrics

SELECTION_FILE = "selection.yaml"
STAGE2_SUFFIX = "constraint.margin"
Params = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Stage:
    """One stage of the choice: the mean validation value and the number of runs of every grid point compared."""

    keys: tuple[str, ...]
    fixed: Params
    points: dict[Params, tuple[float, int]]
    chosen: Params


@dataclass(frozen=True)
class Choice:
    """The stages run (one or two) and the chosen value of every swept key."""

    stages: list[Stage]
    chosen: dict[str, Any] = field(default_factory=dict)


def swept_keys(configs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The keys whose value differs between the :func:`~almlit.runs.identity.comparable` configs, sorted."""
    keys = sorted({key for config in configs for key in config})
    missing = object()
    return [key for key in keys if len({repr(config.get(key, missing)) for config in configs}) > 1]


def sort_key(params: Params) -> tuple:
    """Grid points in numeric order where values are numbers (so ties go to the smallest), else by text."""
    return tuple((0, value, "") if isinstance(value, int | float) else (1, 0, repr(value)) for _, value in params)


def best_point(results: Sequence[tuple[dict[str, Any], float]], keys: Sequence[str], fixed: Params) -> Stage:
    """Group ``(params, value)`` results by their values of ``keys`` and keep the point of highest mean value.

    Ties go to the first point in :func:`sort_key` order. NaN values (a run that never validated) lose.
    """
    grouped: dict[Params, list[float]] = {}
    for params, value in results:
        grouped.setdefault(tuple((key, params[key]) for key in keys), []).append(value)
    points = {point: (statistics.fmean(values), len(values)) for point, values in grouped.items()}
    ordered = sorted(points, key=sort_key)
    chosen = max(ordered, key=lambda point: -math.inf if math.isnan(points[point][0]) else points[point][0])
    return Stage(tuple(keys), fixed, {point: points[point] for point in ordered}, chosen)


def two_stage_choice(results: Sequence[tuple[dict[str, Any], float]], stage1_margin: float | None = None) -> Choice:
    """The paper's two-stage choice on ``(swept params, validation value)`` results, higher values better.

    Args:
        results: one entry per finished run; every params dict has the same keys (the swept ones).
        stage1_margin: the delta at which stage 1 compares its grid points, when delta is swept.

    Raises:
        ValueError: when delta is swept but no run used ``stage1_margin``.
    """
    keys = sorted(results[0][0])
    stage2_keys = [key for key in keys if key.endswith(STAGE2_SUFFIX)]
    stage1_keys = [key for key in keys if key not in stage2_keys]
    stages = []
    chosen: dict[str, Any] = {}
    if stage1_keys:
        stage1_results = results
        fixed: Params = ()
        if stage2_keys:
            fixed = tuple((key, stage1_margin) for key in stage2_keys)
            stage1_results = [(params, value) for params, value in results if all(params[k] == v for k, v in fixed)]
            if not stage1_results:
                values = sorted({params[stage2_keys[0]] for params, _ in results})
                raise ValueError(
                    f"stage 1 compares runs at {stage2_keys[0]}={stage1_margin}, but the sweep has none; "
                    f"it has {values}: pass --stage1-margin with one of them"
                )
        stages.append(best_point(stage1_results, stage1_keys, fixed))
        chosen.update(stages[-1].chosen)
    if stage2_keys:
        fixed = tuple(chosen.items())
        stage2_results = [(params, value) for params, value in results if all(params[k] == v for k, v in fixed)]
        stages.append(best_point(stage2_results, stage2_keys, fixed))
        chosen.update(stages[-1].chosen)
    return Choice(stages, chosen)


def selection_overrides(run_dir: Path) -> list[str]:
    """The training overrides of a sweep run (``.hydra/overrides.yaml``), less the sweep, Hydra and seed ones."""
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: select needs the Hydra sweep folders as written by almlit.train -m")
    kept = []
    for override in cast(list[str], OmegaConf.to_container(OmegaConf.load(path))):  # Hydra writes a list of str
        if override_key(override) in ("sweep", "seed") or is_launch_override(override):
            continue
        kept.append(override)
    return kept


def collect(folders: Sequence[Path]) -> tuple[list[Path], list[dict[str, Any]], str, list[float]]:
    """Finished runs of the folders, their comparable configs, the monitored metric and its best values.

    Raises:
        ValueError: no finished run, or runs that monitor different metrics.
    """
    runs = [run for folder in folders for run in finished_runs(folder)]
    if not runs:
        raise ValueError(f"no finished run (a folder with a COMPLETE marker) under {', '.join(map(str, folders))}")
    monitors, values = [], []
    for run in runs:
        ((monitor, value),) = read_metrics(run)["best_val"].items()
        monitors.append(monitor)
        values.append(float(value))
    if len(set(monitors)) > 1:
        raise ValueError(f"the runs monitor different validation metrics: {sorted(set(monitors))}")
    return runs, [comparable(read_config(run)) for run in runs], monitors[0], values


def format_stage(number: int, stage: Stage, monitor: str) -> str:
    fixed = ", ".join(f"{key}={value}" for key, value in stage.fixed)
    lines = [f"stage {number}: {', '.join(stage.keys)}" + (f"   (with {fixed})" if fixed else "")]
    width = max(len(key) for key in stage.keys) + 2
    lines.append("  " + "".join(key.ljust(width) for key in stage.keys) + f"{monitor:>10}  runs")
    for point, (mean, count) in stage.points.items():
        mark = "   <- chosen" if point == stage.chosen else ""
        cells = "".join(str(value).ljust(width) for _, value in point)
        lines.append(f"  {cells}{mean:>10.4f}  {count:>4}{mark}")
    return "\n".join(lines)


def default_stage1_margin() -> float:
    """The default delta of ``conf/alm/binary.yaml``: stage 1 compares (mu0, rho) at the margin users start from."""
    return float(OmegaConf.load(Path(CONFIG_DIR) / "alm" / "binary.yaml").constraint.margin)


def select(folders: Sequence[Path], output: Path | None, stage1_margin: float | None) -> tuple[Choice, Path, str]:
    """Apply the two-stage rule to the runs under ``folders`` and write the selection file.

    Returns:
        The choice, the selection file written, and the report printed.
    """
    runs, configs, monitor, values = collect(folders)
    keys = swept_keys(configs)
    if not keys:
        raise ValueError(f"the {len(runs)} finished runs under {', '.join(map(str, folders))} sweep no hyper-parameter")
    margin = default_stage1_margin() if stage1_margin is None else stage1_margin
    results = [({key: config.get(key) for key in keys}, value) for config, value in zip(configs, values, strict=True)]
    choice = two_stage_choice(results, margin)
    winner = next(run for run, (params, _) in zip(runs, results, strict=True) if params == choice.chosen)
    overrides = selection_overrides(winner)
    output = output or Path(folders[0]) / SELECTION_FILE
    content = {
        "overrides": overrides,
        "chosen": choice.chosen,
        "monitor": monitor,
        "value": choice.stages[-1].points[choice.stages[-1].chosen][0],
        "run": str(winner),
        "sweeps": [str(folder) for folder in folders],
    }
    header = f"# python -m almlit.ensemble selection={output} members=10\n"
    write_atomically(output, header + OmegaConf.to_yaml(OmegaConf.create(content)))
    stages = "\n".join(format_stage(number, stage, monitor) for number, stage in enumerate(choice.stages, start=1))
    chosen = " ".join(f"{key}={value}" for key, value in choice.chosen.items())
    report = (
        f"{len(runs)} finished runs, validation metric {monitor}\n{stages}\n"
        f"chosen: {chosen}\nselection: {output}\nnext: python -m almlit.ensemble selection={output} members=10"
    )
    return choice, output, report


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m almlit.select", description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="Hydra sweep folders (python -m almlit.train -m ...)")
    parser.add_argument("--output", type=Path, help=f"selection file (default: <first folder>/{SELECTION_FILE})")
    parser.add_argument("--stage1-margin", type=float, help="delta of the stage-1 runs (default: conf/alm/binary.yaml)")
    args = parser.parse_args(argv)
    with one_line_errors():
        _, _, report = select(args.folders, args.output, args.stage1_margin)
    print(report)


if __name__ == "__main__":
    main()
