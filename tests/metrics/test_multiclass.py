"""Critical-class metrics (paper Table 4) against hand-computed examples, scikit-learn and naive loops."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, balanced_accuracy_score, recall_score, roc_auc_score

from almlit.metrics import (
    CriticalClassMetrics,
    assign_with_critical_threshold,
    critical_class_report,
    threshold_at_tpr,
)

# Ten samples of four classes; class 3 is critical. Columns are the scores of classes 0, 1, 2, 3.
ONE_CRITICAL_SCORES = [
    [0.7, 0.1, 0.0, 0.05],  # class 0
    [0.2, 0.5, 0.1, 0.2],  # class 0
    [0.1, 0.6, 0.2, 0.4],  # class 1
    [0.0, 0.15, 0.1, 0.25],  # class 1
    [0.3, 0.2, 0.35, 0.1],  # class 2
    [0.0, 0.0, 0.05, 0.9],  # class 3
    [0.1, 0.0, 0.0, 0.8],  # class 3
    [0.7, 0.0, 0.0, 0.6],  # class 3
    [0.0, 0.5, 0.0, 0.3],  # class 3
    [0.0, 0.0, 0.0, 0.1],  # class 3
]
ONE_CRITICAL_TARGETS = [0, 0, 1, 1, 2, 3, 3, 3, 3, 3]


def test_one_critical_class_by_hand() -> None:
    scores = torch.tensor(ONE_CRITICAL_SCORES, dtype=torch.float64)
    targets = torch.tensor(ONE_CRITICAL_TARGETS)
    # Class-3 scores in descending order: 0.9, 0.8, 0.6, 0.3, 0.1 (P = 5). TPR 0.8 needs k = 4 of them: tau = 0.3;
    # TPR 0.9 needs k = 5 (4 / 5 < 0.9): tau = 0.1.
    thresholds = threshold_at_tpr(scores[5:, 3], (0.8, 0.9))
    assert thresholds.tolist() == [0.3, 0.1]
    # tau = 0.3: samples 2 (0.4), 5-7 and 8 (0.3, tie at tau) go to class 3; the others to the argmax over classes
    # 0-2, which skips class 3 for sample 3 (0.25 is its highest score) and gives class 0 to sample 9 (all zeros).
    # tau = 0.1: every sample except sample 0 (0.05) scores >= 0.1 on class 3, including sample 4 (tie at tau).
    assigned = assign_with_critical_threshold(scores, (3,), 3, thresholds)
    assert assigned.tolist() == [[0, 1, 3, 1, 2, 3, 3, 3, 3, 0], [0, 3, 3, 3, 3, 3, 3, 3, 3, 3]]
    # Non-critical samples 0-4. At tau = 0.3 samples 1 and 2 are wrong: error 2 / 5. At tau = 0.1 only sample 0 is
    # right: error 4 / 5. TPR: 4 / 5 at tau = 0.3, 5 / 5 at tau = 0.1.
    # Plain argmax: 0, 1, 1, 3, 2, 3, 3, 0, 1, 3, right for samples 0, 2, 4, 5, 6, 9: accuracy 6 / 10. Per class
    # 1 / 2, 1 / 2, 1 / 1, 3 / 5, balanced (0.5 + 0.5 + 1 + 0.6) / 4 = 0.65.
    # AUC of column 3: negatives score 0.05, 0.2, 0.4, 0.25, 0.1. Positive 0.9, 0.8 and 0.6 beat all 5, 0.3 beats 4,
    # 0.1 beats 1 and ties 1: (15 + 4 + 1.5) / 25 = 0.82.
    expected = {
        "accuracy": 0.6,
        "balanced_accuracy": 0.65,
        "accuracy/class0": 0.5,
        "accuracy/class1": 0.5,
        "accuracy/class2": 1.0,
        "accuracy/class3": 0.6,
        "auc/class3": 0.82,
        "error_noncritical@80tpr": 0.4,
        "tpr@80tpr": 0.8,
        "error_noncritical@90tpr": 0.8,
        "tpr@90tpr": 1.0,
    }
    report = critical_class_report(scores, targets, (3,))
    assert list(report) == list(expected)
    assert all(value.dtype == torch.float64 and value.ndim == 0 for value in report.values())
    assert {key: value.item() for key, value in report.items()} == pytest.approx(expected, abs=1e-12)


def test_two_critical_classes_by_hand() -> None:
    # Classes 2 and 3 are critical; the fallback argmax only sees columns 0 and 1.
    scores = torch.tensor(
        [
            [0.6, 0.1, 0.5, 0.55],  # class 0
            [0.1, 0.3, 0.0, 0.7],  # class 0
            [0.2, 0.4, 0.3, 0.35],  # class 1
            [0.5, 0.3, 0.0, 0.2],  # class 1
            [0.0, 0.1, 0.9, 0.0],  # class 2
            [0.3, 0.0, 0.4, 0.6],  # class 2
            [0.0, 0.2, 0.1, 0.8],  # class 3
            [0.1, 0.0, 0.3, 0.5],  # class 3
        ]
    )
    targets = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    # The fallback argmax over classes 0, 1 gives samples 0-3 the classes 0, 1, 1, 0: samples 1 and 3 wrong.
    # Class 2 (scores 0.9, 0.4): tau = 0.9 at TPR 0.5, 0.4 at TPR 1. At 0.9 no non-critical sample moves: error
    # 2 / 4; at 0.4 sample 0 (0.5) moves to class 2: error 3 / 4.
    # Class 3 (scores 0.8, 0.5): tau = 0.8 at TPR 0.5, 0.5 at TPR 1. At 0.8 nothing moves: error 2 / 4; at 0.5
    # samples 0 (0.55) and 1 (0.7) move to class 3: error 3 / 4.
    # AUC: column 2 ranks 0.9 over all 6 negatives (0.5, 0, 0.3, 0, 0.1, 0.3) and 0.4 over 5: 11 / 12. Column 3
    # ranks 0.8 over all 6 negatives (0.55, 0.7, 0.35, 0.2, 0, 0.6) and 0.5 over 3: 9 / 12.
    # Plain argmax: 0, 3, 1, 0, 2, 3, 3, 3: right for samples 0, 2, 4, 6, 7, accuracy 5 / 8; per class 1 / 2,
    # 1 / 2, 1 / 2, 2 / 2, balanced 0.625.
    expected = {
        "accuracy": 5 / 8,
        "balanced_accuracy": 0.625,
        "accuracy/class0": 0.5,
        "accuracy/class1": 0.5,
        "accuracy/class2": 0.5,
        "accuracy/class3": 1.0,
        "auc/class2": 11 / 12,
        "error_noncritical@50tpr/class2": 0.5,
        "tpr@50tpr/class2": 0.5,
        "error_noncritical@100tpr/class2": 0.75,
        "tpr@100tpr/class2": 1.0,
        "auc/class3": 0.75,
        "error_noncritical@50tpr/class3": 0.5,
        "tpr@50tpr/class3": 0.5,
        "error_noncritical@100tpr/class3": 0.75,
        "tpr@100tpr/class3": 1.0,
    }
    report = critical_class_report(scores, targets, (2, 3), tpr_levels=(0.5, 1.0))
    assert list(report) == list(expected)
    assert {key: value.item() for key, value in report.items()} == pytest.approx(expected, abs=1e-12)


def make_case(size: int = 240, num_classes: int = 5, seed: int = 0, ties: bool = False) -> tuple[torch.Tensor, ...]:
    """Random scores that favour the true class, and targets with every class present."""
    rng = np.random.default_rng(seed)
    targets = rng.integers(num_classes, size=size)
    targets[:num_classes] = np.arange(num_classes)
    scores = rng.normal(size=(size, num_classes)) + 1.5 * np.eye(num_classes)[targets]
    if ties:
        # Rounding to 0.5 makes ties at the threshold and in the argmax.
        scores = np.round(2 * scores) / 2
    return torch.from_numpy(scores), torch.from_numpy(targets)


def naive_threshold(positive_scores: list[float], level: float) -> float:
    """Largest candidate threshold whose TPR (fraction of positives scoring >= it) reaches the level."""
    return max(
        threshold
        for threshold in positive_scores
        if sum(score >= threshold for score in positive_scores) / len(positive_scores) >= level
    )


def naive_critical_figures(
    scores: torch.Tensor, targets: torch.Tensor, critical: tuple[int, ...], critical_class: int, level: float
) -> tuple[float, float]:
    """(error on non-critical samples, achieved TPR), assigning sample by sample."""
    rows, labels = scores.tolist(), targets.tolist()
    positives = [row[critical_class] for row, label in zip(rows, labels, strict=True) if label == critical_class]
    threshold = naive_threshold(positives, level)
    noncritical = [index for index in range(len(rows[0])) if index not in critical]
    mistakes = []
    for row, label in zip(rows, labels, strict=True):
        if label in critical:
            continue
        # max() returns the first maximal class, like argmax.
        predicted = critical_class if row[critical_class] >= threshold else max(noncritical, key=row.__getitem__)
        mistakes.append(predicted != label)
    return sum(mistakes) / len(mistakes), sum(score >= threshold for score in positives) / len(positives)


def reference_report(
    scores: torch.Tensor, targets: torch.Tensor, critical: tuple[int, ...], levels: tuple[float, ...]
) -> dict[str, float]:
    """Every figure from scikit-learn and the naive loops above."""
    num_classes = scores.shape[1]
    labels, predictions = targets.numpy(), scores.numpy().argmax(axis=1)
    recalls = recall_score(labels, predictions, labels=range(num_classes), average=None, zero_division=np.nan)
    reference = {
        "accuracy": accuracy_score(labels, predictions),
        "balanced_accuracy": balanced_accuracy_score(labels, predictions),
        **{f"accuracy/class{index}": recall for index, recall in enumerate(recalls)},
    }
    for critical_class in critical:
        suffix = f"/class{critical_class}" if len(critical) > 1 else ""
        reference[f"auc/class{critical_class}"] = roc_auc_score(labels == critical_class, scores[:, critical_class])
        for level in levels:
            error, tpr = naive_critical_figures(scores, targets, critical, critical_class, level)
            reference[f"error_noncritical@{round(100 * level)}tpr{suffix}"] = error
            reference[f"tpr@{round(100 * level)}tpr{suffix}"] = tpr
    return reference


def test_threshold_matches_naive_loop() -> None:
    rng = np.random.default_rng(1)
    levels = (0.01, 0.28, 0.5, 0.56, 0.8, 0.9, 0.95, 1.0)
    for size in (1, 2, 7, 25, 50, 101):
        continuous = rng.normal(size=size)
        for positives in (continuous, np.round(2 * continuous) / 2):
            expected = [naive_threshold(positives.tolist(), level) for level in levels]
            assert threshold_at_tpr(torch.from_numpy(positives), levels).tolist() == expected


def test_threshold_keeps_the_exact_fraction() -> None:
    # 0.56 * 25 = 14.000000000000002 in floating point, but 14 / 25 == 0.56: the 14th largest score reaches TPR 0.56.
    assert threshold_at_tpr(torch.arange(25.0, 0.0, -1.0), (0.56,)).tolist() == [12.0]


@pytest.mark.parametrize("ties", [False, True], ids=["continuous", "ties"])
@pytest.mark.parametrize("critical", [(4,), (1, 3)], ids=["one_critical", "two_critical"])
def test_report_matches_references(critical: tuple[int, ...], ties: bool) -> None:
    scores, targets = make_case(ties=ties)
    levels = (0.8, 0.9, 0.97)
    report = critical_class_report(scores, targets, critical, levels)
    expected = reference_report(scores, targets, critical, levels)
    assert list(report) == list(expected)
    assert {key: value.item() for key, value in report.items()} == pytest.approx(expected, abs=1e-12)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_absent_class_gives_nan_accuracy_and_balanced_accuracy_over_present_classes() -> None:
    scores, targets = make_case()
    present = targets != 2
    scores, targets = scores[present], targets[present]
    report = critical_class_report(scores, targets, (4,))
    expected = reference_report(scores, targets, (4,), (0.8, 0.9))
    assert math.isnan(report["accuracy/class2"].item()) and math.isnan(expected["accuracy/class2"])
    assert {key: value.item() for key, value in report.items()} == pytest.approx(expected, abs=1e-12, nan_ok=True)


def test_metric_accumulates_batches() -> None:
    scores, targets = make_case(ties=True)
    metric = CriticalClassMetrics(num_classes=5, critical_classes=[0, 3], tpr_levels=(0.8, 0.9))
    metric.update(torch.zeros(2, 5), torch.tensor([0, 1]))
    metric.reset()
    for batch_scores, batch_targets in zip(scores.float().split(70), targets.split(70), strict=True):
        metric.update(batch_scores, batch_targets)
    result = metric.compute()
    expected = reference_report(scores.float().double(), targets, (0, 3), (0.8, 0.9))
    assert list(result) == metric.keys == list(expected)
    assert all(value.dtype == torch.float64 and value.ndim == 0 for value in result.values())
    assert {key: value.item() for key, value in result.items()} == pytest.approx(expected, abs=1e-12)


def test_metric_keys() -> None:
    metric = CriticalClassMetrics(num_classes=3, critical_classes=(1,))
    assert metric.keys == [
        "accuracy",
        "balanced_accuracy",
        "accuracy/class0",
        "accuracy/class1",
        "accuracy/class2",
        "auc/class1",
        "error_noncritical@80tpr",
        "tpr@80tpr",
        "error_noncritical@90tpr",
        "tpr@90tpr",
    ]


def nan_keys(result: dict[str, torch.Tensor]) -> set[str]:
    return {key for key, value in result.items() if math.isnan(value.item())}


@pytest.mark.parametrize(
    ("targets", "expected_nan"),
    [
        # A sanity-check batch without the critical class 3: nothing of class 3 can be measured.
        (
            [0, 1, 2, 1],
            {
                "accuracy/class3",
                "auc/class3",
                *(f"{name}@{level}tpr" for name in ("error_noncritical", "tpr") for level in (80, 90)),
            },
        ),
        # Only the critical class: no negatives for the AUC, no non-critical samples for the error.
        (
            [3, 3, 3],
            {
                "accuracy/class0",
                "accuracy/class1",
                "accuracy/class2",
                "auc/class3",
                "error_noncritical@80tpr",
                "error_noncritical@90tpr",
            },
        ),
    ],
    ids=["no_critical_sample", "only_critical_samples"],
)
def test_metric_missing_classes_give_nan(targets: list[int], expected_nan: set[str]) -> None:
    metric = CriticalClassMetrics(num_classes=4, critical_classes=(3,))
    metric.update(torch.randn(len(targets), 4), torch.tensor(targets))
    assert nan_keys(metric.compute()) == expected_nan


def test_metric_absent_second_critical_class_leaves_the_first_measured() -> None:
    metric = CriticalClassMetrics(num_classes=4, critical_classes=(2, 3))
    metric.update(torch.randn(4, 4), torch.tensor([0, 1, 2, 2]))
    assert nan_keys(metric.compute()) == {
        "accuracy/class3",
        "auc/class3",
        *(f"{name}@{level}tpr/class3" for name in ("error_noncritical", "tpr") for level in (80, 90)),
    }


@pytest.mark.filterwarnings("ignore:.*called before the ``update``")
def test_metric_without_updates_gives_nan_everywhere() -> None:
    metric = CriticalClassMetrics(num_classes=3, critical_classes=(0,))
    result = metric.compute()
    assert list(result) == metric.keys and nan_keys(result) == set(metric.keys)


SCORES = torch.zeros(10, 4)
TARGETS = torch.tensor(ONE_CRITICAL_TARGETS)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: critical_class_report(SCORES[:, 0], TARGETS, (3,)),
            r"`scores` must be a 2-D tensor \[N, C\], got shape \(10,\)",
        ),
        (
            lambda: critical_class_report(SCORES, TARGETS[:9], (3,)),
            r"`targets` must be a 1-D tensor of length N = 10, got shape \(9,\)",
        ),
        (
            lambda: critical_class_report(SCORES, TARGETS.float(), (3,)),
            r"`targets` must be an integer tensor, got dtype torch.float32",
        ),
        (lambda: critical_class_report(SCORES, TARGETS - 1, (3,)), r"`targets` must lie in \[0, 4\), got \[-1\]"),
        (
            lambda: critical_class_report(SCORES.clone().fill_diagonal_(torch.nan), TARGETS, (3,)),
            r"`scores` must not contain NaN, got 4 NaN",
        ),
        (
            lambda: critical_class_report(SCORES, TARGETS, ()),
            r"`critical_classes` must name at least one class, got none",
        ),
        (
            lambda: critical_class_report(SCORES, TARGETS, (4,)),
            r"`critical_classes` must be integers in \[0, 4\), got 4",
        ),
        (
            lambda: critical_class_report(SCORES, TARGETS, (1.0,)),
            r"`critical_classes` must be integers in \[0, 4\), got 1.0",
        ),
        (lambda: critical_class_report(SCORES, TARGETS, (3, 3)), r"`critical_classes` must be distinct, got \[3, 3\]"),
        (
            lambda: critical_class_report(SCORES, TARGETS, range(4)),
            r"must leave at least one non-critical class, got \[0, 1, 2, 3\] of 4",
        ),
        (lambda: critical_class_report(SCORES, TARGETS, (3,), (0.0,)), r"`tpr_levels` must lie in \(0, 1\], got 0.0"),
        (
            lambda: critical_class_report(SCORES, TARGETS, (3,), (0.9, 0.901)),
            r"`tpr_levels` must give distinct keys, got \['90tpr', '90tpr'\]",
        ),
        (lambda: threshold_at_tpr(SCORES, (0.9,)), r"`positive_scores` must be a 1-D tensor, got shape \(10, 4\)"),
        (
            lambda: assign_with_critical_threshold(SCORES, (3,), 2, torch.zeros(1)),
            r"`critical_class` must be one of `critical_classes` \[3\], got 2",
        ),
        (lambda: CriticalClassMetrics(1, (0,)), r"`num_classes` must be an integer >= 2, got 1"),
        (lambda: CriticalClassMetrics(4, (3,), (1.5,)), r"`tpr_levels` must lie in \(0, 1\], got 1.5"),
        (
            lambda: CriticalClassMetrics(4, (3,)).update(SCORES[:, :3], TARGETS),
            r"`scores` must have 4 columns, one per class, got shape \(10, 3\)",
        ),
    ],
    ids=[
        "scores_1d",
        "targets_length",
        "targets_float",
        "targets_range",
        "scores_nan",
        "critical_empty",
        "critical_range",
        "critical_float",
        "critical_repeated",
        "critical_all",
        "tpr_zero",
        "tpr_same_key",
        "threshold_2d",
        "assign_not_critical",
        "metric_one_class",
        "metric_tpr",
        "metric_columns",
    ],
)
def test_invalid_input_is_rejected(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
