"""The members of an ensemble: composing a member's config as ``almlit.train`` does, checking that the member folders
hold runs of one setting, training the missing ones and writing the ensemble report (the command:
:mod:`almlit.ensemble`; the paper's tables: :mod:`almlit.report.paper_table`)."""

from __future__ import annotations

import copy
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from almlit.bad_overrides import explained_composition, refuse_moved_keys
from almlit.config import CONFIG_DIR
from almlit.data.fingerprint import DataFingerprint, check_same_data, present_fingerprint
from almlit.report.ensemble_report import member_dir, write_ensemble_report
from almlit.report.out_of_fold import write_out_of_fold_report
from almlit.runs.folder import CONFIG_FILE
from almlit.runs.identity import comparable, describe_differences, differences
from almlit.runs.reader import is_finished, read_config
from almlit.runs.resume import LAST_CHECKPOINT

DEFAULT_MEMBERS = 10
FOLD_KEY = "data.fold"  # the key that differs between the members of a K-fold ensemble


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
        almlit.bad_overrides.BadOverride: for an unknown choice or key, or a malformed override (one line).
    """
    refuse_moved_keys(overrides)
    overrides = [*overrides, f"seed={seed}"]
    with explained_composition(overrides, config_name), initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        return compose(config_name, overrides=overrides, return_hydra_config=True)


def resolve_member(config: DictConfig, run_dir: Path) -> dict[str, Any]:
    """The resolved ``config.yaml`` that the member trained in ``run_dir`` writes."""
    config = copy.deepcopy(config)
    with read_write(config.hydra.runtime), open_dict(config):  # read-only in a sweep job's config (a launcher's)
        config.hydra.runtime.output_dir = str(Path(run_dir).resolve())
    HydraConfig.instance().set_config(config)
    with read_write(config), open_dict(config):
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


MemberTrainer = Callable[[Sequence[str], Sequence[int], Path], None]  # (overrides, seeds, ensemble folder)


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


def run_ensemble(
    overrides: Sequence[str],
    members: int | None = DEFAULT_MEMBERS,
    ensemble_dir: str | os.PathLike[str] | None = None,
    title: str | None = None,
    train: MemberTrainer | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Train the members still missing, then write the ensemble report; returns the folder and ``ensemble.json``.

    ``train(overrides, seeds, ensemble_dir)`` trains the pending members (default :func:`train_members`, one
    ``almlit.train`` process per member through Hydra's launcher; ``almlit.ensemble ensemble.stack=K`` passes
    :func:`almlit.stacking.ensemble_stacks.train_stacked_members`).

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
        (train or train_members)(overrides, pending, ensemble_dir)
    choices = config.hydra.runtime.choices
    title = title or f"{choices.data} {choices.loss} alm={choices.alm} imb={config.imb}"
    title += f", one member per fold of {members}" if by_fold else ""
    member_dirs = [member_dir(ensemble_dir, index) for index in range(members)]
    summary = write_ensemble_report(ensemble_dir, member_dirs, title, config.metrics.prevalence, varying)
    if by_fold:
        summary["out_of_fold"] = write_out_of_fold_report(ensemble_dir, member_dirs)
    return ensemble_dir, summary
