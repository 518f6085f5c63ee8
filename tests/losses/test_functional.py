"""Base losses against hand formulas written with the math module, a naive pair loop and per-sample loops."""

import math

import pytest
import torch
import torch.nn.functional as F

from almlit.losses import functional

LOGITS = [-1.7, 0.3, 2.5, 0.3, -0.4]
TARGETS = [1, 1, 0, 0, 1]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def negative_log(p: float) -> float:
    return -math.log(p)


# (function, keyword arguments, hand formula of one sample's loss as a function of (x, y))
HAND_FORMULAS = {
    "bce": (
        functional.bce,
        {"positive_weight": 2.0, "negative_weight": 0.5},
        lambda x, y: 2.0 * negative_log(sigmoid(x)) if y else 0.5 * negative_log(1 - sigmoid(x)),
    ),
    "symmetric_margin": (
        functional.symmetric_margin,
        {"margin": 0.5},
        lambda x, y: negative_log(sigmoid(x - 0.5)) if y else negative_log(1 - sigmoid(x + 0.5)),
    ),
    "asymmetric_margin": (
        functional.asymmetric_margin,
        {"margin": 2.0},
        lambda x, y: negative_log(sigmoid(x - 2.0)) if y else negative_log(1 - sigmoid(x)),
    ),
    "symmetric_focal": (
        functional.symmetric_focal,
        {"gamma": 2.0},
        lambda x, y: (
            (1 - sigmoid(x)) ** 2 * negative_log(sigmoid(x)) if y else sigmoid(x) ** 2 * negative_log(1 - sigmoid(x))
        ),
    ),
    "asymmetric_focal": (
        functional.asymmetric_focal,
        {"gamma": 0.5},
        lambda x, y: negative_log(sigmoid(x)) if y else sigmoid(x) ** 0.5 * negative_log(1 - sigmoid(x)),
    ),
}

BINARY_LOSSES = {name: (function, arguments) for name, (function, arguments, _) in HAND_FORMULAS.items()}
BINARY_LOSSES["symmetric_focal_half"] = (functional.symmetric_focal, {"gamma": 0.5})
BINARY_LOSSES["mini_batch_auc"] = (functional.mini_batch_auc, {})


def test_hand_value_of_symmetric_margin_at_one_scalar():
    expected = -math.log(1 - 1 / (1 + math.exp(-(0.3 + 0.5))))
    loss = functional.symmetric_margin(torch.tensor([0.3], dtype=torch.float64), torch.tensor([0]), 0.5)
    assert loss.item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name", HAND_FORMULAS)
def test_binary_losses_match_hand_formulas(name, reduction):
    function, arguments, formula = HAND_FORMULAS[name]
    per_sample = [formula(x, y) for x, y in zip(LOGITS, TARGETS, strict=True)]
    expected = {"none": per_sample, "mean": math.fsum(per_sample) / len(per_sample), "sum": math.fsum(per_sample)}
    loss = function(torch.tensor(LOGITS, dtype=torch.float64), torch.tensor(TARGETS), reduction=reduction, **arguments)
    assert loss.shape == ((len(LOGITS),) if reduction == "none" else ())
    assert loss.tolist() == pytest.approx(expected[reduction], rel=1e-12)


def test_bce_matches_torch_with_positive_weight():
    logits, targets = torch.tensor(LOGITS), torch.tensor(TARGETS, dtype=torch.float32)
    expected = F.binary_cross_entropy_with_logits(logits, targets, pos_weight=torch.tensor(3.0))
    assert functional.bce(logits, targets, positive_weight=3.0).item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize(
    "targets",
    [
        torch.tensor(TARGETS),
        torch.tensor(TARGETS, dtype=torch.bool),
        torch.tensor(TARGETS, dtype=torch.float32),
        torch.tensor(TARGETS).unsqueeze(1),
    ],
    ids=["long", "bool", "float", "column"],
)
def test_target_dtypes_and_column_logits_are_accepted(targets):
    function, arguments, formula = HAND_FORMULAS["symmetric_focal"]
    expected = [formula(x, y) for x, y in zip(LOGITS, TARGETS, strict=True)]
    loss = function(torch.tensor(LOGITS).unsqueeze(1), targets, reduction="none", **arguments)
    assert loss.tolist() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
@pytest.mark.parametrize("name", BINARY_LOSSES)
def test_binary_losses_keep_the_input_dtype(name, dtype):
    function, arguments = BINARY_LOSSES[name]
    assert function(torch.tensor(LOGITS, dtype=dtype), torch.tensor(TARGETS), **arguments).dtype == dtype


