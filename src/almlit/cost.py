"""``python -m almlit.cost EXPERIMENT.yaml [...] [--set OVERRIDE ...]`` (``make cost``): what a paper table costs.

Every row of the experiment files is composed exactly as ``almlit.report --train`` trains it. Rows that train the
same network on the same batches form a group (:func:`almlit.benchmark.cost_model.timing_key`); one Lightning epoch of
each group is timed on this machine (after a two-batch warm-up), and the FLOPs of a training batch are counted.
The cost of a table is then its runs x ``trainer.max_epochs`` x the epoch time: an upper bound, as early stopping
ends many runs sooner. Prints a Markdown table and writes it, with the numbers as JSON, into ``--output``.

The device, precision and speed options are those of ``make bench`` (conf/bench.yaml), given with ``--set``.
CIFAR files that are absent are replaced by random pixels of the same split sizes (``bench.synthetic=auto``).

Examples:
    python -m almlit.cost experiments/table1_cifar10_imb100.yaml experiments/table1_cifar10_imb200.yaml
    python -m almlit.cost experiments/table*_cifar*.yaml --set bench.device=cuda trainer.precision=bf16-mixed
    python -m almlit.cost experiments/table3_mri.yaml --set data.root=/hospital/prostate
    python -m almlit.cost experiments/table1_cifar10_imb100.yaml --stack 10   # and with ensemble.stack=10
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from almlit.benchmark.cost_model import EpochTiming, RowPlan, markdown, representatives, table_costs, timing_key
from almlit.benchmark.measure import device_name
from almlit.benchmark.pipelines import augmented_batches
from almlit.benchmark.settings import BenchSettings, bench_settings
from almlit.benchmark.stacked import stacked_rows
from almlit.benchmark.synthetic import build_datamodule, wants_synthetic
from almlit.benchmark.training import bench_module, on_device, time_epoch, training_step_flops
from almlit.errors import BAD_INPUT, one_line_errors
from almlit.report.ensemble_members import compose_member, resolve_member
from almlit.report.experiments import Experiment, load_experiment
from almlit.runs.atomic_files import write_atomically
from almlit.runs.console import quiet_lightning
from almlit.stacking import check_stack_size

STACK_BATCHES = 20  # distinct pre-augmented batches the stacked and single steps cycle through
WARMUP_BATCHES = 2  # an untimed short epoch first: compilation, cuDNN autotuning, allocator


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m almlit.cost", description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="+", type=Path, help="experiment files (experiments/*.yaml)")
    parser.add_argument(
        "--set", nargs="+", default=[], metavar="OVERRIDE", help="overrides for every row: bench.device=cuda, ..."
    )
    parser.add_argument(
        "--stack",
        type=int,
        default=None,
        metavar="K",
        help="also project the cost with ensembles trained in stacks of K",
    )
    parser.add_argument("--output", type=Path, default=Path("outputs/cost"), help="where cost.md and cost.json go")
    return parser.parse_args(argv)


def resolved_row(experiment: Experiment, row: str, extra: Sequence[str]) -> dict[str, Any]:
    """The resolved config (with its ``bench`` node) that a member of ``row`` trains with."""
    config = compose_member([*experiment.common, *experiment.rows[row], *extra], config_name="bench")
    with tempfile.TemporaryDirectory(prefix="almlit-cost-") as run_dir:
        return resolve_member(config, Path(run_dir))


def plan_rows(
    experiments: Sequence[Experiment], extra: Sequence[str]
) -> tuple[list[RowPlan], dict[tuple[str, str], dict[str, Any]]]:
    """Every row's plan, and the resolved config of each timing group's first row."""
    plans: list[RowPlan] = []
    configs: dict[tuple[str, str], dict[str, Any]] = {}  # (setting, row) -> resolved config
    for experiment in experiments:
        for row in experiment.rows:
            config = resolved_row(experiment, row, extra)
            plan = RowPlan(
                table=experiment.table,
                setting=experiment.setting,
                row=row,
                members=experiment.members,
                max_epochs=int(config["trainer"]["max_epochs"]),
                group=timing_key(config),
                constrained=config["alm"]["constraint"] is not None,
            )
            plans.append(plan)
            configs[(plan.setting, plan.row)] = config
    return plans, configs


def stacked_speedup(config: DictConfig, datamodule: Any, settings: BenchSettings, stack: int) -> float:
    """Members x images per second of a training step of a stack of ``stack`` over that of as many separate runs."""
    batches = list(itertools.islice(augmented_batches(datamodule, settings.device), STACK_BATCHES))
    batches = [batch for batch in batches if len(batch[0]) == len(batches[0][0])]
    rows = stacked_rows(config, datamodule, batches, dataclasses.replace(settings, stack=(stack,)))
    return rows[0]["stacked_over_separate"]


def measure_epoch(
    config: DictConfig, settings: BenchSettings, measured_row: str, stack: int | None = None
) -> EpochTiming:
    """One timed Lightning epoch of the configured run, after an untimed warm-up, and the FLOPs of a batch; with
    ``stack``, the speed-up of a stack of that many members too."""
    datamodule = build_datamodule(config.data, wants_synthetic(config.data, settings.synthetic))
    images, labels, sample_ids = next(iter(datamodule.train_dataloader()))
    flops = training_step_flops(
        bench_module(config, datamodule, constrained=True, compile=False), (images.float(), labels, sample_ids)
    )
    options = {"channels_last": settings.channels_last, "compile": settings.compile}
    module = on_device(bench_module(config, datamodule, constrained=True, **options), settings.device)
    with quiet_lightning():
        time_epoch(
            config.trainer, module, datamodule, settings, limit_train_batches=WARMUP_BATCHES, limit_val_batches=1
        )
        seconds, batches = time_epoch(config.trainer, module, datamodule, settings)
    return EpochTiming(
        seconds=seconds,
        train_batches=batches,
        train_images=len(datamodule.train_dataset),
        gflop_per_step=flops / 1e9,
        measured_row=measured_row,
        stack=stack,
        stacked_speedup=None if stack is None else stacked_speedup(config, datamodule, settings, stack),
    )


def estimate(
    experiments: Sequence[Experiment],
    extra: Sequence[str],
    progress: Callable[[str], None] = lambda message: None,
    stack: int | None = None,
) -> dict[str, Any]:
    """Plans, measured epochs and per-table costs of ``experiments`` with the overrides ``extra`` (and, with
    ``stack``, with every ensemble trained in stacks of that many members)."""
    plans, configs = plan_rows(experiments, extra)
    chosen = representatives(plans)
    timings, settings = {}, None
    for number, (group, plan) in enumerate(chosen.items(), start=1):
        config = OmegaConf.create(configs[(plan.setting, plan.row)])
        settings = bench_settings(config.bench)
        if settings.threads is not None:
            torch.set_num_threads(settings.threads)
        progress(f"timing one epoch of {plan.setting}: {plan.row} ({number} of {len(chosen)})")
        timings[group] = measure_epoch(config, settings, f"{plan.setting}: {plan.row}", stack)
    assert settings is not None  # an experiment file has at least one row
    device = f"{device_name(settings.device)} ({settings.device.type}, {settings.precision})"
    return {"device": device, "plans": plans, "timings": timings, "costs": table_costs(plans, timings)}


def write_outputs(result: dict[str, Any], output: Path) -> str:
    """Write ``cost.md`` and ``cost.json`` into ``output``; returns the Markdown."""
    text = markdown(result["costs"], result["timings"], result["device"])
    output.mkdir(parents=True, exist_ok=True)
    write_atomically(output / "cost.md", text)
    numbers = {
        "device": result["device"],
        "tables": [dataclasses.asdict(cost) for cost in result["costs"]],
        "epochs": [dataclasses.asdict(timing) for timing in result["timings"].values()],
        "rows": [
            {**dataclasses.asdict(plan), "group": result["timings"][plan.group].measured_row}
            for plan in result["plans"]
        ],
    }
    write_atomically(output / "cost.json", json.dumps(numbers, indent=2) + "\n")
    return text


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_arguments(argv)
    with one_line_errors(BAD_INPUT):
        experiments = [load_experiment(path) for path in args.experiments]
        stack = None if args.stack is None else check_stack_size(args.stack, "--stack")
        progress = lambda message: print(f"cost: {message} ...", file=sys.stderr)  # noqa: E731
        result = estimate(experiments, args.set, progress, stack)
        text = write_outputs(result, args.output)
    print(text)
    print(f"written: {args.output / 'cost.md'}, {args.output / 'cost.json'}")


if __name__ == "__main__":
    main()
