"""Hydra entry point: ``python -m almlit.train [group=choice ...] [key=value ...]``.

seed -> data -> loss, model, constraint -> ALMClassifier -> fit -> test on the best-validation-AUC
checkpoint -> one run folder (see :mod:`almlit.runs.folder`). The folder, ``runs/<run_name>`` (a sweep job's: named
after its overrides), is looked at first (:mod:`almlit.runs.resume`): a finished run is left alone, an interrupted one
resumes from its last checkpoint.
"""

from __future__ import annotations

import shutil
import sys
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint, Timer
from lightning.pytorch.utilities.exceptions import SIGTERMException
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from almlit.alm.coverage import check_pair_batches
from almlit.bad_overrides import BadOverride, run_hydra_main, stacked_sweep_overrides
from almlit.config import CONFIG_DIR, check_seed
from almlit.data.fingerprint import check_same_data, data_fingerprint, present_fingerprint, write_fingerprint
from almlit.decision.calibration import check_prevalence
from almlit.errors import TrainingFailure, one_line_errors, out_of_memory_advice
from almlit.module import build_module
from almlit.report.run_results import FitOutcome, print_summary, test_and_write
from almlit.runs.checkpoint_io import AtomicCheckpointIO
from almlit.runs.continuation import check_continuation
from almlit.runs.folder import write_config, write_overrides
from almlit.runs.preemption import Preempted, stop_after_preemption
from almlit.runs.resume import LAST_CHECKPOINT, is_inside, is_new_folder, plan_start
from almlit.runs.trackers import build_loggers, log_config


def build_callbacks(cfg: DictConfig) -> list[L.Callback]:
    nodes = [node for node in cfg.callbacks.values() if node is not None]
    if cfg.alm.schedule is not None:
        nodes.append(cfg.alm.schedule)
    return [instantiate(node) for node in nodes]


def check_strategy(strategy: Any) -> None:
    """Refuse Lightning strategies that train in child processes (their test scores would not reach this one)."""
    if isinstance(strategy, str) and any(word in strategy for word in ("spawn", "fork", "notebook")):
        raise ValueError(
            f"trainer.strategy={strategy} is not supported: the test scores stay in its child processes; "
            "use trainer.strategy=ddp (or auto)"
        )


# the scalar types lightning.pytorch.Trainer declares for its arguments, and how a message names them
TRAINER_SCALARS = {
    int: (int, "an integer"),
    int | None: (int, "an integer or null"),
    bool: (bool, "true or false"),
    bool | None: (bool, "true, false or null"),
}


def check_trainer_types(trainer: Mapping[str, Any]) -> None:
    """Refuse a ``trainer.*`` value that is not of the scalar type Lightning's ``Trainer`` declares for it.

    Lightning does not check them: a ``trainer.max_epochs`` of ``abc`` would fail mid-run with an ``AssertionError``.

    Raises:
        ValueError: ``trainer.<name> must be an integer (or null), got <value>``.
    """
    hints = typing.get_type_hints(L.Trainer.__init__)
    for name, value in trainer.items():
        hint = hints.get(name)
        if hint not in TRAINER_SCALARS or (value is None and type(None) in typing.get_args(hint)):
            continue
        kind, allowed = TRAINER_SCALARS[hint]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(f"trainer.{name} must be {allowed}, got {value!r}")


def best_checkpoint_callback(trainer: L.Trainer) -> ModelCheckpoint:
    """The callback that keeps the best checkpoint: the first with a monitored metric (``last_checkpoint`` has none)."""
    callbacks = cast("list[ModelCheckpoint]", trainer.checkpoint_callbacks)  # Lightning's only Checkpoint kind
    return next(callback for callback in callbacks if getattr(callback, "monitor", None))


