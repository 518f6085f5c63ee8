"""Reference values for the ranking metrics, computed without almlit: scikit-learn, counting loops and a ROC
worked out by hand."""

import numpy as np
import torch
from sklearn.metrics import roc_curve


def make_case(name: str, size: int = 300, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores and targets (about 1 positive in 5) for the named scenario."""
    rng = np.random.default_rng(seed)
    targets = (rng.random(size) < 0.2).astype(np.int64)
    targets[:2] = [0, 1]
    separated = rng.normal(size=size) + 1.5 * targets
    scores = {
        "continuous": separated,
        # Rounding to 0.5 creates large groups of tied scores that mix both classes.
        "ties": np.round(2 * separated) / 2,
        # Distinct in float64, but all equal to 1.0 after a float32 sigmoid.
        "large_logits": 40 + 1e-6 * np.argsort(np.argsort(separated)),
    }[name]
    return torch.from_numpy(scores), torch.from_numpy(targets)


SCORE_CASES = ("continuous", "ties", "large_logits")


def sklearn_fpr_at_tpr(scores: torch.Tensor, targets: torch.Tensor, tpr_levels: tuple[float, ...]) -> list[float]:
    """For each level, the lowest FPR over the points of sklearn's ROC curve that reach it."""
    fpr, tpr, _ = roc_curve(targets.numpy(), scores.numpy(), drop_intermediate=False)
    return [min(f for f, t in zip(fpr, tpr, strict=True) if t >= level) for level in tpr_levels]


def counted_fpr_at_false_negatives(
    scores: torch.Tensor, targets: torch.Tensor, budgets: tuple[int, ...]
) -> list[float]:
    """For each budget k, the lowest FPR over thresholds that leave at most k positives below them."""
    pairs = list(zip(scores.tolist(), targets.tolist(), strict=True))
    negatives = sum(1 for _, label in pairs if label == 0)
    points = []
    for threshold in [float("inf"), *sorted({score for score, _ in pairs})]:
        missed = sum(1 for score, label in pairs if label == 1 and score < threshold)
        false_alarms = sum(1 for score, label in pairs if label == 0 and score >= threshold)
        points.append((missed, false_alarms / negatives))
    return [min(fpr for missed, fpr in points if missed <= budget) for budget in budgets]


# Hand-computed example with ties: positives score 5, 3, 3, 1 (P = 4); negatives 4, 3, 2, 2, 0 (N = 5).
# Thresholds from the top: 5 (one positive) -> (FPR, TPR) = (0, 1/4); 4 (a negative) -> (0.2, 0.25);
# 3 (two positives and a negative, tied: one diagonal step) -> (0.4, 0.75); 2 (two negatives) -> (0.8, 0.75);
# 1 (a positive) -> (0.8, 1); 0 -> (1, 1). On the tied step TPR(x) = 0.25 + 2.5 (x - 0.2), which reaches
# alpha = 0.5 at x = 0.3.
# - alpha = 0.5, beta = 0.6: over [0.3, 0.4] the triangle 0.1 * 0.25 / 2 = 0.0125, over [0.4, 0.6] the rectangle
#   0.2 * 0.25 = 0.05; total 0.0625, over the box (1 - 0.5) * 0.6 = 0.3: 0.0625 / 0.3 = 5 / 24.
# - alpha = 0.5, beta = 0.35: the triangle 0.05 * (0.625 - 0.5) / 2 = 0.003125 over 0.5 * 0.35 = 0.175: 1 / 56.
# - alpha = 0.5, beta = 0.3: the region starts where it ends: 0.
# - alpha = 0.8, beta = 1: TPR >= 0.8 only from x = 0.8 on (TPR 1): 0.2 * 0.2 = 0.04 over 0.2 * 1: 0.2.
# - alpha = 0, beta = 0.2: the rectangle 0.2 * 0.25 = 0.05 over 0.2: 0.25.
HAND_SCORES = torch.tensor([5.0, 3.0, 3.0, 1.0, 4.0, 3.0, 2.0, 2.0, 0.0])
HAND_LABELS = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0, 0])
HAND_CASES = [((0.5, 0.6), 5 / 24), ((0.5, 0.35), 1 / 56), ((0.5, 0.3), 0.0), ((0.8, 1.0), 0.2), ((0.0, 0.2), 0.25)]
