"""Multi-class losses (CE, FL, CB-CE, weighted LDAM) against hand formulas and ``F.cross_entropy``."""

import math

import pytest
import torch
import torch.nn.functional as F

from almlit.losses import ClassBalancedCELoss, CrossEntropyLoss, FocalLoss, LDAMLoss, multiclass

OUTPUTS = [[0.2, -0.5, 0.9], [-0.3, 0.4, 0.1], [0.6, 0.6, -0.8], [1.5, -0.2, 0.3]]
TARGETS = [2, 1, 0, 1]
WEIGHT = [0.25, 2.0, 1.5]


def probability(row: list[float], target: int) -> float:
    return math.exp(row[target]) / math.fsum(math.exp(value) for value in row)


def hand_focal(gamma: float):
    return lambda row, target: -((1 - probability(row, target)) ** gamma) * math.log(probability(row, target))


def hand_reduce(per_sample, weight, reduction):
    """Per-sample losses scaled by w_y; "mean" divides by the sum of the w_y, as torch does."""
    weights = [1.0 if weight is None else weight[target] for target in TARGETS]
    losses = [w * per_sample(row, target) for w, row, target in zip(weights, OUTPUTS, TARGETS, strict=True)]
    return {"none": losses, "sum": math.fsum(losses), "mean": math.fsum(losses) / math.fsum(weights)}[reduction]


def as_tensors(weight):
    return (
        torch.tensor(OUTPUTS, dtype=torch.float64),
        torch.tensor(TARGETS),
        None if weight is None else torch.tensor(weight),
    )


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("weight", [None, WEIGHT])
def test_cross_entropy_matches_the_hand_formula_and_torch(weight, reduction):
    outputs, targets, weight_tensor = as_tensors(weight)
    loss = multiclass.cross_entropy(outputs, targets, weight_tensor, reduction)
    expected = hand_reduce(lambda row, target: -math.log(probability(row, target)), weight, reduction)
    assert loss.tolist() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("weight", [None, WEIGHT])
