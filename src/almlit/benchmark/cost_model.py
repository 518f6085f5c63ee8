"""What a paper table costs: its runs and epochs, and the time and arithmetic they take at a measured epoch rate.

Pure functions over plain values. :mod:`almlit.cost` composes every row of the experiment files, measures one
epoch per :func:`timing_key` group on the device at hand, and hands both to :func:`table_costs`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The config entries that set how long an epoch takes (the loss and the constraint add ~1% to a step: see make bench)
TIMING_KEYS = ("model", "data", "imb", "module", "sampler")
TIMING_TRAINER_KEYS = ("precision", "accumulate_grad_batches")


@dataclass(frozen=True)
class RowPlan:
    """One row of an experiment file: an ensemble of ``members`` runs of at most ``max_epochs`` epochs each.

    Attributes:
        table: the paper table (``table1``).
        setting: the setting of the table (``cifar10_imb100``).
        row: the method (``ALM + BCE``).
        members: runs in the row's ensemble.
        max_epochs: ``trainer.max_epochs`` of each run (early stopping may end it sooner).
        group: the :func:`timing_key` of the row's config: rows of one group share a measured epoch.
        constrained: the row trains with an ALM constraint.
    """

    table: str
    setting: str
    row: str
    members: int
    max_epochs: int
    group: str
    constrained: bool


@dataclass(frozen=True)
class EpochTiming:
    """One measured epoch of a group.

    Attributes:
        seconds: wall time of one Lightning epoch, training and validation.
        train_batches: training batches in the epoch.
        train_images: images in the training set.
        gflop_per_step: forward + backward FLOPs of one training batch, in GFLOP.
        measured_row: ``"<setting>: <row>"``, the row whose config was timed.
        stack: K of the stacked measurement (``--stack K``), or ``None``.
        stacked_speedup: members x images per second of a training step of a stack of K over one network's
            (:mod:`almlit.benchmark.stacked`), or ``None``.
    """

    seconds: float
    train_batches: int
    train_images: int
    gflop_per_step: float
    measured_row: str
    stack: int | None = None
    stacked_speedup: float | None = None


@dataclass(frozen=True)
class TableCost:
    """The work of one table and the time it takes at the measured epoch rates (an upper bound: see ``epochs``).

    Attributes:
        table: the paper table.
        settings: its settings, in the order given.
        rows: rows over all settings.
        runs: training runs (rows x members).
        epochs: epochs if no run stops early (early stopping makes it fewer).
        seconds: ``epochs`` x the epoch time of each row's group.
        pflop: training arithmetic of those epochs (forward + backward of every training batch), in PFLOP.
        stacked_seconds: ``seconds`` with every ensemble trained in stacks (each epoch's time divided by its group's
            ``stacked_speedup``), or ``None`` when not measured.
    """

    table: str
    settings: tuple[str, ...]
    rows: int
    runs: int
    epochs: int
    seconds: float
    pflop: float
    stacked_seconds: float | None = None


def timing_key(config: Mapping[str, Any]) -> str:
    """The entries of a resolved training config that set an epoch's duration, as one canonical string.

    Rows with the same key train the same network on the same images in the same batches, so one measured epoch
    stands for all of them.
    """
    parts = {key: config.get(key) for key in TIMING_KEYS}
    parts["trainer"] = {key: config["trainer"].get(key) for key in TIMING_TRAINER_KEYS}
    return json.dumps(parts, sort_keys=True, default=str)


def representatives(plans: Sequence[RowPlan]) -> dict[str, RowPlan]:
    """The row to time for each group: its first constrained row (the slower kind), else its first row."""
    chosen: dict[str, RowPlan] = {}
    for plan in plans:
        current = chosen.get(plan.group)
        if current is None or (plan.constrained and not current.constrained):
            chosen[plan.group] = plan
    return chosen


def table_costs(plans: Sequence[RowPlan], timings: Mapping[str, EpochTiming]) -> list[TableCost]:
    """Each table's runs, epochs, time and FLOPs, tables in the order they first appear in ``plans``.

    Raises:
        KeyError: a plan's group has no timing.
    """
    costs: dict[str, dict[str, Any]] = {}
    for plan in plans:
        timing = timings[plan.group]
        epochs = plan.members * plan.max_epochs
        cost = costs.setdefault(
            plan.table,
            {"settings": [], "rows": 0, "runs": 0, "epochs": 0, "seconds": 0.0, "pflop": 0.0, "stacked_seconds": 0.0},
        )
        if plan.setting not in cost["settings"]:
            cost["settings"].append(plan.setting)
        cost["rows"] += 1
        cost["runs"] += plan.members
        cost["epochs"] += epochs
        cost["seconds"] += epochs * timing.seconds
        cost["pflop"] += epochs * timing.train_batches * timing.gflop_per_step / 1e6
        if cost["stacked_seconds"] is not None and timing.stacked_speedup is not None:
            cost["stacked_seconds"] += epochs * timing.seconds / timing.stacked_speedup
        else:
            cost["stacked_seconds"] = None
    return [
        TableCost(table=table, **{**values, "settings": tuple(values["settings"])}) for table, values in costs.items()
    ]


def duration(seconds: float) -> str:
    """``seconds`` as minutes, hours or days, whichever reads best (``"42 min"``, ``"7.5 h"``, ``"3.1 d"``)."""
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def markdown(costs: Sequence[TableCost], timings: Mapping[str, EpochTiming], device: str) -> str:
    """The tables' cost and the measured epochs behind it, as Markdown."""
    stacks = {timing.stack for timing in timings.values()}
    stacked = None not in stacks and all(cost.stacked_seconds is not None for cost in costs)
    stacked_header = f" with ensemble.stack={stacks.pop()} (at most) |" if stacked else ""
    lines = [
        f"Cost on {device}, if no run stops early (early stopping makes it less):",
        "",
        "| table | settings | rows | runs | epochs (at most) | training time (at most) |"
        f"{stacked_header} training PFLOP |",
        "|---|---|---:|---:|---:|---:|" + ("---:|" if stacked else "") + "---:|",
    ]
    for cost in costs:
        stacked_cell = f" {duration(cost.stacked_seconds or 0.0)} |" if stacked else ""
        lines.append(
            f"| {cost.table} | {', '.join(cost.settings)} | {cost.rows} | {cost.runs} | {cost.epochs} "
            f"| {duration(cost.seconds)} |{stacked_cell} {cost.pflop:.1f} |"
        )
    lines += [
        "",
        "Measured epochs (one per group of rows that train the same network on the same batches):",
        "",
        "| timed row | training images | batches | GFLOP / batch | epoch |"
        + (" stack / separate |" if stacked else ""),
        "|---|---:|---:|---:|---:|" + ("---:|" if stacked else ""),
    ]
    for timing in timings.values():
        speedup = f" {timing.stacked_speedup:.2f}x |" if stacked else ""
        lines.append(
            f"| {timing.measured_row} | {timing.train_images} | {timing.train_batches} "
            f"| {timing.gflop_per_step:.1f} | {timing.seconds:.1f} s |{speedup}"
        )
    if stacked:
        lines += [
            "",
            "Stacked: each epoch's time divided by the measured members x images/s of a stacked training step over "
            "one network's step (validation and start-up scale alike here: a projection, not a measured run).",
        ]
    return "\n".join(lines) + "\n"
