"""Report, once per epoch, whether the pairwise objectives saw pairs, and write the hardest positives at the end.

The module counts on the device (:class:`almlit.alm.coverage.PairCoverage`); this callback reads the counts once at
the end of each training epoch, logs them with quantiles of the positives' multipliers lambda, warns once when
most batches held no positive-negative pair, and at the end of fitting writes the positives with the largest lambda
to the run folder (``hardest_positives.csv``).
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

import lightning as L
import torch

from almlit.alm.coverage import constrained_samples, hardest_positives, multiplier_quantiles
from almlit.runs.atomic_files import write_atomically
from almlit.runs.folder import HARDEST_POSITIVES_FILE

if TYPE_CHECKING:
    from almlit.module import ALMClassifier

log = logging.getLogger(__name__)


class PairCoverageReport(L.Callback):
    """Logs ``train/pair_batches``, ``train/violated_pairs`` and ``train/lambda_q50`` ... ``train/lambda_max``.

    - ``train/pair_batches``: share of the epoch's training batches holding at least one positive-negative pair
      (for ALM_m1/m2: a critical and a non-critical sample); the other batches give the pairwise terms 0.
    - ``train/violated_pairs``: share of the epoch's positive-negative pairs whose constraint term was > 0, i.e.
      ``f(x_p) - f(x_n) < delta`` (absent in an epoch without any pair, and without a constraint).
    - ``train/lambda_q<100 level>`` and ``train/lambda_max``: quantiles of the multipliers of the constrained
      training samples at the end of the epoch (only with a constraint).

    Nothing is logged for an objective without pairwise terms.

    Args:
        warn_below: warn once per run (a ``WARNING`` line of the ``almlit`` log: on the console and in the run
            folder's ``train.log``) when ``train/pair_batches`` of an epoch is below this share. The default
            0.5: below it the median training step saw no pair, so the pairwise terms were 0 on most steps.
        lambda_quantiles: levels in (0, 1) of the logged quantiles of lambda (the maximum is always logged).
        hardest_positives: rows of ``hardest_positives.csv`` (0: no file).
        output_dir: the run folder the file is written to; ``None``: no file.
    """

    def __init__(
        self,
        warn_below: float = 0.5,
        lambda_quantiles: Sequence[float] = (0.5, 0.9, 0.99),
        hardest_positives: int = 100,
        output_dir: str | Path | None = None,
    ) -> None:
        if not 0 <= warn_below <= 1:
            raise ValueError(f"callbacks.pair_coverage.warn_below must be a share in [0, 1], got {warn_below}")
        if not all(0 < level < 1 for level in lambda_quantiles):
            raise ValueError(
                f"callbacks.pair_coverage.lambda_quantiles must be levels in (0, 1), got {list(lambda_quantiles)}"
            )
        if isinstance(hardest_positives, bool) or not isinstance(hardest_positives, int) or hardest_positives < 0:
            raise ValueError(f"callbacks.pair_coverage.hardest_positives must be an int >= 0, got {hardest_positives}")
        self.warn_below = warn_below
        self.levels = (*lambda_quantiles, 1.0)
        self.top = hardest_positives
        self.output_dir = None if output_dir is None else Path(output_dir)
        self.constrained: tuple[torch.Tensor, torch.Tensor] | None = None
        self.warned = False

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Find the constrained training samples (ids and labels) of the data the run trains on."""
        # Lightning sets Trainer.datamodule (in its data connector) without declaring the attribute
        data = trainer.datamodule  # type: ignore[attr-defined]
        bank = cast("ALMClassifier", pl_module).bank
        if stage == "fit" and bank is not None and data is not None and hasattr(data, "train_dataset"):
            dataset = data.train_dataset
            self.constrained = constrained_samples(dataset.labels, dataset.sample_ids, data.critical_classes)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pl_module = cast("ALMClassifier", pl_module)  # the counts and the multipliers are the ALM module's
        coverage = pl_module.pair_coverage
        if coverage is None or coverage.update_count == 0:
            return
        values = coverage.compute()
        coverage.reset()
        if self.constrained is not None and len(self.constrained[0]):
            assert pl_module.bank is not None  # setup finds constrained samples only when there is a bank
            ids = self.constrained[0].to(pl_module.bank.multipliers.device)
            values |= multiplier_quantiles(pl_module.bank.multipliers[ids], self.levels)
        shares = dict(zip(values, torch.stack(list(values.values())).tolist(), strict=True))  # the one host read
        pl_module.log_dict({f"train/{name}": value for name, value in shares.items() if not math.isnan(value)})
        if shares["pair_batches"] < self.warn_below and not self.warned and trainer.is_global_zero:
            self.warned = True
            log.warning(
                f"only {shares['pair_batches']:.0%} of the training batches of epoch {trainer.current_epoch} held a "
                f"positive-negative pair (warning below {self.warn_below:.0%}): "
                f"{' and '.join(pl_module.pairwise_objectives)} gave 0 on the others; use sampler=dual "
                "(a fixed share of positives in every batch) or a larger data.batch_size"
            )

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Write the ``hardest_positives`` constrained samples with the largest lambda (rank 0 only)."""
        if self.output_dir is None or self.constrained is None or self.top == 0 or not trainer.is_global_zero:
            return
        pl_module = cast("ALMClassifier", pl_module)
        assert pl_module.bank is not None  # setup finds constrained samples only when there is a bank
        write_hardest_positives(self.output_dir, pl_module.bank.multipliers, self.constrained, self.top)


def write_hardest_positives(
    output_dir: Path, multipliers: torch.Tensor, constrained: tuple[torch.Tensor, torch.Tensor], top: int
) -> None:
    """``hardest_positives.csv``: the ``top`` constrained samples ``(sample_ids, labels)`` with the largest lambda
    (columns ``sample_id,label,lambda``), written atomically into ``output_dir``."""
    rows = hardest_positives(multipliers, *constrained, top)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["sample_id", "label", "lambda"])
    writer.writerows((sample_id, label, repr(value)) for sample_id, label, value in rows)
    output_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(output_dir / HARDEST_POSITIVES_FILE, text.getvalue())
