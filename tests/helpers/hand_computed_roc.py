"""A ROC with tied scores worked out by hand, and its two-way partial AUCs: a reference for the metrics and the
reports."""

import torch

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