def run(cfg: DictConfig, run_dir: Path) -> dict[str, Any] | None:
    """Train and test one configuration; returns the metrics written to ``metrics.json`` (``None``: it was finished)."""
    check_seed(cfg.seed)
    check_strategy(cfg.trainer.get("strategy"))
    check_prevalence(cfg.metrics.prevalence, "metrics.prevalence")
    resolved = cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True))  # a DictConfig gives a dict
    check_trainer_types(resolved["trainer"])
    start = plan_start(run_dir, resolved, cfg.ckpt_path)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.data)
    if start.finished:  # its data, when still there, must be the data it was trained on
        check_same_data(run_dir, present_fingerprint(datamodule))
    if start.message is not None:
        print(start.message, flush=True)
    if start.finished:
        return None
    datamodule.prepare_data()
    datamodule.setup("fit")  # first: it names an absent or unreadable file in its own words
    fingerprint = data_fingerprint(datamodule)
    check_same_data(run_dir, fingerprint)  # an interrupted run resumes on the data it started with
    if start.ckpt_path is not None and not is_inside(start.ckpt_path, run_dir):  # a continuation of another folder
        early_stopping = cfg.callbacks.get("early_stopping")
        patience = None if early_stopping is None else early_stopping.patience
        continued = AtomicCheckpointIO().load_checkpoint(start.ckpt_path)
        check_continuation(continued, start.ckpt_path, cfg.trainer.max_epochs, patience)
    module = build_module(cfg, datamodule)
    callbacks = build_callbacks(cfg)
    timer = Timer(verbose=False)  # its training time is saved in the checkpoints: a resumed run adds to it
    trainer = instantiate(cfg.trainer, callbacks=[*callbacks, timer], logger=build_loggers(cfg.logger))
    log_config(trainer.loggers, resolved)
    check_pair_batches(module.pairwise_objectives, datamodule.batch_size, trainer.num_devices, trainer.num_nodes)
    batch_sizes = {"batch_size": datamodule.batch_size, "eval_batch_size": datamodule.eval_batch_size}
    # DDP: only rank 0 writes the run folder (the other ranks start in trainer.fit); Lightning sets rank undeclared
    if rank_zero_only.rank == 0:  # type: ignore[attr-defined]
        write_config(run_dir, cfg)
        write_overrides(run_dir, HydraConfig.get().overrides.task)
        write_fingerprint(run_dir, fingerprint)
    try:
        with out_of_memory_advice("fit", batch_sizes):
            trainer.fit(module, datamodule=datamodule, ckpt_path=start.ckpt_path)
    except (Preempted, SIGTERMException) as stop:
        stop_after_preemption(stop, str(run_dir / LAST_CHECKPOINT))
    checkpoint = best_checkpoint_callback(trainer)
    assert checkpoint.best_model_score is not None  # set with best_model_path
    fitted = FitOutcome(
        best_checkpoint=checkpoint.best_model_path,
        best_score=float(checkpoint.best_model_score),
        epochs_trained=trainer.current_epoch,
        train_seconds=timer.time_elapsed("train"),  # every session's, up to its last checkpoint, and this one's
        final_penalty=float(module.penalty),  # before the best checkpoint's state is loaded for the test
    )
    return test_and_write(cfg, run_dir, resolved, trainer, module, datamodule, fitted)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def train(cfg: DictConfig) -> None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    new_folder = is_new_folder(run_dir)  # only a folder this command made, and with no checkpoint, is removed

    def remove_new_folder() -> None:
        if new_folder and not (run_dir / LAST_CHECKPOINT).parent.exists():
            shutil.rmtree(run_dir, ignore_errors=True)

    # a training failure (NaN loss, out of memory) keeps the run folder: it holds the last good checkpoint
    with (
        one_line_errors((TrainingFailure,)),
        one_line_errors(cleanup=remove_new_folder),
    ):
        metrics = run(cfg, run_dir)
    # Lightning sets rank on the function without declaring it
    if metrics is not None and rank_zero_only.rank == 0:  # type: ignore[attr-defined]
        print_summary(metrics, run_dir)


def main() -> None:
    """``python -m almlit.train [overrides]``; a command line that does not compose gets one line, exit status 2.

    ``sweep.stack=true|K`` (a sweep's jobs trained as stacks) is read here: :func:`stacked_sweep_overrides`.
    """
    with one_line_errors((BadOverride,)):
        sys.argv[1:] = stacked_sweep_overrides(sys.argv[1:])
    run_hydra_main(train, "train")


if __name__ == "__main__":
    main()
