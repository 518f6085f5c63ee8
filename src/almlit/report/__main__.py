"""``python -m almlit.report EXPERIMENT.yaml [...]``: a paper table from ensemble folders (``make table1`` ...).

Each experiment file is one setting of the table (``experiments/table1_cifar10_imb100.yaml``); every row is a
an ensemble folder ``<root>/<table>/<setting>/<row>`` of ``members`` run folders (``--set`` overrides that change
what is trained add a folder: ``<root>/<table>/<setting>/data.root=cohortB/<row>``). With ``--train`` the members still
missing are trained first (finished ones never again). Writes ``<table>.md``, ``<table>.csv``, ``<table>.tex`` and
``roc_<setting>.png`` into ``--output`` and prints the Markdown table.

Examples:
    python -m almlit.report experiments/table1_cifar10_imb100.yaml experiments/table1_cifar10_imb200.yaml --train
    python -m almlit.report experiments/table1_*.yaml --rows BCE "ALM + BCE" --members 2 --set trainer.max_epochs=1
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path

from almlit.decision.calibration import check_prevalence
from almlit.errors import BAD_INPUT, one_line_errors
from almlit.plots.figures import save_roc_curves
from almlit.report.bootstrap import LEVEL, REPLICATES
from almlit.report.ensemble_members import compose_member
from almlit.report.experiments import Experiment, load_experiment, only_rows
from almlit.report.paper_results import paper_results
from almlit.report.paper_table import make_table, row_result, setting_curves
from almlit.report.tables import to_csv, to_latex, to_markdown
from almlit.runs.atomic_files import write_atomically
from almlit.stacking import check_stack_size
from almlit.stacking.ensemble_stacks import train_stacked_members


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m almlit.report", description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="+", type=Path, help="experiment files, one per setting of one table")
    parser.add_argument("--train", action="store_true", help="train the members still missing (never the finished)")
    parser.add_argument(
        "--stack",
        default="1",
        help="with --train: members trained as one batched model per stack (almlit.ensemble's ensemble.stack=K; "
        "default 1: one process each)",
    )
    parser.add_argument("--members", type=int, help="members per row (default: the experiment file's)")
    parser.add_argument("--rows", nargs="+", help="only these rows (default: all, in the paper's order)")
    parser.add_argument("--root", type=Path, default=Path("outputs/tables"), help="where the ensemble folders live")
    parser.add_argument("--output", type=Path, help="where the tables go (default: outputs/reports/<table>)")
    parser.add_argument("--paper", action="store_true", help="a column with the paper's number beside each of ours")
    parser.add_argument("--ci", action="store_true", help=f"{LEVEL:.0%}% bootstrap intervals of AUC and FPR@TPR")
    parser.add_argument(
        "--deployed",
        action="store_true",
        help="beside each FPR @ TPR: the test TPR and FPR at the threshold chosen on the calibration split, with exact"
        " intervals (rows need members trained with data.calibration_per_class)",
    )
    parser.add_argument(
        "--prevalence", type=float, help="deployment share of positives: PPV, NPV, false alarms per 1000 (--deployed)"
    )
    parser.add_argument("--replicates", type=int, default=REPLICATES, help="bootstrap replicates")
    parser.add_argument("--set", nargs="+", default=[], metavar="OVERRIDE", help="training overrides for every row")
    return parser.parse_args(argv)


def check_overrides_compose(experiments: list[Experiment], extra: list[str]) -> None:
    """Compose every row with the ``--set`` overrides ``extra``, so that a misspelt or malformed one is refused
    before any row is looked for (not only with ``--train``).

    Raises:
        almlit.bad_overrides.BadOverride: for an unknown choice or key, or a malformed override (one line).
    """
    if extra:
        for experiment in experiments:
            for row in experiment.rows:
                compose_member([*experiment.common, *experiment.rows[row], *extra])


def build(args: argparse.Namespace) -> tuple[str, Path]:
    check_prevalence(args.prevalence, "--prevalence")
    experiments = [load_experiment(path) for path in args.experiments]
    if args.rows:
        experiments = [only_rows(experiment, args.rows) for experiment in experiments]
    tables = sorted({experiment.table for experiment in experiments})
    if len(tables) > 1:
        raise ValueError(f"the experiment files belong to different tables: {', '.join(tables)}")
    if args.members is not None and args.members < 1:
        raise ValueError(f"--members must be >= 1, got {args.members}")
    check_overrides_compose(experiments, args.set)
    stack = check_stack_size(args.stack, "--stack")
    if stack > 1 and not args.train:
        raise ValueError(f"--stack {stack} trains members in stacks: add --train (nothing is trained without it)")
    trainer = functools.partial(train_stacked_members, stack=stack) if stack > 1 else None
    results, missing = {}, []
    for experiment in experiments:
        members = args.members or experiment.members
        for row in experiment.rows:
            result = row_result(experiment, row, args.root, members, args.train, args.set, args.prevalence, trainer)
            results[(experiment.setting, row)] = result
            if result is None:
                missing.append(f"{experiment.setting}/{row}")
    if not any(results.values()):
        raise ValueError(f"no row has all its members finished under {args.root} (train them with --train)")
    table = make_table(experiments, results, paper_results(tables[0]), args.replicates if args.ci else 0, args.deployed)
    output = args.output or Path("outputs") / "reports" / tables[0]
    output.mkdir(parents=True, exist_ok=True)
    markdown = to_markdown(table, paper=args.paper, show_interval=args.ci)
    write_atomically(output / f"{table.name}.md", markdown)
    write_atomically(output / f"{table.name}.csv", to_csv(table))
    write_atomically(output / f"{table.name}.tex", to_latex(table, paper=args.paper, show_interval=args.ci))
    for experiment in experiments:
        curves = setting_curves(experiment, results)
        if curves:
            path = output / f"roc_{experiment.setting}.png"
            save_roc_curves(curves, path, f"{experiment.title} (ensembles)", (0.98, 0.95, 0.92, 0.90))
    notes = f"\nrows without finished members (shown as –): {', '.join(missing)}" if missing else ""
    return markdown + notes, output


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    started = time.perf_counter()
    with one_line_errors(BAD_INPUT):
        markdown, output = build(args)
    print(markdown)
    print(f"tables and figures: {output}/   time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