@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0])
def test_focal_matches_the_hand_formula(gamma, weight, reduction):
    outputs, targets, weight_tensor = as_tensors(weight)
    loss = multiclass.focal(outputs, targets, gamma, weight_tensor, reduction)
    assert loss.tolist() == pytest.approx(hand_reduce(hand_focal(gamma), weight, reduction), rel=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("weight", [None, WEIGHT])
def test_focal_with_gamma_zero_is_torch_cross_entropy(weight, reduction):
    outputs, targets, weight_tensor = as_tensors(weight)
    torch.testing.assert_close(
        multiclass.focal(outputs, targets, 0.0, weight_tensor, reduction),
        F.cross_entropy(
            outputs, targets, weight=None if weight is None else weight_tensor.double(), reduction=reduction
        ),
    )


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_focal_is_finite_at_extreme_outputs(gamma):
    outputs = torch.tensor([[100.0, -100.0, 0.0], [-100.0, 100.0, 0.0]], requires_grad=True)
    loss = multiclass.focal(outputs, torch.tensor([0, 0]), gamma)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(outputs.grad).all()
    # the confidently right sample costs 0; the confidently wrong one costs its logit gap 200 (mean over 2)
    assert loss.item() == pytest.approx(100.0, rel=1e-6)


def test_normalised_class_balanced_weights_by_hand():
    counts, beta = (1000, 100, 5), 0.99
    raw = [(1 - beta) / (1 - beta**count) for count in counts]
    expected = [3 * value / math.fsum(raw) for value in raw]
    weights = multiclass.class_balanced_weights(counts, beta, normalise=True)
    assert weights.tolist() == pytest.approx(expected, rel=1e-6)
    assert weights.sum().item() == pytest.approx(3.0, rel=1e-6)
    assert weights.dtype == torch.float32


def test_modules_return_the_hand_computed_mean():
    outputs, targets = torch.tensor(OUTPUTS, dtype=torch.float64), torch.tensor(TARGETS)
    ce_expected = hand_reduce(lambda row, target: -math.log(probability(row, target)), None, "mean")
    assert CrossEntropyLoss()(outputs, targets).item() == pytest.approx(ce_expected, rel=1e-12)
    focal_expected = hand_reduce(hand_focal(1.0), None, "mean")
    assert FocalLoss()(outputs, targets).item() == pytest.approx(focal_expected, rel=1e-12)
    counts, beta = (50, 20, 400), 0.999
    raw = [(1 - beta) / (1 - beta**count) for count in counts]
    cb_weights = [3 * value / math.fsum(raw) for value in raw]
    cb_expected = hand_reduce(lambda row, target: -math.log(probability(row, target)), cb_weights, "mean")
    assert ClassBalancedCELoss(counts, beta)(outputs, targets).item() == pytest.approx(cb_expected, rel=1e-6)


@pytest.mark.parametrize("build", [CrossEntropyLoss, lambda: FocalLoss(gamma=2.0), lambda: LDAMLoss((50, 20, 400))])
def test_weight_buffer_is_unset_by_default_and_used_once_set(build):
    module = build()
    outputs, targets = torch.tensor(OUTPUTS, dtype=torch.float64), torch.tensor(TARGETS)
    assert module.weight is None and module.num_outputs == 2
    unweighted = module(outputs, targets)
    module.weight = torch.ones(3)
    assert module(outputs, targets).item() == pytest.approx(unweighted.item(), rel=1e-12)
    module.weight = torch.tensor(WEIGHT)
    assert module(outputs, targets).item() != pytest.approx(unweighted.item(), rel=1e-3)
    assert "weight" in dict(module.named_buffers()) and "weight" not in module.state_dict()
    assert module.to(torch.float64).weight.dtype == torch.float64


def test_ldam_module_matches_a_hand_computed_binary_loss():
    module = LDAMLoss((1000, 10), max_margin=0.5, scale=30.0)
    margins = [0.5 * (1000 / 10) ** -0.25, 0.5]
    outputs, targets = [[0.2, 0.1], [-0.3, 0.4]], [1, 0]
    losses = []
    for (negative, positive), target in zip(outputs, targets, strict=True):
        scaled = [30.0 * (negative - margins[0] * (target == 0)), 30.0 * (positive - margins[1] * (target == 1))]
        losses.append(math.log(math.exp(scaled[0]) + math.exp(scaled[1])) - scaled[target])
    loss = module(torch.tensor(outputs, dtype=torch.float64), torch.tensor(targets))
    assert module.num_outputs == 2
    assert loss.item() == pytest.approx(sum(losses) / 2, rel=1e-6)


def test_ldam_margins_are_a_buffer_that_follows_the_module_but_stays_out_of_checkpoints():
    module = LDAMLoss((90, 10))
    assert "margins" in dict(module.named_buffers()) and module.state_dict() == {}
    assert module.to(torch.float64).margins.dtype == torch.float64


def test_weighted_ldam_module_matches_a_hand_formula():
    counts, scale = (1000, 10, 100), 30.0
    margins = [0.5 * (10 / count) ** 0.25 for count in counts]
    module = LDAMLoss(counts, max_margin=0.5, scale=scale)
    module.weight = torch.tensor(WEIGHT)

    def per_sample(row, target):
        shifted = [scale * (value - (margins[target] if column == target else 0.0)) for column, value in enumerate(row)]
        return math.log(math.fsum(math.exp(value) for value in shifted)) - shifted[target]

    loss = module(torch.tensor(OUTPUTS, dtype=torch.float64), torch.tensor(TARGETS))
    assert loss.item() == pytest.approx(hand_reduce(per_sample, WEIGHT, "mean"), rel=1e-9)


def test_class_balanced_ce_weights_are_a_fixed_buffer_that_sums_to_c():
    module = ClassBalancedCELoss((5000, 500, 50, 5))
    assert not hasattr(module, "weight")  # deferred re-weighting leaves CB-CE alone
    assert module.class_weights.sum().item() == pytest.approx(4.0, rel=1e-6)
    assert module.state_dict() == {}


@pytest.mark.parametrize(
    ("class_counts", "expected"),
    [
        ((1000, 10), [0.5 * 1000**-0.25 / 10**-0.25, 0.5]),
        ((10, 10), [0.5, 0.5]),
        ((100, 1000, 10), [0.5 * 100**-0.25 / 10**-0.25, 0.5 * 1000**-0.25 / 10**-0.25, 0.5]),
    ],
)
def test_ldam_margins_by_hand(class_counts, expected):
    assert multiclass.ldam_margins(class_counts).tolist() == pytest.approx(expected, rel=1e-6)


def naive_ldam(outputs, targets, class_counts, weight, reduction, max_margin=0.5, scale=30.0):
    largest = max(count**-0.25 for count in class_counts)
    margins = [max_margin * count**-0.25 / largest for count in class_counts]
    losses, weights = [], []
    for row, target in zip(outputs, targets, strict=True):
        scaled = [scale * (value - (margins[target] if column == target else 0.0)) for column, value in enumerate(row)]
        sample_weight = 1.0 if weight is None else weight[target]
        losses.append(sample_weight * (math.log(math.fsum(math.exp(value) for value in scaled)) - scaled[target]))
        weights.append(sample_weight)
    return {"none": losses, "sum": math.fsum(losses), "mean": math.fsum(losses) / math.fsum(weights)}[reduction]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("weight", [None, [0.25, 2.0, 1.5]])
@pytest.mark.parametrize("class_counts", [(1000, 10, 10), (100, 1000, 10)])
def test_ldam_matches_a_loop_over_samples(class_counts, weight, reduction):
    outputs = [[0.2, -0.5, 0.9], [-0.3, 0.4, 0.1], [0.6, 0.6, -0.8], [0.0, -0.2, 0.3]]
    targets = [2, 1, 0, 2]
    loss = multiclass.ldam(
        torch.tensor(outputs, dtype=torch.float64),
        torch.tensor(targets),
        class_counts,
        weight=None if weight is None else torch.tensor(weight),
        reduction=reduction,
    )
    assert loss.tolist() == pytest.approx(naive_ldam(outputs, targets, class_counts, weight, reduction), rel=1e-6)


def test_ldam_accepts_float_column_targets_and_is_finite_at_extreme_outputs():
    outputs = torch.tensor([[100.0, -100.0], [-100.0, 100.0], [100.0, -100.0]], requires_grad=True)
    loss = multiclass.ldam(outputs, torch.tensor([[1.0], [0.0], [0.0]]), (1000, 10))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(outputs.grad).all()


OUTPUTS_TENSOR = torch.zeros(4, 3)
TARGETS_TENSOR = torch.tensor([0, 1, 2, 1])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: multiclass.cross_entropy(torch.zeros(4, 1), torch.zeros(4, dtype=torch.long)),
            ValueError,
            r"outputs must have shape \[B, C\] with C >= 2 classes, got \[4, 1\]",
        ),
        (
            lambda: multiclass.focal(torch.zeros(4), TARGETS_TENSOR, 1.0),
            ValueError,
            r"outputs must have shape \[B, C\] with C >= 2 classes, got \[4\]",
        ),
        (
            lambda: multiclass.cross_entropy(OUTPUTS_TENSOR, TARGETS_TENSOR, torch.ones(2)),
            ValueError,
            r"weight must have shape \[C\] = \[3\] \(one weight per class\), got \[2\]",
        ),
        (
            lambda: multiclass.cross_entropy(OUTPUTS_TENSOR.long(), TARGETS_TENSOR),
            TypeError,
            "outputs must be a floating-point tensor, got dtype torch.int64",
        ),
        (
            lambda: multiclass.focal(OUTPUTS_TENSOR, torch.tensor([0, 1, 3, 1]), 1.0),
            ValueError,
            r"targets must be class indices in \[0, 3\), got values \[0, 1, 3\]",
        ),
        (
            lambda: multiclass.focal(OUTPUTS_TENSOR, TARGETS_TENSOR, 1.0, reduction="avg"),
            ValueError,
            r"reduction must be one of \('none', 'mean', 'sum'\), got 'avg'",
        ),
        (lambda: multiclass.focal(OUTPUTS_TENSOR, TARGETS_TENSOR, -1.0), ValueError, "gamma must be >= 0, got -1.0"),
        (lambda: multiclass.ldam_margins([]), ValueError, r"positive integers, got \[\]"),
        (lambda: multiclass.ldam_margins((10, 5), max_margin=-0.1), ValueError, "max_margin must be >= 0, got -0.1"),
        (
            lambda: multiclass.ldam(OUTPUTS_TENSOR, TARGETS_TENSOR, (10, 5, 1), scale=0),
            ValueError,
            "scale must be > 0, got 0",
        ),
        (
            lambda: multiclass.ldam(OUTPUTS_TENSOR, TARGETS_TENSOR, (10, 5, 1), reduction="max"),
            ValueError,
            "reduction must be one of .*got 'max'",
        ),
        (
            lambda: multiclass.ldam(OUTPUTS_TENSOR, TARGETS_TENSOR, (10, 5)),
            ValueError,
            r"outputs must have shape \[B, C\] with one column per class \(C = 2\), got \[4, 3\]",
        ),
        (
            lambda: multiclass.ldam(OUTPUTS_TENSOR.long(), TARGETS_TENSOR, (10, 5, 1)),
            TypeError,
            "outputs must be a floating-point tensor, got dtype torch.int64",
        ),
        (
            lambda: multiclass.ldam(OUTPUTS_TENSOR, TARGETS_TENSOR[:3], (10, 5, 1)),
            ValueError,
            r"targets must have shape \[4\] \(or \[4, 1\]\), got \[3\]",
        ),
        (
            lambda: multiclass.ldam(OUTPUTS_TENSOR, torch.tensor([0, 1, 3, -1]), (10, 5, 1)),
            ValueError,
            r"targets must be class indices in \[0, 3\), got values \[-1, 0, 1, 3\]",
        ),
        (
            lambda: multiclass.ldam(OUTPUTS_TENSOR, torch.tensor([0.0, 0.5, 1.0, 1.0]), (10, 5, 1)),
            ValueError,
            r"class indices in \[0, 3\), got values \[0.0, 0.5, 1.0\]",
        ),
        (lambda: FocalLoss(gamma=-0.5), ValueError, "gamma must be >= 0, got -0.5"),
        (lambda: LDAMLoss((10, 5), scale=0.0), ValueError, "scale must be > 0, got 0.0"),
        (lambda: LDAMLoss((10, 5), max_margin=-0.5), ValueError, "max_margin must be >= 0, got -0.5"),
        (lambda: ClassBalancedCELoss((10, 5, 1), beta=1.0), ValueError, "beta must satisfy 0 <= beta < 1, got 1.0"),
        (lambda: ClassBalancedCELoss((10, 0, 1)), ValueError, r"positive integers, got \[10, 0, 1\]"),
    ],
)
def test_invalid_arguments_raise_named_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