@pytest.mark.parametrize("name", BINARY_LOSSES)
def test_binary_losses_and_gradients_are_finite_at_extreme_logits(name):
    function, arguments = BINARY_LOSSES[name]
    logits = torch.tensor([-100.0, 100.0, -100.0, 100.0], requires_grad=True)
    loss = function(logits, torch.tensor([0, 0, 1, 1]), **arguments)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


@pytest.mark.parametrize(
    ("function", "arguments"),
    [
        (functional.bce, {}),
        (functional.symmetric_focal, {"gamma": 0.5}),
        (functional.asymmetric_margin, {"margin": 0.0}),
    ],
)
def test_confidently_wrong_logits_cost_their_size(function, arguments):
    loss = function(torch.tensor([-100.0, 100.0]), torch.tensor([1, 0]), reduction="none", **arguments)
    assert loss.tolist() == pytest.approx([100.0, 100.0], rel=1e-6)


def naive_mini_batch_auc(logits, targets):
    pairs = [
        (1 - (sigmoid(positive) - sigmoid(negative))) ** 2
        for positive, positive_target in zip(logits, targets, strict=True)
        for negative, negative_target in zip(logits, targets, strict=True)
        if positive_target == 1 and negative_target == 0
    ]
    return math.fsum(pairs) / len(pairs)


def test_mini_batch_auc_matches_a_loop_over_pairs():
    loss = functional.mini_batch_auc(torch.tensor(LOGITS, dtype=torch.float64).unsqueeze(1), torch.tensor(TARGETS))
    assert loss.item() == pytest.approx(naive_mini_batch_auc(LOGITS, TARGETS), rel=1e-12)


@pytest.mark.parametrize("target", [0, 1])
def test_mini_batch_auc_without_pairs_is_zero_with_a_zero_gradient(target):
    logits = torch.tensor([-100.0, 0.3, 100.0], requires_grad=True)
    loss = functional.mini_batch_auc(logits, torch.full((3,), target))
    loss.backward()
    assert loss.item() == 0.0
    assert logits.grad.tolist() == [0.0, 0.0, 0.0]


def test_class_balanced_weights_by_hand():
    weights = functional.class_balanced_weights((1000, 5), beta=0.99)
    assert weights.tolist() == pytest.approx([(1 - 0.99) / (1 - 0.99**1000), (1 - 0.99) / (1 - 0.99**5)], rel=1e-6)


def test_class_balanced_weights_are_one_for_beta_zero():
    assert functional.class_balanced_weights(torch.tensor([3, 7, 9]), beta=0.0).tolist() == [1.0, 1.0, 1.0]


def test_imbalance_weights_by_hand():
    assert functional.imbalance_weights([1000, 10], cost=1 / 3).tolist() == pytest.approx([1.0, 100 / 3], rel=1e-6)


@pytest.mark.parametrize(
    ("class_counts", "expected"),
    [
        ((1000, 10), [0.5 * 1000**-0.25 / 10**-0.25, 0.5]),
        ((10, 10), [0.5, 0.5]),
        ((100, 1000, 10), [0.5 * 100**-0.25 / 10**-0.25, 0.5 * 1000**-0.25 / 10**-0.25, 0.5]),
    ],
)
def test_ldam_margins_by_hand(class_counts, expected):
    assert functional.ldam_margins(class_counts).tolist() == pytest.approx(expected, rel=1e-6)


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
    loss = functional.ldam(
        torch.tensor(outputs, dtype=torch.float64),
        torch.tensor(targets),
        class_counts,
        weight=None if weight is None else torch.tensor(weight),
        reduction=reduction,
    )
    assert loss.tolist() == pytest.approx(naive_ldam(outputs, targets, class_counts, weight, reduction), rel=1e-6)


def test_ldam_accepts_float_column_targets_and_is_finite_at_extreme_outputs():
    outputs = torch.tensor([[100.0, -100.0], [-100.0, 100.0], [100.0, -100.0]], requires_grad=True)
    loss = functional.ldam(outputs, torch.tensor([[1.0], [0.0], [0.0]]), (1000, 10))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(outputs.grad).all()


