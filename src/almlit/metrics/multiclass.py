"""Multi-class metrics with critical classes (paper Sec. 5.3, Table 4): pure float64 tensor functions, then a shell.

For a critical class c and a TPR level t, the threshold tau on the score column of c is the largest value such that a
fraction >= t of the class-c samples scores >= tau: the k-th largest class-c score, with k the smallest integer such
that k / P_c >= t (P_c samples of class c; no interpolation). Samples scoring >= tau on c are assigned to c, every
other sample to the argmax over the non-critical classes (all critical columns excluded). The paper's Table 4 reports
the error of this assignment on the samples of the non-critical classes, next to the plain argmax accuracy.

A figure whose denominator is empty is NaN rather than an error: a critical class without samples gives NaN
thresholds, TPRs and errors, a class without samples a NaN accuracy, and a critical class that holds every sample (or
none) a NaN AUC. The functions raise only on malformed arguments, so the Metric shell
(:class:`CriticalClassMetrics`, after the functions) never raises in ``compute``.
"""

from collections.abc import Sequence
from numbers import Integral

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities.data import dim_zero_cat

from almlit.metrics.binary import binary_auc
from almlit.metrics.checks import check_critical_classes, check_multiclass_scores_and_targets, check_tpr_levels


def _tpr_key(level: float) -> str:
    return f"{round(100 * level)}tpr"


def critical_class_keys(num_classes: int, critical_classes: Sequence[int], tpr_levels: Sequence[float]) -> list[str]:
    """Names of the values of :func:`critical_class_report`, in order.

    ``accuracy``, ``balanced_accuracy``, ``accuracy/class{i}`` for every class, then for every critical class c:
    ``auc/class{c}`` and, for every level t, ``error_noncritical@{100t}tpr/class{c}`` and ``tpr@{100t}tpr/class{c}``.
    With a single critical class the ``/class{c}`` suffix of the last two is dropped, as in the paper's Table 4.

    Raises:
        ValueError: on invalid critical classes or levels, or levels that round to the same key.
    """
    critical = check_critical_classes(critical_classes, num_classes)
    check_tpr_levels(tpr_levels)
    keys = ["accuracy", "balanced_accuracy", *(f"accuracy/class{index}" for index in range(num_classes))]
    for critical_class in critical:
        suffix = f"/class{critical_class}" if len(critical) > 1 else ""
        keys.append(f"auc/class{critical_class}")
        for level in tpr_levels:
            keys += [f"error_noncritical@{_tpr_key(level)}{suffix}", f"tpr@{_tpr_key(level)}{suffix}"]
    if len(set(keys)) != len(keys):
        raise ValueError(f"`tpr_levels` must give distinct keys, got {[_tpr_key(level) for level in tpr_levels]}")
    return keys


def threshold_at_tpr(positive_scores: Tensor, tpr_levels: Sequence[float]) -> Tensor:
    """Largest threshold tau with TPR(tau) >= t, for each level t.

    Args:
        positive_scores: 1-D scores of the critical class's own samples on its column.
        tpr_levels: required true-positive rates, each in (0, 1].

    Returns:
        float64 tensor of shape ``[len(tpr_levels)]``: the k-th largest score, k the smallest integer with
        k / P >= t; all NaN when ``positive_scores`` is empty. Ties at tau may lift the achieved TPR above k / P.

    Raises:
        ValueError: if ``positive_scores`` is not 1-D or a level lies outside (0, 1].
    """
    check_tpr_levels(tpr_levels)
    if positive_scores.ndim != 1:
        raise ValueError(f"`positive_scores` must be a 1-D tensor, got shape {tuple(positive_scores.shape)}")
    levels = torch.tensor(list(tpr_levels), dtype=torch.float64, device=positive_scores.device)
    positives = positive_scores.numel()
    if positives == 0:
        return torch.full_like(levels, torch.nan)
    sorted_scores = positive_scores.detach().to(torch.float64).sort(descending=True).values
    # k / P is divided exactly as the achieved TPR is, so t = 0.56 with P = 25 needs k = 14, not ceil(0.56 * 25) = 15.
    fractions = torch.arange(1, positives + 1, dtype=torch.float64, device=levels.device) / positives
    return sorted_scores[torch.searchsorted(fractions, levels)]


