"""A stacked member's run folder: ``logs/hparams.yaml`` when it starts; the test and the files of a run trained alone
when it ends (its checkpoints and ``logs/metrics.csv``: at every epoch end, :mod:`almlit.stacking.checkpoints`)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from lightning.pytorch.core.saving import save_hparams_to_yaml

from almlit.alm.coverage import constrained_samples
from almlit.callbacks.pair_coverage import write_hardest_positives
from almlit.report.run_results import FitOutcome, test_and_write
from almlit.runs.console import quiet_lightning
from almlit.stacking.members import StackMember

HPARAMS_FILE = "hparams.yaml"  # Lightning's CSVLogger's name for it
# Lightning's warning when a checkpoint with callback states is loaded by a trainer without those callbacks
CALLBACKS_NOT_GIVEN = r"Be aware that when using `ckpt_path`, callbacks used to create the checkpoint"


def write_hparams(member: StackMember) -> None:
    """``logs/hparams.yaml``: the module's hyper-parameters, as Lightning's ``CSVLogger`` saves them when a run trained
    alone starts (:func:`lightning.pytorch.core.saving.save_hparams_to_yaml`)."""
    (member.run_dir / "logs").mkdir(parents=True, exist_ok=True)
    save_hparams_to_yaml(member.run_dir / "logs" / HPARAMS_FILE, dict(member.module.hparams))


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

    assert member.best is not None and member.best.path is not None  # written at its first epoch end
    write_member_hardest_positives(member)
    config = member.config
    datamodule = instantiate(config.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    with quiet_lightning():  # no accelerator and checkpoint-loading lines per member
        trainer = instantiate(
            config.trainer, logger=False, callbacks=[], enable_progress_bar=False, enable_model_summary=False
        )
    fitted = FitOutcome(
        best_checkpoint=str(Path(member.best.path).resolve()),
        best_score=member.best.score,
        epochs_trained=member.epochs_trained,
        train_seconds=member.train_seconds,
        final_penalty=float(member.module.penalty),
    )
    with quiet_lightning(), warnings.catch_warnings():
        # the best checkpoint holds the callback states of training; the test needs none of them
        warnings.filterwarnings("ignore", message=CALLBACKS_NOT_GIVEN)
        return test_and_write(config, member.run_dir, resolved, trainer, member.module, datamodule, fitted)
