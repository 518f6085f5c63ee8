"""``python -m almlit.ensemble [selection=FILE] [members=10] [dir=FOLDER] [training overrides ...]``.

Trains an ensemble the way the paper does (section 5.2): ``members`` runs of one setting that differ only by their
seed (member i uses ``seed=i``: its own validation split, subsampling, initialisation and batch order), then averages
their logits. Each member is an ordinary run folder, ``<dir>/member<i>``, trained by ``python -m almlit.train
--multirun`` so any Hydra launcher runs them (``hydra/launcher=joblib`` in parallel, ``hydra/launcher=slurm`` on a
cluster). A finished member (its ``COMPLETE`` marker exists) is never trained again; an interrupted one (killed,
preempted) resumes from its ``checkpoints/last.ckpt`` (see :mod:`almlit.resume`); a member folder trained with
another setting is an error. Writes the ensemble report (:mod:`almlit.report.ensemble_report`) into ``<dir>``.

``ensemble.stack=K`` trains the members in stacks of at most K, each stack one batched model in this process
(:mod:`almlit.stacking`): the same member folders, every member with its own data, state and decisions; a stack that
does not fit in the device's memory is trained as halves. A member left unfinished by a killed stack is trained again
from its start; one left by a run trained alone resumes alone from its ``checkpoints/last.ckpt``.

Examples:
    python -m almlit.ensemble loss=bce alm=binary data=cifar10 imb=100 members=10
    python -m almlit.ensemble selection=outputs/sweeps/<sweep>/selection.yaml members=10
    python -m almlit.ensemble loss=bce data=cifar10 imb=100 hydra/launcher=joblib hydra.launcher.n_jobs=2
    python -m almlit.ensemble data=cifar10 imb=100 loss=bce alm=binary members=10 ensemble.stack=10
    python -m almlit.ensemble data=images data.manifest=labels.csv data.positive_classes=[melanoma] \
        data.group_column=patient_id data.folds=5 members=folds
"""

from __future__ import annotations

import copy
import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from almlit.config import CONFIG_DIR
from almlit.data.fingerprint import DataFingerprint, check_same_data, present_fingerprint
from almlit.errors import USER_ERRORS, one_line_errors
from almlit.report.ensemble_report import REPORT_FILE, member_dir, write_ensemble_report
from almlit.report.folders import comparable, differences, is_finished, read_config
from almlit.report.out_of_fold import out_of_fold_line, write_out_of_fold_report
from almlit.resume import LAST_CHECKPOINT, describe_differences
from almlit.run_folder import CONFIG_FILE
from almlit.stacking import check_stack_size, stack_groups

DEFAULT_MEMBERS = 10
FOLD_MEMBERS = "folds"  # members=folds: one member per fold of data.folds
FOLD_KEY = "data.fold"  # the key that differs between the members of a K-fold ensemble
STACK_KEY = "ensemble.stack"  # members trained as one batched model per stack (almlit.stacking)
OWN_KEYS = ("members", "dir", "selection", STACK_KEY)
# Bad input of this command: almlit's argument errors and Hydra's for unknown groups, choices and keys.
BAD_INPUT = (*USER_ERRORS, HydraException, OmegaConfBaseException)


def split_arguments(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Separate this command's own ``key=value`` arguments (:data:`OWN_KEYS`) from the training overrides."""
    own: dict[str, str] = {}
    overrides: list[str] = []
    for argument in argv:
        key, equals, value = argument.partition("=")
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


def override_key(override: str) -> str:
    """``loss`` of ``loss=bce``, ``alm.penalty_init`` of ``+alm.penalty_init=1e-3``."""
    return override.lstrip("+~").partition("=")[0]


def merge_overrides(base: Sequence[str], later: Sequence[str]) -> list[str]:
    """``base`` then ``later``, less the ``base`` overrides of a key that ``later`` sets again (the command line
    wins over a selection file; Hydra refuses two values for one config group)."""
    replaced = {override_key(override) for override in later}
    return [*(override for override in base if override_key(override) not in replaced), *later]


def is_launch_override(override: str) -> bool:
    """Overrides of Hydra itself (launcher, sweeper, output folders) change how members run, never what they learn."""
    return override_key(override).startswith(("hydra.", "hydra/"))


def parse_members(text: str) -> int | None:
    """The number of members, or ``None`` for ``members=folds`` (one per fold of ``data.folds``)."""
    if text == FOLD_MEMBERS:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"members must be an integer >= 1 or folds, got {text!r}")
    return int(text)


