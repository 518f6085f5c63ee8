"""Reading run folders (see :mod:`almlit.run_folder`) and comparing the configurations they were trained with."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from omegaconf import OmegaConf

from almlit.run_folder import COMPLETE_FILE, CONFIG_FILE, METRICS_FILE
from almlit.runs.moved_targets import normalise_target

# Keys that may differ between runs of one setting: the seeds that make ensemble members (or sweep repeats)
# different, where a run was written, and how it was computed or printed without changing its result. The rule: a
# key is left out of a run's identity only if two runs differing in it train on the same data and end with the same
# weights and test scores. So ``data.root`` (which files are read) and ``paths.data_dir`` (through ``data.root``)
# count; the data's contents count through the data fingerprint (:mod:`almlit.data.fingerprint`).
SEED_LEAVES = ("seed", "split_seed")
PRESENTATION_KEYS = frozenset(
    {
        "run_name",
        "metrics.prevalence",  # a deployment figure: it changes what operating_points.json reports, not what is trained
        "ckpt_path",
        "data.download",  # whether absent files may be downloaded, not which files are read
        "data.cache_dir",  # where preprocessed MRI volumes are kept (entries are keyed by the files they come from)
        "data.eval_batch_size",  # evaluation batches: the same scores (eval-mode layers see one sample at a time)
        "trainer.enable_progress_bar",
        "trainer.enable_model_summary",
        "trainer.log_every_n_steps",
        # what the pair-coverage report logs and writes (a run folder from before it existed is the same run)
        "callbacks.pair_coverage._target_",
        "callbacks.pair_coverage.warn_below",
        "callbacks.pair_coverage.lambda_quantiles",
        "callbacks.pair_coverage.hardest_positives",
    }
)
# How checkpoints are kept, not what is trained: a run folder of a version without these callbacks stays the same run.
CHECKPOINTING_KEYS = (
    "callbacks.model_checkpoint.save_last",
    "callbacks.last_checkpoint.",
    "callbacks.carry_over_best.",
)
# Where the epoch metrics are logged (CSV, MLflow, ...), in today's layout (``logger.csv.*``, ``logger.mlflow.*``) and
# in the earlier one of a single CSV logger (``logger._target_``, ``logger.name``): not what is trained.
LOGGER_KEYS = "logger."
# Configuration keys of where outputs go (their values are compared nowhere; ``paths.data_dir`` is read through
# ``data.root``, so overriding it names a sweep job's folder).
OUTPUT_PATH_KEYS = frozenset({"paths.output_root", "paths.output_dir"})


@dataclass(frozen=True)
class RunScores:
    """The test scores of one run, rows sorted by sample id.

    Attributes:
        sample_ids: ``[N]`` int64 test sample ids.
        labels: ``[N]`` int64 labels (0/1 for binary data, class indices otherwise).
        scores: ``[N]`` raw logits of the critical class (binary) or ``[N, C]`` raw logits (multi-class), float64.
    """

    sample_ids: np.ndarray
    labels: np.ndarray
    scores: np.ndarray


def read_scores(path: Path) -> RunScores:
    """A scores file (a run's ``test_scores.csv``, an ensemble's ``ensemble_scores.csv``): ``sample_id,label,score``
    or ``sample_id,label,score_0..score_{C-1}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {path.parent} a finished run folder?")
    with path.open(newline="") as stream:
        header = next(csv.reader(stream))
    if header[:2] != ["sample_id", "label"] or len(header) < 3:
        raise ValueError(f"{path} must start with the columns sample_id,label,score..., got {','.join(header)}")
    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    table = table[np.argsort(table[:, 0], kind="stable")]
    scores = table[:, 2:]
    return RunScores(
        sample_ids=table[:, 0].astype(np.int64),
        labels=table[:, 1].astype(np.int64),
        scores=scores[:, 0].copy() if header[2:] == ["score"] else scores,
    )