def assign_with_critical_threshold(
    scores: Tensor, critical_classes: Sequence[int], critical_class: int, thresholds: Tensor
) -> Tensor:
    """Class assignments when samples scoring >= a threshold on ``critical_class`` go to it.

    Args:
        scores: ``[N, C]`` scores.
        critical_classes: every critical class; their columns are excluded from the fallback argmax.
        critical_class: the class whose column is thresholded, one of ``critical_classes``.
        thresholds: 1-D float64 thresholds, one per operating point (NaN assigns nothing to ``critical_class``).

    Returns:
        int64 tensor ``[len(thresholds), N]``: ``critical_class`` where its score is >= the threshold, otherwise the
        argmax over the non-critical classes (the first one on ties).

    Raises:
        ValueError: on malformed scores or critical classes, or a ``critical_class`` not among them.
    """
    if scores.ndim != 2:
        raise ValueError(f"`scores` must be a 2-D tensor [N, C], got shape {tuple(scores.shape)}")
    critical = check_critical_classes(critical_classes, scores.shape[1])
    if critical_class not in critical:
        raise ValueError(f"`critical_class` must be one of `critical_classes` {list(critical)}, got {critical_class!r}")
    noncritical = torch.tensor(
        [index for index in range(scores.shape[1]) if index not in critical], device=scores.device
    )
    fallback = noncritical[scores[:, noncritical].argmax(dim=1)]
    over = scores[:, critical_class].to(torch.float64) >= thresholds.unsqueeze(1)
    return torch.where(over, critical_class, fallback)


def per_class_accuracy(predictions: Tensor, targets: Tensor, num_classes: int) -> Tensor:
    """Recall of every class: the fraction of its samples predicted as it.

    Returns:
        float64 tensor ``[num_classes]``, NaN for a class without samples.
    """
    totals = torch.bincount(targets, minlength=num_classes)
    hits = torch.bincount(targets[predictions == targets], minlength=num_classes)
    return hits.to(torch.float64) / totals


def critical_class_report(
    scores: Tensor,
    targets: Tensor,
    critical_classes: Sequence[int],
    tpr_levels: Sequence[float] = (0.80, 0.90),
) -> dict[str, Tensor]:
    """The paper's Table 4 figures, plus per-class accuracies and each critical class's one-vs-rest AUC.

    Each critical class c is evaluated on its own: its threshold (:func:`threshold_at_tpr` on the class-c samples)
    assigns samples to c, the others go to the argmax over the non-critical classes. ``error_noncritical`` is the
    fraction of non-critical-class samples misassigned, ``tpr`` the fraction of class-c samples over the threshold.
    ``accuracy``, ``balanced_accuracy`` (mean recall over the classes present) and ``accuracy/class{i}`` use the
    plain argmax over all classes.

    Args:
        scores: ``[N, C]`` raw scores (logits or probabilities); ranked in float64, never transformed.
        targets: ``[N]`` integer class indices.
        critical_classes: distinct class indices, leaving at least one non-critical class.
        tpr_levels: TPR levels t in (0, 1] of the critical classes.

    Returns:
        0-dim float64 tensors keyed by :func:`critical_class_keys`; NaN where a denominator is empty.

    Raises:
        ValueError: on malformed scores, targets, critical classes or levels.
    """
    scores, targets = check_multiclass_scores_and_targets(scores, targets)
    num_classes = scores.shape[1]
    keys = critical_class_keys(num_classes, critical_classes, tpr_levels)
    critical = check_critical_classes(critical_classes, num_classes)
    predictions = scores.argmax(dim=1)
    recalls = per_class_accuracy(predictions, targets, num_classes)
    values = [(predictions == targets).to(torch.float64).mean(), recalls.nanmean(), *recalls.unbind()]
    noncritical_samples = ~torch.isin(targets, torch.tensor(critical, device=targets.device))
    for critical_class in critical:
        positives = targets == critical_class
        positive_scores = scores[positives, critical_class]
        if 0 < positive_scores.numel() < targets.numel():
            values.append(binary_auc(scores[:, critical_class], positives))
        else:
            values.append(scores.new_tensor(torch.nan))
        thresholds = threshold_at_tpr(positive_scores, tpr_levels)
        assigned = assign_with_critical_threshold(scores, critical, critical_class, thresholds)
        errors = (assigned[:, noncritical_samples] != targets[noncritical_samples]).to(torch.float64).mean(dim=1)
        # Without class-c samples there is no threshold, so the error at that TPR is undefined too.
        errors = torch.where(thresholds.isnan(), torch.nan, errors)
        rates = (positive_scores >= thresholds.unsqueeze(1)).to(torch.float64).mean(dim=1)
        for error, rate in zip(errors.unbind(), rates.unbind(), strict=True):
            values += [error, rate]
    return dict(zip(keys, values, strict=True))


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
