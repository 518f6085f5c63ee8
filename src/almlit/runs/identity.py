"""Run identity: the keys of a resolved run config that decide what is trained, and how two configs differ.

A run folder's ``config.yaml`` (:mod:`almlit.runs.folder`) is compared with a command's config before a run resumes
(:mod:`almlit.runs.resume`), a member joins an ensemble or a sweep's runs are grouped; ``_target_`` paths compare by
what they name (:mod:`almlit.runs.moved_targets`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

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


SHOWN_DIFFERENCES = 5


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


def describe_differences(differing: list[str]) -> str:
    """The first few differences of :func:`differences` joined on one line."""
    shown = "; ".join(differing[:SHOWN_DIFFERENCES])
    more = len(differing) - SHOWN_DIFFERENCES
    return shown + (f" (and {more} more)" if more > 0 else "")
