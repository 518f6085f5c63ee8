"""torchmetrics shell around the critical-class report: accumulate per-class scores per stage, report once per epoch."""

from collections.abc import Sequence
from numbers import Integral

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities.data import dim_zero_cat

from almlit.metrics.multiclass_functional import (
    check_multiclass_scores_and_targets,
    critical_class_keys,
    critical_class_report,
)


class CriticalClassMetrics(Metric):
    """Accumulate ``[B, C]`` scores per stage and report :func:`critical_class_report` once per epoch.

    Scores are stored in float64 as given. ``compute`` never raises: figures that need an absent class (Lightning's
    sanity check on a few batches, or no update at all) are NaN.

    Args:
        num_classes: number of classes C >= 2.
        critical_classes: distinct class indices in [0, C), leaving at least one non-critical class.
        tpr_levels: TPR levels t in (0, 1]; each gives the keys ``error_noncritical@{100t}tpr`` and ``tpr@{100t}tpr``.

    Example:
        >>> metric = CriticalClassMetrics(num_classes=3, critical_classes=(2,), tpr_levels=(0.5, 1.0))
        >>> metric.update(torch.tensor([[2.0, 0, 1], [0, 3, 1], [0, 2, 1], [1, 0, 2]]), torch.tensor([0, 1, 2, 2]))
        >>> {key: round(value.item(), 2) for key, value in metric.compute().items()}  # doctest: +NORMALIZE_WHITESPACE
        {'accuracy': 0.75, 'balanced_accuracy': 0.83, 'accuracy/class0': 1.0, 'accuracy/class1': 1.0,
         'accuracy/class2': 0.5, 'auc/class2': 0.75, 'error_noncritical@50tpr': 0.0, 'tpr@50tpr': 0.5,
         'error_noncritical@100tpr': 1.0, 'tpr@100tpr': 1.0}
    """

    is_differentiable = False
    higher_is_better = None
    full_state_update = False
    num_classes: int
    critical_classes: tuple[int, ...]
    tpr_levels: tuple[float, ...]
    scores: list[Tensor]  # metric states (add_state), concatenated across processes
    targets: list[Tensor]

    def __init__(
        self,
        num_classes: int,
        critical_classes: Sequence[int],
        tpr_levels: Sequence[float] = (0.80, 0.90),
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(num_classes, bool) or not isinstance(num_classes, Integral) or num_classes < 2:
            raise ValueError(f"`num_classes` must be an integer >= 2, got {num_classes!r}")
        # Building the keys checks the critical classes and the levels, including levels that share a key.
        critical_class_keys(num_classes, critical_classes, tpr_levels)
        self.num_classes = int(num_classes)
        self.critical_classes = tuple(int(index) for index in critical_classes)
        self.tpr_levels = tuple(float(level) for level in tpr_levels)
        self.add_state("scores", default=[], dist_reduce_fx="cat")
        self.add_state("targets", default=[], dist_reduce_fx="cat")

    @property
    def keys(self) -> list[str]:
        """Names of the values returned by :meth:`compute`, in order."""
        return critical_class_keys(self.num_classes, self.critical_classes, self.tpr_levels)

    def update(self, scores: Tensor, targets: Tensor) -> None:
        """Store one batch of ``[B, C]`` scores and ``[B]`` class indices."""
        scores, targets = check_multiclass_scores_and_targets(scores, targets, self.num_classes)
        self.scores.append(scores)
        self.targets.append(targets)

    def compute(self) -> dict[str, Tensor]:
        """Report everything accumulated since the last reset; see :func:`critical_class_report`."""
        if len(self.scores):
            scores, targets = dim_zero_cat(self.scores), dim_zero_cat(self.targets)
        else:
            scores = torch.empty(0, self.num_classes, dtype=torch.float64, device=self.device)
            targets = torch.empty(0, dtype=torch.long, device=self.device)
        return critical_class_report(scores, targets, self.critical_classes, self.tpr_levels)
