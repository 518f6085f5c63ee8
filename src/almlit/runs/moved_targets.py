"""Where the classes and functions that earlier layouts named in a ``_target_`` live now.

A run folder's ``config.yaml`` keeps the ``_target_`` paths of the version that trained it; run identity (see
:func:`almlit.runs.identity.comparable`) compares what a path resolves to, so a run trained before a class moved is
still the same run. A path that no longer imports is looked up here first.

Moves so far: the run lifecycle into ``almlit.runs`` and every callback into ``almlit.callbacks``; the loss classes
when ``almlit.losses`` became one module per family (``modules``, ``auc_modules`` and ``long_tail_modules`` merged
into ``binary``, ``multiclass``, ``auc_surrogates`` and ``long_tail``; their short paths ``almlit.losses.<Class>``,
which the shipped configs name, did not change).
"""

from __future__ import annotations

import importlib

# old dotted path (no longer importable) -> the dotted path of the same class or function today
MOVED_TARGETS: dict[str, str] = {
    "almlit.benchmark.probes.DeviceProbe": "almlit.callbacks.probes.DeviceProbe",
    "almlit.benchmark.probes.SignalAtStep": "almlit.callbacks.probes.SignalAtStep",
    "almlit.checkpoint_io.AtomicCheckpointIO": "almlit.runs.checkpoint_io.AtomicCheckpointIO",
    "almlit.continuation.CarryOverBest": "almlit.callbacks.CarryOverBest",
    "almlit.csv_logger.ResumableCSVLogger": "almlit.runs.csv_logger.ResumableCSVLogger",
    "almlit.losses.auc_modules.AUCMLoss": "almlit.losses.auc_surrogates.AUCMLoss",
    "almlit.losses.auc_modules.OneWayPartialAUCLoss": "almlit.losses.auc_surrogates.OneWayPartialAUCLoss",
    "almlit.losses.auc_modules.TwoWayPartialAUCLoss": "almlit.losses.auc_surrogates.TwoWayPartialAUCLoss",
    "almlit.losses.long_tail_modules.BalancedSoftmaxLoss": "almlit.losses.long_tail.BalancedSoftmaxLoss",
    "almlit.losses.long_tail_modules.LogitAdjustedLoss": "almlit.losses.long_tail.LogitAdjustedLoss",
    "almlit.losses.long_tail_modules.VSLoss": "almlit.losses.long_tail.VSLoss",
    "almlit.losses.modules.AsymmetricFocalLoss": "almlit.losses.binary.AsymmetricFocalLoss",
    "almlit.losses.modules.AsymmetricMarginLoss": "almlit.losses.binary.AsymmetricMarginLoss",
    "almlit.losses.modules.BCELoss": "almlit.losses.binary.BCELoss",
    "almlit.losses.modules.ClassBalancedBCELoss": "almlit.losses.binary.ClassBalancedBCELoss",
    "almlit.losses.modules.ClassBalancedCELoss": "almlit.losses.multiclass.ClassBalancedCELoss",
    "almlit.losses.modules.CrossEntropyLoss": "almlit.losses.multiclass.CrossEntropyLoss",
    "almlit.losses.modules.FocalLoss": "almlit.losses.multiclass.FocalLoss",
    "almlit.losses.modules.LDAMLoss": "almlit.losses.multiclass.LDAMLoss",
    "almlit.losses.modules.MiniBatchAUCLoss": "almlit.losses.auc_surrogates.MiniBatchAUCLoss",
    "almlit.losses.modules.SymmetricFocalLoss": "almlit.losses.binary.SymmetricFocalLoss",
    "almlit.losses.modules.SymmetricMarginLoss": "almlit.losses.binary.SymmetricMarginLoss",
    "almlit.losses.modules.WeightedBCELoss": "almlit.losses.binary.WeightedBCELoss",
    "almlit.preemption.StopOnSignal": "almlit.callbacks.StopOnSignal",
    "almlit.resume.KeepEarlyStop": "almlit.callbacks.KeepEarlyStop",
    "almlit.schedules.warmup_step_schedule": "almlit.optim.schedules.warmup_step_schedule",
    "almlit.trackers.mlflow_logger": "almlit.runs.trackers.mlflow_logger",
}


def normalise_target(target: str) -> str:
    """The defining ``module.qualname`` of the object an almlit ``_target_`` names, moved paths followed.

    Paths outside ``almlit`` and paths that import nothing (after :data:`MOVED_TARGETS`) are returned as given, so
    they compare as strings; only almlit's own modules are imported.

    Example: ``almlit.callbacks.PenaltySchedule`` -> ``almlit.callbacks.penalty_schedule.PenaltySchedule``.
    """
    path = MOVED_TARGETS.get(target, target)
    module_name, _, name = path.rpartition(".")
    if not module_name.startswith("almlit"):
        return path
    try:
        found = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        return path
    return f"{found.__module__}.{found.__qualname__}"
