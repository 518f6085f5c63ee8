"""Multi-class metrics with critical classes (paper Sec. 5.3, Table 4), as pure float64 tensor functions.

For a critical class c and a TPR level t, the threshold tau on the score column of c is the largest value such that a
fraction >= t of the class-c samples scores >= tau: the k-th largest class-c score, with k the smallest integer such
that k / P_c >= t (P_c samples of class c; no interpolation). Samples scoring >= tau on c are assigned to c, every
other sample to the argmax over the non-critical classes (all critical columns excluded). The paper's Table 4 reports
the error of this assignment on the samples of the non-critical classes, next to the plain argmax accuracy.

A figure whose denominator is empty is NaN rather than an error: a critical class without samples gives NaN
thresholds, TPRs and errors, a class without samples a NaN accuracy, and a critical class that holds every sample (or
none) a NaN AUC. The functions raise only on malformed arguments, so the Metric shell
(:class:`almlit.metrics.multiclass.CriticalClassMetrics`) never raises in ``compute``.
"""

from collections.abc import Sequence
from numbers import Integral

import torch
from torch import Tensor

from almlit.metrics.functional import binary_auc, check_tpr_levels


def check_multiclass_scores_and_targets(
    scores: Tensor, targets: Tensor, num_classes: int | None = None
) -> tuple[Tensor, Tensor]:
    """Validate a batch of per-class scores and class-index targets.

    Args:
        scores: ``[N, C]`` raw scores (logits or probabilities), without NaN.
        targets: ``[N]`` integer class indices in ``[0, C)``.
        num_classes: the expected C, or None to take it from ``scores``.

    Returns:
        ``scores`` as float64 and ``targets`` as int64, both detached.

    Raises:
        ValueError: naming the argument whose shape, dtype or values are not allowed.
    """
    if scores.ndim != 2:
        raise ValueError(f"`scores` must be a 2-D tensor [N, C], got shape {tuple(scores.shape)}")
    if num_classes is not None and scores.shape[1] != num_classes:
        raise ValueError(f"`scores` must have {num_classes} columns, one per class, got shape {tuple(scores.shape)}")
    if targets.ndim != 1 or targets.numel() != scores.shape[0]:
        raise ValueError(
            f"`targets` must be a 1-D tensor of length N = {scores.shape[0]}, got shape {tuple(targets.shape)}"
        )
    if targets.dtype == torch.bool or targets.is_floating_point() or targets.is_complex():
        raise ValueError(f"`targets` must be an integer tensor, got dtype {targets.dtype}")
    scores = scores.detach().to(torch.float64)
    if torch.isnan(scores).any():
        raise ValueError(f"`scores` must not contain NaN, got {int(torch.isnan(scores).sum())} NaN value(s)")
    targets = targets.detach().long()
    outside = (targets < 0) | (targets >= scores.shape[1])
    if outside.any():
        raise ValueError(f"`targets` must lie in [0, {scores.shape[1]}), got {torch.unique(targets[outside]).tolist()}")
    return scores, targets


def check_critical_classes(critical_classes: Sequence[int], num_classes: int) -> tuple[int, ...]:
    """Check that the critical classes are distinct class indices that leave at least one non-critical class.

    Returns:
        The critical classes as a tuple of ints, in the given order.

    Raises:
        ValueError: naming the offending value.
    """
    critical = tuple(critical_classes)
    if not critical:
        raise ValueError("`critical_classes` must name at least one class, got none")
    for index in critical:
        if isinstance(index, bool) or not isinstance(index, Integral) or not 0 <= index < num_classes:
            raise ValueError(f"`critical_classes` must be integers in [0, {num_classes}), got {index!r}")
    critical = tuple(int(index) for index in critical)
    if len(set(critical)) != len(critical):
        raise ValueError(f"`critical_classes` must be distinct, got {list(critical)}")
    if len(critical) == num_classes:
        raise ValueError(
            f"`critical_classes` must leave at least one non-critical class, got {list(critical)} of {num_classes}"
        )
    return critical


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
