"""A stacked member's run folder: its best checkpoint, then the test and the files of a run trained alone."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate

from almlit.alm.coverage import constrained_samples
from almlit.callbacks.pair_coverage import write_hardest_positives
from almlit.report.run_results import FitOutcome, test_and_write
from almlit.runs.atomic_files import write_atomically
from almlit.runs.checkpoint_io import AtomicCheckpointIO
from almlit.runs.console import quiet_lightning
from almlit.runs.csv_logger import METRICS_FILE as LOG_FILE
from almlit.stacking.members import StackMember


def save_best_checkpoint(member: StackMember) -> Path:
    """Write the member's best state as a Lightning checkpoint (``checkpoints/best-epoch<NNN>.ckpt``, the name its
    ``model_checkpoint`` callback gives); ``trainer.test``, ``almlit.predict`` and ``almlit.export`` load it."""
    best = member.best
    assert best is not None  # every member validates at least once
    path = Path(member.checkpoint.format_checkpoint_name({"epoch": best.epoch}))  # type: ignore[dict-item]
    checkpoint = {
        "state_dict": best.state_dict,
        "epoch": best.epoch,
        "global_step": best.global_step,
        "pytorch-lightning_version": L.__version__,
        "hyper_parameters": dict(member.module.hparams),
        "val_metrics": best.val_metrics,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    AtomicCheckpointIO().save_checkpoint(checkpoint, path)
    return path


def write_training_log(member: StackMember) -> None:
    """``logs/metrics.csv``: one row per epoch the member trained (training loss, monitored metric, mu)."""
    names = list(dict.fromkeys(name for row in member.history for name in row))
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=names)
    writer.writeheader()
    writer.writerows(member.history)
    (member.run_dir / "logs").mkdir(parents=True, exist_ok=True)
    write_atomically(member.run_dir / "logs" / LOG_FILE, text.getvalue())


def write_member_hardest_positives(member: StackMember) -> None:
    """``hardest_positives.csv`` from the member's multipliers at the end of its training, as its
    ``callbacks.pair_coverage`` writes it for a run trained alone (nothing without a bank or with
    ``hardest_positives: 0``)."""
    node = member.config.callbacks.get("pair_coverage")
    bank = member.module.bank
    if node is None or bank is None or not node.get("hardest_positives") or node.get("output_dir") is None:
        return
    critical = member.module.hparams["critical_classes"]
    constrained = constrained_samples(member.train_labels.cpu(), member.train_ids.cpu(), critical)
    if len(constrained[0]):
        write_hardest_positives(Path(node.output_dir), bank.multipliers, constrained, int(node.hardest_positives))


def finish_member(member: StackMember, resolved: dict[str, Any]) -> dict[str, Any]:
    """Test the member's best checkpoint on its own data and write its run folder as ``almlit.train`` does.

    Returns:
        Its ``metrics.json``.
    """

    best_path = save_best_checkpoint(member)
    write_training_log(member)
    write_member_hardest_positives(member)
    config = member.config
    datamodule = instantiate(config.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    with quiet_lightning():  # no accelerator and checkpoint-loading lines per member
        trainer = instantiate(
            config.trainer, logger=False, callbacks=[], enable_progress_bar=False, enable_model_summary=False
        )
    assert member.best is not None  # saved above
    fitted = FitOutcome(
        best_checkpoint=str(best_path.resolve()),
        best_score=member.best.score,
        epochs_trained=member.epochs_trained,
        train_seconds=member.train_seconds,
        final_penalty=float(member.module.penalty),
    )
    with quiet_lightning():
        return test_and_write(config, member.run_dir, resolved, trainer, member.module, datamodule, fitted)
