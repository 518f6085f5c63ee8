"""VS, logit-adjusted and Balanced Softmax losses against hand formulas, multi-class and one-logit binary."""

import math

import pytest
import torch

from almlit.losses import BalancedSoftmaxLoss, LogitAdjustedLoss, VSLoss, long_tail

OUTPUTS = [[0.2, -0.5, 0.9], [-0.3, 0.4, 0.1], [0.6, 0.6, -0.8], [1.5, -0.2, 0.3]]
TARGETS = [2, 1, 0, 1]
COUNTS = [500, 120, 8]
LOGITS = [0.3, -1.2, 2.0, 0.0]
BINARY_TARGETS = [1, 0, 1, 0]
BINARY_COUNTS = [400, 20]


def hand_vs(gamma: float, tau: float) -> float:
    """-log of the softmax of Delta_c z_c + tau log pi_c at the target, averaged; written out term by term."""
    total, largest, everyone = 0.0, max(COUNTS), sum(COUNTS)
    for row, target in zip(OUTPUTS, TARGETS, strict=True):
        adjusted = [(n / largest) ** gamma * z + tau * math.log(n / everyone) for z, n in zip(row, COUNTS, strict=True)]
        total -= adjusted[target] - math.log(math.fsum(math.exp(value) for value in adjusted))
    return total / len(OUTPUTS)


def hand_binary_vs(gamma: float, tau: float) -> float:
    negatives, positives = BINARY_COUNTS
    total = 0.0
    for x, y in zip(LOGITS, BINARY_TARGETS, strict=True):
        scale = ((positives if y else negatives) / negatives) ** gamma
        shifted = scale * x + tau * math.log(positives / negatives)
        probability = 1 / (1 + math.exp(-shifted))
        total -= math.log(probability if y else 1 - probability)
    return total / len(LOGITS)


def multiclass():
    return torch.tensor(OUTPUTS, dtype=torch.float64), torch.tensor(TARGETS)


def binary(shape=(-1,)):
    return torch.tensor(LOGITS, dtype=torch.float64).reshape(shape), torch.tensor(BINARY_TARGETS).reshape(shape)


@pytest.mark.parametrize(("gamma", "tau"), [(0.0, 1.0), (0.2, 1.0), (0.5, 1.5), (0.3, 0.0)])
def test_vs_loss_matches_the_hand_formula(gamma, tau):
    outputs, targets = multiclass()
    loss = long_tail.vector_scaling_cross_entropy(outputs, targets, COUNTS, gamma, tau)
    assert loss.item() == pytest.approx(hand_vs(gamma, tau), rel=1e-12)


def test_balanced_softmax_is_the_softmax_of_counts_times_exponentials():
    total = 0.0
    for row, target in zip(OUTPUTS, TARGETS, strict=True):
        weighted = [n * math.exp(z) for z, n in zip(row, COUNTS, strict=True)]
        total -= math.log(weighted[target] / math.fsum(weighted))
    outputs, targets = multiclass()
    assert BalancedSoftmaxLoss(COUNTS)(outputs, targets).item() == pytest.approx(total / len(OUTPUTS), rel=1e-12)


@pytest.mark.parametrize("tau", [0.5, 1.0, 2.0])
def test_logit_adjusted_loss_is_vs_without_scaling(tau):
    outputs, targets = multiclass()
    assert LogitAdjustedLoss(COUNTS, tau)(outputs, targets).item() == pytest.approx(hand_vs(0.0, tau), rel=1e-12)


@pytest.mark.parametrize("shape", [(-1,), (-1, 1)])
@pytest.mark.parametrize(("gamma", "tau"), [(0.0, 1.0), (0.2, 1.0), (0.5, 0.5)])
def test_one_logit_binary_form_shifts_by_the_log_prior_ratio(shape, gamma, tau):
    logits, targets = binary(shape)
    loss = VSLoss(BINARY_COUNTS, gamma=gamma, tau=tau)(logits, targets)
    assert loss.item() == pytest.approx(hand_binary_vs(gamma, tau), rel=1e-12)


def test_binary_logit_adjustment_is_the_two_class_loss_of_outputs_zero_and_x():
    logits, targets = binary()
    two_outputs = torch.stack([torch.zeros_like(logits), logits], dim=1)
    one_logit = LogitAdjustedLoss(BINARY_COUNTS)(logits, targets)
    assert one_logit.item() == pytest.approx(LogitAdjustedLoss(BINARY_COUNTS)(two_outputs, targets).item(), rel=1e-12)
    assert one_logit.item() == pytest.approx(hand_binary_vs(0.0, 1.0), rel=1e-12)


@pytest.mark.parametrize("loss", [VSLoss(COUNTS), LogitAdjustedLoss(COUNTS), BalancedSoftmaxLoss(COUNTS)])
def test_multiclass_values_and_gradients_stay_finite_at_extreme_outputs(loss):
    outputs = torch.tensor([[100.0, -100.0, 0.0], [-100.0, 100.0, 100.0]], requires_grad=True)
    value = loss(outputs, torch.tensor([1, 0]))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(outputs.grad).all()


def softplus(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@pytest.mark.parametrize("gamma", [0.0, 0.2])
def test_binary_values_and_gradients_stay_finite_at_extreme_logits(gamma):
    logits = torch.tensor([100.0, -100.0, 100.0, -100.0], requires_grad=True)
    value = VSLoss(BINARY_COUNTS, gamma=gamma)(logits, torch.tensor([0, 1, 1, 0]))
    value.backward()
    shift, positive_scale = math.log(20 / 400), (20 / 400) ** gamma
    losses = [softplus(100 + shift), softplus(100 * positive_scale - shift), softplus(-100 * positive_scale - shift)]
    expected = (sum(losses) + softplus(-100 + shift)) / 4
    assert value.item() == pytest.approx(expected, rel=1e-6)
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: VSLoss([10, 0]), "class_counts must be a non-empty sequence of positive integers, got [10, 0]"),
        (lambda: VSLoss(COUNTS, gamma=-0.1), "gamma must be >= 0, got -0.1"),
        (lambda: LogitAdjustedLoss(COUNTS, tau=-1.0), "tau must be >= 0, got -1.0"),
    ],
)
def test_bad_arguments_name_the_value_and_what_is_allowed(build, message):
    with pytest.raises(ValueError) as error:
        build()
    assert message in str(error.value)


def test_one_logit_with_more_than_two_classes_is_rejected():
    logits, targets = binary()
    message = r"one output per sample needs class_counts of length 2 .* got \[500, 120, 8\]"
    with pytest.raises(ValueError, match=message):
        BalancedSoftmaxLoss(COUNTS)(logits, targets)


def test_outputs_with_the_wrong_number_of_columns_are_rejected():
    outputs, targets = multiclass()
    with pytest.raises(ValueError, match=r"one column per class \(C = 4\), got \[4, 3\]"):
        BalancedSoftmaxLoss([5, 4, 3, 2])(outputs, targets)