LOGITS_TENSOR = torch.tensor([0.1, -0.2, 0.3, 0.4])
TARGETS_TENSOR = torch.tensor([0, 1, 1, 0])
OUTPUTS_TENSOR = torch.zeros(4, 2)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: functional.bce(LOGITS_TENSOR, TARGETS_TENSOR, reduction="avg"),
            ValueError,
            r"reduction must be one of \('none', 'mean', 'sum'\), got 'avg'",
        ),
        (
            lambda: functional.bce(LOGITS_TENSOR.view(2, 2), TARGETS_TENSOR, reduction="none"),
            ValueError,
            r"same shape .*got logits \[2, 2\] and targets \[4\]",
        ),
        (
            lambda: functional.mini_batch_auc(LOGITS_TENSOR, TARGETS_TENSOR[:3]),
            ValueError,
            r"got logits \[4\] and targets \[3\]",
        ),
        (
            lambda: functional.bce(LOGITS_TENSOR, torch.tensor([0, 1, 2, 0])),
            ValueError,
            r"targets must contain only 0 and 1, got values \[0, 1, 2\]",
        ),
        (
            lambda: functional.bce(TARGETS_TENSOR, TARGETS_TENSOR),
            TypeError,
            "logits must be a floating-point tensor, got dtype torch.int64",
        ),
        (
            lambda: functional.bce(LOGITS_TENSOR, TARGETS_TENSOR, positive_weight=-1.0),
            ValueError,
            "positive_weight must be >= 0, got -1.0",
        ),
        (
            lambda: functional.bce(LOGITS_TENSOR, TARGETS_TENSOR, negative_weight=-2),
            ValueError,
            "negative_weight must be >= 0, got -2",
        ),
        (
            lambda: functional.symmetric_margin(LOGITS_TENSOR, TARGETS_TENSOR, margin=-0.5),
            ValueError,
            "margin must be >= 0, got -0.5",
        ),
        (
            lambda: functional.asymmetric_margin(LOGITS_TENSOR, TARGETS_TENSOR, margin=-1),
            ValueError,
            "margin must be >= 0, got -1",
        ),
        (
            lambda: functional.symmetric_focal(LOGITS_TENSOR, TARGETS_TENSOR, gamma=-2.0),
            ValueError,
            "gamma must be >= 0, got -2.0",
        ),
        (
            lambda: functional.asymmetric_focal(LOGITS_TENSOR, TARGETS_TENSOR, gamma=float("nan")),
            ValueError,
            "gamma must be >= 0, got nan",
        ),
        (
            lambda: functional.class_balanced_weights((10, 5), beta=1.0),
            ValueError,
            r"beta must satisfy 0 <= beta < 1, got 1.0",
        ),
        (
            lambda: functional.class_balanced_weights((10, 5), beta=-0.1),
            ValueError,
            r"beta must satisfy 0 <= beta < 1, got -0.1",
        ),
        (
            lambda: functional.class_balanced_weights((10, 0), beta=0.9),
            ValueError,
            r"class_counts must be a non-empty sequence of positive integers, got \[10, 0\]",
        ),
        (
            lambda: functional.class_balanced_weights([10, 2.5], beta=0.9),
            ValueError,
            r"positive integers, got \[10, 2.5\]",
        ),
        (lambda: functional.ldam_margins([]), ValueError, r"positive integers, got \[\]"),
        (lambda: functional.ldam_margins((10, 5), max_margin=-0.1), ValueError, "max_margin must be >= 0, got -0.1"),
        (
            lambda: functional.imbalance_weights((10, 5, 1)),
            ValueError,
            r"class_counts must have length 2 \(n_negative, n_positive\) for a binary loss, got \[10, 5, 1\]",
        ),
        (lambda: functional.imbalance_weights((10, 5), cost=0.0), ValueError, "cost must be > 0, got 0.0"),
        (
            lambda: functional.ldam(OUTPUTS_TENSOR, TARGETS_TENSOR, (10, 5), scale=0),
            ValueError,
            "scale must be > 0, got 0",
        ),
        (
            lambda: functional.ldam(OUTPUTS_TENSOR, TARGETS_TENSOR, (10, 5), reduction="max"),
            ValueError,
            "reduction must be one of .*got 'max'",
        ),
        (
            lambda: functional.ldam(OUTPUTS_TENSOR, TARGETS_TENSOR, (10, 5, 1)),
            ValueError,
            r"outputs must have shape \[B, C\] with one column per class \(C = 3\), got \[4, 2\]",
        ),
        (
            lambda: functional.ldam(OUTPUTS_TENSOR.long(), TARGETS_TENSOR, (10, 5)),
            TypeError,
            "outputs must be a floating-point tensor, got dtype torch.int64",
        ),
        (
            lambda: functional.ldam(OUTPUTS_TENSOR, TARGETS_TENSOR[:3], (10, 5)),
            ValueError,
            r"targets must have shape \[4\] \(or \[4, 1\]\), got \[3\]",
        ),
        (
            lambda: functional.ldam(OUTPUTS_TENSOR, torch.tensor([0, 1, 2, -1]), (10, 5)),
            ValueError,
            r"targets must be class indices in \[0, 2\), got values \[-1, 0, 1, 2\]",
        ),
        (
            lambda: functional.ldam(OUTPUTS_TENSOR, torch.tensor([0.0, 0.5, 1.0, 1.0]), (10, 5)),
            ValueError,
            r"class indices in \[0, 2\), got values \[0.0, 0.5, 1.0\]",
        ),
    ],
)
def test_invalid_arguments_raise_named_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
