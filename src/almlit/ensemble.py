"""``python -m almlit.ensemble [selection=FILE] [members=10] [dir=FOLDER] [training overrides ...]``.

Trains an ensemble the way the paper does (section 5.2): ``members`` runs of one setting that differ only by their
seed (member i uses ``seed=i``: its own validation split, subsampling, initialisation and batch order), then averages
their logits. Each member is an ordinary run folder, ``<dir>/member<i>``, trained by ``python -m almlit.train
--multirun`` so any Hydra launcher runs them (``hydra/launcher=joblib`` in parallel, ``hydra/launcher=slurm`` on a
cluster). A finished member (its ``COMPLETE`` marker exists) is never trained again; an interrupted one (killed,
preempted) resumes from its ``checkpoints/last.ckpt`` (see :mod:`almlit.runs.resume`); a member folder trained with
another setting is an error. Writes the ensemble report (:mod:`almlit.report.ensemble_report`) into ``<dir>``.

``ensemble.stack=K`` trains the members in stacks of at most K, each stack one batched model in this process
(:mod:`almlit.stacking`): the same member folders, every member with its own data, state and decisions; a stack that
does not fit in the device's memory is trained as halves. An unfinished member (killed stack or run trained alone)
resumes from its ``checkpoints/last.ckpt`` within its stack.

Examples:
    python -m almlit.ensemble loss=bce alm=binary data=cifar10 imb=100 members=10
    python -m almlit.ensemble selection=outputs/sweeps/<sweep>/selection.yaml members=10
    python -m almlit.ensemble loss=bce data=cifar10 imb=100 hydra/launcher=joblib hydra.launcher.n_jobs=2
    python -m almlit.ensemble data=cifar10 imb=100 loss=bce alm=binary members=10 ensemble.stack=10
    python -m almlit.ensemble data=images data.manifest=labels.csv data.positive_classes=[melanoma] \
        data.group_column=patient_id data.folds=5 members=folds
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from almlit.bad_overrides import own_keys_suggested
from almlit.errors import BAD_INPUT, one_line_errors
from almlit.report.ensemble_members import DEFAULT_MEMBERS, merge_overrides, run_ensemble, train_members
from almlit.report.ensemble_report import REPORT_FILE
from almlit.report.out_of_fold import out_of_fold_line
from almlit.stacking import check_stack_size
from almlit.stacking.ensemble_stacks import train_stacked_members

FOLD_MEMBERS = "folds"  # members=folds: one member per fold of data.folds
STACK_KEY = "ensemble.stack"  # members trained as one batched model per stack (almlit.stacking)
OWN_KEYS = ("members", "dir", "selection", STACK_KEY)


def split_arguments(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Separate this command's own ``key=value`` arguments (:data:`OWN_KEYS`) from the training overrides."""
    own: dict[str, str] = {}
    overrides: list[str] = []
    for argument in argv:
        key, equals, value = argument.lstrip("+").partition("=")  # +ensemble.stack=2: the + of a new key is moot
        if equals and key in OWN_KEYS:
            own[key] = value
        else:
            overrides.append(argument)
    return own, overrides


def read_selection(path: str | os.PathLike[str]) -> list[str]:
    """The training overrides saved by ``python -m almlit.select`` (its ``overrides`` list)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"selection file {path} not found (python -m almlit.select writes selection.yaml)")
    loaded = OmegaConf.load(path)
    overrides = loaded.get("overrides") if isinstance(loaded, DictConfig) else None  # a YAML list has no keys
    if not overrides:
        raise ValueError(f"selection file {path} has no `overrides` list")
    return [str(override) for override in overrides]


def parse_members(text: str) -> int | None:
    """The number of members, or ``None`` for ``members=folds`` (one per fold of ``data.folds``)."""
    if text == FOLD_MEMBERS:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"members must be an integer >= 1 or folds, got {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if {"-h", "--help"} & set(argv):
        print(__doc__)
        return
    own, overrides = split_arguments(argv)
    with one_line_errors(BAD_INPUT):
        members = parse_members(own.get("members", str(DEFAULT_MEMBERS)))
        if "selection" in own:
            overrides = merge_overrides(read_selection(own["selection"]), overrides)
        stack = check_stack_size(own.get(STACK_KEY, "1"))
        train = functools.partial(train_stacked_members, stack=stack) if stack > 1 else train_members
        with own_keys_suggested(OWN_KEYS, overrides, "train"):  # overrides: with the selection file's
            ensemble_dir, summary = run_ensemble(overrides, members, own.get("dir"), train=train)
    print((ensemble_dir / REPORT_FILE).read_text())
    if "out_of_fold" in summary:
        print(out_of_fold_line(summary["out_of_fold"]))
    print(f"ensemble folder: {ensemble_dir}")


if __name__ == "__main__":
    main()
