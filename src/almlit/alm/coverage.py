"""Do the pairwise objectives see pairs? Batch coverage, violated pairs and the multipliers of the positives.

The constraint of Eq. 4-7 and the pairwise base losses (MBAUC, the partial AUC surrogates) compare each positive
(critical) sample with the negative (non-critical) samples of its batch, so a batch without such a pair gives them
exactly 0. A global batch of one sample never holds a pair: such a run trains the base loss alone (or nothing) and
exits as if all were well, so it is refused (:func:`check_pair_batches`). At a strong imbalance many batches of an
ordinary shuffle hold no positive either: :class:`PairCoverage` counts, on the device and without a host sync, the
batches that held a pair and the pairs that still violate the margin delta, for a once-per-epoch report
(:class:`almlit.callbacks.PairCoverageReport`). The positives with the largest multipliers lambda are those the
constraint failed on most often and by most (lambda_j is the sum of mu q_j over the steps, Algorithm 1): the first
place to look for label errors (:func:`hardest_positives`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torchmetrics import Metric

COUNTS = ("batches", "pair_batches", "pairs", "violated_pairs")


def pairwise_objectives(loss: nn.Module, constraint: nn.Module | None) -> list[str]:
    """Names of the terms of the training objective that are 0 on a batch without a positive-negative pair.

    A module says so with the class attribute ``needs_pairs = True`` (the constraints, ``loss=mbauc``,
    ``loss=pauc_oneway``, ``loss=pauc_twoway``). Per-sample losses, AUCM included (its terms are sums over single
    samples against the running means a and b), train on any batch.
    """
    names = [f"the ALM constraint {type(constraint).__name__}"] if getattr(constraint, "needs_pairs", False) else []
    if getattr(loss, "needs_pairs", False):
        names.append(f"the pairwise loss {type(loss).__name__}")
    return names


def check_pair_batches(objectives: Sequence[str], batch_size: int, devices: int = 1, num_nodes: int = 1) -> None:
    """Refuse a global batch that can never hold a positive-negative pair when the objective needs one.

    A training step sees the global batch ``devices * num_nodes * batch_size`` (a distributed run gathers every
    process's rows, :mod:`almlit.alm.distributed`); a pair needs two samples in it. Gradient accumulation does not
    help: each accumulated step is computed on its own batch.

    Args:
        objectives: the terms that need pairs (:func:`pairwise_objectives`); nothing is checked when empty.
        batch_size: ``data.batch_size``, samples per process.
        devices: processes per node (``trainer.devices``, resolved).
        num_nodes: ``trainer.num_nodes``.

    Raises:
        ValueError: if ``objectives`` is not empty and the global batch holds fewer than 2 samples.
    """
    global_batch = batch_size * devices * num_nodes
    if objectives and global_batch < 2:
        raise ValueError(
            f"training batches of {global_batch} sample (data.batch_size={batch_size} x trainer.devices={devices} x "
            f"trainer.num_nodes={num_nodes}) never hold a positive-negative pair: {' and '.join(objectives)} would be "
            "0 at every step; use data.batch_size >= 2 (best with sampler=dual) or a per-sample loss with alm=none; "
            "trainer.accumulate_grad_batches does not pair samples across batches"
        )


class PairCoverage(Metric):
    """Counts, over the training batches of an epoch, those with a positive-negative pair and the violated pairs.

    Every count is a device tensor updated with tensor operations only, so a training step never waits for the
    device; :meth:`compute` (once per epoch) gives the shares. In a distributed run every process sees the same
    global batch (:func:`almlit.alm.distributed.gather_batch`) and so the same counts: nothing is synchronised.

    Args:
        violations: whether the violated pairs are counted (a constraint with a margin delta is trained); without
            it only the batch coverage is computed.
    """

    full_state_update = False
    batches: Tensor
    pair_batches: Tensor
    pairs: Tensor
    violated_pairs: Tensor

    def __init__(self, violations: bool = True) -> None:
        super().__init__(sync_on_compute=False)
        self.violations = violations
        for name in COUNTS:
            self.add_state(name, default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, num_pairs: Tensor, violated_pairs: Tensor | None = None) -> None:
        """Add one training batch.

        Args:
            num_pairs: its positive-negative pairs ``|p||n|`` (in the constraint's sense for ALM_m1/m2: critical
                x non-critical samples), 0-dim.
            violated_pairs: how many of them violate the margin (hinge > 0), 0-dim; ``None`` without a constraint.
        """
        self.batches += 1
        self.pair_batches += (num_pairs > 0).long()
        self.pairs += num_pairs.long()
        if violated_pairs is not None:
            self.violated_pairs += violated_pairs.long()

    def compute(self) -> dict[str, Tensor]:
        """``pair_batches``: share of the batches with at least one pair; ``violated_pairs``: share of all pairs
        of the epoch that violated the margin (NaN when there was no pair), only when ``violations`` is set."""
        shares = {"pair_batches": self.pair_batches / self.batches.clamp(min=1)}
        if self.violations:
            shares["violated_pairs"] = torch.where(
                self.pairs > 0, self.violated_pairs / self.pairs.clamp(min=1), torch.nan
            )
        return shares


def constrained_samples(labels: Tensor, sample_ids: Tensor, critical_classes: Sequence[int]) -> tuple[Tensor, Tensor]:
    """Sample ids and labels of the training samples that carry a constraint (those of a critical class).

    Args:
        labels: class ids of the training samples ``[N]``.
        sample_ids: their sample ids ``[N]``.
        critical_classes: the critical class ids (binary: ``(1,)``).

    Returns:
        ``(sample_ids [P], labels [P])`` of the critical samples, in dataset order.
    """
    critical = torch.isin(labels, torch.as_tensor(tuple(critical_classes), dtype=labels.dtype, device=labels.device))
    return sample_ids[critical], labels[critical]


def quantile_name(level: float) -> str:
    """Name of the lambda quantile at ``level``: 0.5 -> ``lambda_q50``, 0.99 -> ``lambda_q99``, 1 -> ``lambda_max``."""
    return "lambda_max" if level == 1 else f"lambda_q{100 * level:g}"


def multiplier_quantiles(multipliers: Tensor, levels: Sequence[float]) -> dict[str, Tensor]:
    """Quantiles of the multipliers lambda of the constrained samples (linear interpolation, as ``numpy.quantile``).

    Args:
        multipliers: lambda of each constrained sample ``[P]``, ``P >= 1``.
        levels: quantile levels in (0, 1]; 1 is the maximum.

    Returns:
        ``{quantile_name(level): 0-dim tensor}``, on the device of ``multipliers`` (not read back).
    """
    values = torch.quantile(multipliers.double(), torch.tensor(levels, dtype=torch.float64, device=multipliers.device))
    return {quantile_name(level): value for level, value in zip(levels, values, strict=True)}


def hardest_positives(
    multipliers: Tensor, sample_ids: Tensor, labels: Tensor, top: int
) -> list[tuple[int, int, float]]:
    """The ``top`` constrained samples with the largest lambda, largest first (equal lambdas: smaller sample id first).

    Args:
        multipliers: the whole bank ``[num_train_samples]``, indexed by sample id.
        sample_ids: ids of the constrained samples ``[P]``.
        labels: their class ids ``[P]``.
        top: how many rows to return (fewer when there are fewer samples).

    Returns:
        ``(sample_id, label, lambda)`` rows.
    """
    by_id = sample_ids.cpu().argsort()
    sample_ids, labels = sample_ids.cpu()[by_id], labels.cpu()[by_id]
    values = multipliers.cpu()[sample_ids]
    order = values.argsort(descending=True, stable=True)[:top]
    return list(zip(sample_ids[order].tolist(), labels[order].tolist(), values[order].tolist(), strict=True))