def require_finished(run_dir: Path) -> None:
    """Raise unless ``run_dir`` holds a finished run (its ``COMPLETE`` marker, written last, exists).

    Raises:
        FileNotFoundError: naming the folder and why it is not usable.
    """
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise FileNotFoundError(f"run folder {run_dir} not found")
    if not run_dir.is_dir():
        raise FileNotFoundError(
            f"{run_dir} is a file, not a run folder (the folder holding {CONFIG_FILE} and {METRICS_FILE})"
        )
    if not (run_dir / CONFIG_FILE).is_file():
        runs = finished_runs(run_dir)
        below = f"; it holds {len(runs)} finished run folder(s) below it, e.g. {runs[0]}" if runs else ""
        raise FileNotFoundError(f"{run_dir} is not a run folder (it has no {CONFIG_FILE}){below}")
    if not is_finished(run_dir):
        raise FileNotFoundError(
            f"{run_dir} is not a finished run (no {COMPLETE_FILE} marker): it was interrupted or is still training; "
            "rerun its command to resume it"
        )


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """``metrics.json`` of a finished run folder (see :func:`require_finished`)."""
    require_finished(run_dir)
    return json.loads((Path(run_dir) / METRICS_FILE).read_text())


def read_config(run_dir: Path) -> dict[str, Any]:
    """The resolved ``config.yaml`` of a run folder, as plain containers."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {run_dir} a run folder?")
    return cast(dict[str, Any], OmegaConf.to_container(OmegaConf.load(path), resolve=True))  # a mapping at the top


def is_finished(run_dir: Path) -> bool:
    """A run is finished once its ``COMPLETE`` marker exists: it is written last, atomically."""
    return (Path(run_dir) / COMPLETE_FILE).is_file()


def finished_runs(folder: Path) -> list[Path]:
    """Every finished run folder at or below ``folder``, sorted."""
    return sorted(path.parent for path in Path(folder).rglob(COMPLETE_FILE) if (path.parent / CONFIG_FILE).is_file())


def flatten(config: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted.key, value)`` for every leaf of a nested mapping; lists are leaves."""
    for key, value in config.items():
        if isinstance(value, Mapping) and value:
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def seeds(config: Mapping[str, Any]) -> dict[str, Any]:
    """Every seed of a resolved run config (``seed``, ``data.seed``, ``data.split_seed``, ...), flattened."""
    return {key: value for key, value in flatten(config) if key.rsplit(".", 1)[-1] in SEED_LEAVES}


def resolved_targets(value: Any) -> Any:
    """``value`` with every ``_target_`` (in nested mappings and lists) replaced by the defining path of what it names
    (:func:`~almlit.runs.moved_targets.normalise_target`): two paths to one class are one setting."""
    if isinstance(value, Mapping):
        return {
            key: normalise_target(item) if key == "_target_" and isinstance(item, str) else resolved_targets(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [resolved_targets(item) for item in value]
    return value


def comparable(config: Mapping[str, Any], keep_seeds: bool = False) -> dict[str, Any]:
    """The keys of a resolved run config that decide what is trained, flattened, each ``_target_`` as the class or
    function it names (:func:`resolved_targets`: a class that moved is the same class).

    Dropped: the seeds (``seed``, ``*.seed``, ``*.split_seed``) unless ``keep_seeds`` (one run folder resumed must
    match them too), every ``paths.*`` key and every value under the run's own output folder (checkpoint, logger and
    trainer folders), keys that only change what is printed or how it is computed (:data:`PRESENTATION_KEYS`), the
    loggers (:data:`LOGGER_KEYS`) and how checkpoints are kept (:data:`CHECKPOINTING_KEYS`).
    """
    output_dir = str(config.get("paths", {}).get("output_dir") or "\0")
    seed_keys = () if keep_seeds else seeds(config)
    kept = {}
    for key, value in flatten(resolved_targets(config)):
        if key in seed_keys or key.startswith(("paths.", LOGGER_KEYS, *CHECKPOINTING_KEYS)) or key in PRESENTATION_KEYS:
            continue
        if isinstance(value, str) and value.startswith(output_dir):
            continue
        kept[key] = value
    return kept


def differences(reference: Mapping[str, Any], other: Mapping[str, Any], varying: Sequence[str] = ()) -> list[str]:
    """``key (reference value vs other value)`` for every key of two :func:`comparable` configs that differs,
    outside the ``varying`` keys."""
    keys = sorted((set(reference) | set(other)) - set(varying))
    missing = "<absent>"
    return [
        f"{key} ({reference.get(key, missing)!r} vs {other.get(key, missing)!r})"
        for key in keys
        if reference.get(key, missing) != other.get(key, missing)
    ]