def fold_overrides(overrides: Sequence[str]) -> list[str]:
    """The overrides of a K-fold ensemble: member k (``seed=k``) validates on fold k; every member draws the same
    folds (``data.split_seed=0`` unless the overrides set it).

    Raises:
        ValueError: if the overrides set ``data.fold`` (the ensemble sets it).
    """
    keys = {override_key(override) for override in overrides}
    if FOLD_KEY in keys:
        raise ValueError(f"{FOLD_KEY} is not allowed with members=folds: member k validates on fold k")
    pinned = [] if "data.split_seed" in keys else ["data.split_seed=0"]
    return [*overrides, *pinned, f"{FOLD_KEY}=${{seed}}"]


def fold_count(config: DictConfig) -> int:
    """``data.folds`` of a composed config, the number of members of ``members=folds``.

    Raises:
        ValueError: if the data has no ``folds`` setting, or it is unset or below 2.
    """
    data = config.hydra.runtime.choices.data
    if "folds" not in config.data:
        raise ValueError(f"members=folds needs K-fold splits (data.folds=K); data={data} has none (images and mri do)")
    folds = config.data.folds
    if folds is None or int(folds) < 2:
        shown = "null" if folds is None else folds
        raise ValueError(f"members=folds needs data.folds=K (K >= 2, e.g. data.folds=5), got data.folds={shown}")
    return int(folds)


def check_overrides(overrides: Sequence[str], members: int) -> None:
    """Reject the overrides an ensemble sets itself (seed) or cannot train (a sweep)."""
    if members < 1:
        raise ValueError(f"members must be >= 1, got {members}")
    for override in overrides:
        key = override_key(override)
        if key == "seed":
            raise ValueError(f"{override} is not allowed: member i trains with seed=i (set members=N instead)")
        if key == "sweep":
            raise ValueError(f"{override} is not allowed: an ensemble trains one setting (pick one with almlit.select)")


def compose_member(overrides: Sequence[str], config_name: str = "train", seed: int = 0) -> DictConfig:
    """The training config of a member (seed ``seed``), with its ``hydra`` node, composed as ``almlit.train`` would.

    ``config_name="bench"`` composes the same config with the benchmark's ``bench`` node (conf/bench.yaml).

    Raises:
        hydra.errors.HydraException: for unknown groups, choices or keys (Hydra's message).
    """
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name, overrides=[*overrides, f"seed={seed}"], return_hydra_config=True)


def resolve_member(config: DictConfig, run_dir: Path) -> dict[str, Any]:
    """The resolved ``config.yaml`` that the member trained in ``run_dir`` writes."""
    config = copy.deepcopy(config)
    with open_dict(config):
        config.hydra.runtime.output_dir = str(Path(run_dir).resolve())
    HydraConfig.instance().set_config(config)
    with open_dict(config):
        del config["hydra"]
    return cast(dict[str, Any], OmegaConf.to_container(config, resolve=True))  # a DictConfig gives a dict


def default_dir(config: DictConfig, overrides: Sequence[str]) -> Path:
    """``<output_root>/ensembles/<data>_<loss>_<alm>_imb<imb>_<hash of the sorted overrides>``: the same setting
    always finds the same folder, so finished members are reused."""
    choices = config.hydra.runtime.choices
    digest = hashlib.sha1("\n".join(sorted(overrides)).encode()).hexdigest()[:8]
    name = f"{choices.data}_{choices.loss}_{choices.alm}_imb{config.imb}_{digest}"
    return Path(config.paths.output_root) / "ensembles" / name


def check_members(
    ensemble_dir: Path,
    members: int,
    expected: dict[str, Any],
    fingerprint: DataFingerprint | None = None,
    varying: Sequence[str] = (),
) -> list[int]:
    """Indices of the members still to train; every member folder holding a run, finished or interrupted, must have
    been trained with ``expected`` (seeds and the ``varying`` keys aside) and on the data of ``fingerprint``
    (``None``: not compared).

    Raises:
        ValueError: naming the member whose setting differs and how, or whose data differs (both fingerprints).
    """
    pending = []
    reference = comparable(expected)
    for index in range(members):
        folder = member_dir(ensemble_dir, index)
        if (folder / CONFIG_FILE).is_file():
            differing = differences(reference, comparable(read_config(folder)), varying)
            if differing:
                raise ValueError(
                    f"{folder} was trained with another setting: {describe_differences(differing)}; "
                    "use another dir= or remove the folder"
                )
            check_same_data(folder, fingerprint, "this ensemble's data", "use another dir= or restore the data")
        if not is_finished(folder):
            pending.append(index)
    return pending


