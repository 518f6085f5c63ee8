"""Scoring a DataModule's prediction data with a :class:`~almlit.deploy.trained.MeanLogit`, through Lightning.

``Trainer.predict`` picks the device (the GPU when there is one), moves the batches there, lets the DataModule
normalise them (its ``on_after_batch_transfer``, no augmentation outside training) and shows a progress bar. The
DataModule's own ``predict_dataloader`` is not used: in training it serves the calibration split.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import numpy as np
import torch

from almlit.data.indexed import Batch
from almlit.data.loaders import TensorDataModule
from almlit.deploy.trained import MeanLogit
from almlit.report.ensemble_metrics import average_logits


@dataclass(frozen=True)
class Scores:
    """The scores of the prediction data, in its order.

    Attributes:
        sample_ids: ``[N]`` int64.
        labels: ``[N]`` int64, :data:`~almlit.data.indexed.UNKNOWN_LABEL` where unknown.
        member_logits: ``[M, N]`` (binary) or ``[M, N, C]`` float64, every member's logits.
    """

    sample_ids: np.ndarray
    labels: np.ndarray
    member_logits: np.ndarray

    @property
    def logits(self) -> np.ndarray:
        """The model's logits, ``[N]`` or ``[N, C]``: the mean over members, as the ensemble report averages them."""
        return average_logits(self.member_logits)


class LogitScorer(L.LightningModule):
    """``predict_step``: every member's logits of a batch in float32 (outside autocast, as the test scores are),
    returned as float64 on the CPU with the batch's labels and sample ids.

    Args:
        model: the networks.
        datamodule: the DataModule whose ``inference_loader`` is scored; its ``on_after_batch_transfer`` (the
            normalisation, no augmentation outside training) prepares every batch on its device.
    """

    def __init__(self, model: MeanLogit, datamodule: TensorDataModule) -> None:
        super().__init__()
        self.model = model
        self.data = datamodule

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        return self.data.on_after_batch_transfer(batch, dataloader_idx)

    def predict_step(self, batch: Batch, batch_idx: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        inputs, labels, sample_ids = batch
        with torch.autocast(self.device.type, enabled=False):
            logits = self.model.member_logits(inputs)
        return logits.double().cpu(), labels.cpu(), sample_ids.cpu()


def score_data(model: MeanLogit, datamodule: TensorDataModule, progress_bar: bool = True) -> Scores:
    """Score ``datamodule.inference_dataset`` (after ``setup_inference()``) in batches of its ``eval_batch_size``.

    Runs on the GPU when there is one, in float32.
    """
    trainer = L.Trainer(
        accelerator="auto",
        devices=1,
        precision="32-true",
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress_bar,
    )
    batches = trainer.predict(LogitScorer(model, datamodule), dataloaders=datamodule.inference_loader())
    member_logits, labels, sample_ids = zip(*batches, strict=True)
    return Scores(torch.cat(sample_ids).numpy(), torch.cat(labels).numpy(), torch.cat(member_logits, dim=1).numpy())