def train_members(overrides: Sequence[str], seeds: Sequence[int], ensemble_dir: Path) -> None:
    """``python -m almlit.train --multirun <overrides> seed=<seeds> `` with one sweep subfolder per member."""
    command = [
        sys.executable,
        "-m",
        "almlit.train",
        "--multirun",
        *overrides,
        f"seed={','.join(str(seed) for seed in seeds)}",
        f"hydra.sweep.dir='{ensemble_dir}'",
        "hydra.sweep.subdir=member${seed}",
    ]
    result = subprocess.run(command)
    if result.returncode != 0:
        sys.exit(result.returncode)


def train_stacked_members(training: Sequence[str], seeds: Sequence[int], ensemble_dir: Path, stack: int) -> None:
    """Train the members ``seeds`` in stacks of at most ``stack`` (:mod:`almlit.stacking`), one stack after another.

    A member that was trained alone and can resume (its ``checkpoints/last.ckpt``) resumes alone instead.
    """
    from almlit.stacking.run import train_stacks  # here: torch only for commands that train (select imports this)

    resumable = [seed for seed in seeds if (member_dir(ensemble_dir, seed) / LAST_CHECKPOINT).is_file()]
    if resumable:
        train_members(training, resumable, ensemble_dir)
    for group in stack_groups([seed for seed in seeds if seed not in resumable], stack):
        run_dirs = [member_dir(ensemble_dir, seed) for seed in group]
        configs = [
            resolve_member(compose_member(training, seed=seed), run_dir)
            for seed, run_dir in zip(group, run_dirs, strict=True)
        ]
        train_stacks(configs, run_dirs, [[*training, f"seed={seed}"] for seed in group])


def run_ensemble(
    overrides: Sequence[str],
    members: int | None = DEFAULT_MEMBERS,
    ensemble_dir: str | os.PathLike[str] | None = None,
    title: str | None = None,
    stack: int = 1,
) -> tuple[Path, dict[str, Any]]:
    """Train the members still missing, then write the ensemble report; returns the folder and ``ensemble.json``.

    ``stack > 1`` trains them as stacks of at most ``stack`` members, each stack one batched model
    (:mod:`almlit.stacking`); the member folders are the same.

    ``members=None`` trains one member per fold of ``data.folds`` and adds the out-of-fold scores to the report
    (``ensemble.json`` key ``out_of_fold``, see :func:`almlit.report.out_of_fold.write_out_of_fold_report`).
    """
    by_fold = members is None
    if members is None:
        overrides = fold_overrides(overrides)
        members = fold_count(
            compose_member([override for override in overrides if not override_key(override) == FOLD_KEY])
        )
    check_overrides(overrides, members)
    training = [override for override in overrides if not is_launch_override(override)]
    config = compose_member(training)
    varying = (FOLD_KEY,) if by_fold else ()
    ensemble_dir = Path(ensemble_dir) if ensemble_dir else default_dir(config, training)
    expected = resolve_member(config, member_dir(ensemble_dir, 0))
    fingerprint = present_fingerprint(instantiate(OmegaConf.create(expected["data"])))
    pending = check_members(ensemble_dir, members, expected, fingerprint, varying)
    if pending:
        resuming = sum((member_dir(ensemble_dir, index) / LAST_CHECKPOINT).is_file() for index in pending)
        print(f"training {len(pending)} of {members} members into {ensemble_dir} ({resuming} resuming)", flush=True)
        if stack > 1:
            train_stacked_members(training, pending, ensemble_dir, stack)
        else:
            train_members(overrides, pending, ensemble_dir)
    choices = config.hydra.runtime.choices
    title = title or f"{choices.data} {choices.loss} alm={choices.alm} imb={config.imb}"
    title += f", one member per fold of {members}" if by_fold else ""
    member_dirs = [member_dir(ensemble_dir, index) for index in range(members)]
    summary = write_ensemble_report(ensemble_dir, member_dirs, title, config.metrics.prevalence, varying)
    if by_fold:
        summary["out_of_fold"] = write_out_of_fold_report(ensemble_dir, member_dirs)
    return ensemble_dir, summary


def main(argv: Sequence[str] | None = None) -> None:
    own, overrides = split_arguments(sys.argv[1:] if argv is None else argv)
    with one_line_errors(BAD_INPUT):
        members = parse_members(own.get("members", str(DEFAULT_MEMBERS)))
        if "selection" in own:
            overrides = merge_overrides(read_selection(own["selection"]), overrides)
        stack = check_stack_size(own.get(STACK_KEY, "1"))
        ensemble_dir, summary = run_ensemble(overrides, members, own.get("dir"), stack=stack)
    print((ensemble_dir / REPORT_FILE).read_text())
    if "out_of_fold" in summary:
        print(out_of_fold_line(summary["out_of_fold"]))
    print(f"ensemble folder: {ensemble_dir}")


if __name__ == "__main__":
    main()
