"""Binary losses and their modules against hand formulas written with the math module; accepted shapes, buffers and
argument errors."""

import math

import pytest
import torch
import torch.nn.functional as F

from almlit.losses import (
    AsymmetricFocalLoss,
    AsymmetricMarginLoss,
    BCELoss,
    ClassBalancedBCELoss,
    MiniBatchAUCLoss,
    SymmetricFocalLoss,
    SymmetricMarginLoss,
    WeightedBCELoss,
    auc_surrogates,
    binary,
)

LOGITS = [-1.7, 0.3, 2.5, 0.3, -0.4]
TARGETS = [1, 1, 0, 0, 1]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def negative_log(p: float) -> float:
    return -math.log(p)


# (function, keyword arguments, hand formula of one sample's loss as a function of (x, y))
HAND_FORMULAS = {
    "bce": (
        binary.bce,
        {"positive_weight": 2.0, "negative_weight": 0.5},
        lambda x, y: 2.0 * negative_log(sigmoid(x)) if y else 0.5 * negative_log(1 - sigmoid(x)),
    ),
    "symmetric_margin": (
        binary.symmetric_margin,
        {"margin": 0.5},
        lambda x, y: negative_log(sigmoid(x - 0.5)) if y else negative_log(1 - sigmoid(x + 0.5)),
    ),
    "asymmetric_margin": (
        binary.asymmetric_margin,
        {"margin": 2.0},
        lambda x, y: negative_log(sigmoid(x - 2.0)) if y else negative_log(1 - sigmoid(x)),
    ),
    "symmetric_focal": (
        binary.symmetric_focal,
        {"gamma": 2.0},
        lambda x, y: (
            (1 - sigmoid(x)) ** 2 * negative_log(sigmoid(x)) if y else sigmoid(x) ** 2 * negative_log(1 - sigmoid(x))
        ),
    ),
    "asymmetric_focal": (
        binary.asymmetric_focal,
        {"gamma": 0.5},
        lambda x, y: negative_log(sigmoid(x)) if y else sigmoid(x) ** 0.5 * negative_log(1 - sigmoid(x)),
    ),
}

BINARY_LOSSES = {name: (function, arguments) for name, (function, arguments, _) in HAND_FORMULAS.items()}
BINARY_LOSSES["symmetric_focal_half"] = (binary.symmetric_focal, {"gamma": 0.5})
BINARY_LOSSES["mini_batch_auc"] = (auc_surrogates.mini_batch_auc, {})


def test_hand_value_of_symmetric_margin_at_one_scalar():
    expected = -math.log(1 - 1 / (1 + math.exp(-(0.3 + 0.5))))
    loss = binary.symmetric_margin(torch.tensor([0.3], dtype=torch.float64), torch.tensor([0]), 0.5)
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
    assert binary.bce(logits, targets, positive_weight=3.0).item() == pytest.approx(expected.item(), rel=1e-6)


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
        (binary.bce, {}),
        (binary.symmetric_focal, {"gamma": 0.5}),
        (binary.asymmetric_margin, {"margin": 0.0}),
    ],
)
def test_confidently_wrong_logits_cost_their_size(function, arguments):
    loss = function(torch.tensor([-100.0, 100.0]), torch.tensor([1, 0]), reduction="none", **arguments)
    assert loss.tolist() == pytest.approx([100.0, 100.0], rel=1e-6)


LOGITS_TENSOR = torch.tensor([0.1, -0.2, 0.3, 0.4])
TARGETS_TENSOR = torch.tensor([0, 1, 1, 0])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: binary.bce(LOGITS_TENSOR, TARGETS_TENSOR, reduction="avg"),
            ValueError,
            r"reduction must be one of \('none', 'mean', 'sum'\), got 'avg'",
        ),
        (
            lambda: binary.bce(LOGITS_TENSOR.view(2, 2), TARGETS_TENSOR, reduction="none"),
            ValueError,
            r"same shape .*got logits \[2, 2\] and targets \[4\]",
        ),
        (
            lambda: auc_surrogates.mini_batch_auc(LOGITS_TENSOR, TARGETS_TENSOR[:3]),
            ValueError,
            r"got logits \[4\] and targets \[3\]",
        ),
        (
            lambda: binary.bce(LOGITS_TENSOR, torch.tensor([0, 1, 2, 0])),
            ValueError,
            r"targets must contain only 0 and 1, got values \[0, 1, 2\]",
        ),
        (
            lambda: binary.bce(TARGETS_TENSOR, TARGETS_TENSOR),
            TypeError,
            "logits must be a floating-point tensor, got dtype torch.int64",
        ),
        (
            lambda: binary.bce(LOGITS_TENSOR, TARGETS_TENSOR, positive_weight=-1.0),
            ValueError,
            "positive_weight must be >= 0, got -1.0",
        ),
        (
            lambda: binary.bce(LOGITS_TENSOR, TARGETS_TENSOR, negative_weight=-2),
            ValueError,
            "negative_weight must be >= 0, got -2",
        ),
        (
            lambda: binary.symmetric_margin(LOGITS_TENSOR, TARGETS_TENSOR, margin=-0.5),
            ValueError,
            "margin must be >= 0, got -0.5",
        ),
        (
            lambda: binary.asymmetric_margin(LOGITS_TENSOR, TARGETS_TENSOR, margin=-1),
            ValueError,
            "margin must be >= 0, got -1",
        ),
        (
            lambda: binary.symmetric_focal(LOGITS_TENSOR, TARGETS_TENSOR, gamma=-2.0),
            ValueError,
            "gamma must be >= 0, got -2.0",
        ),
        (
            lambda: binary.asymmetric_focal(LOGITS_TENSOR, TARGETS_TENSOR, gamma=float("nan")),
            ValueError,
            "gamma must be >= 0, got nan",
        ),
    ],
)
def test_invalid_arguments_raise_named_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


MODULE_LOGITS = [0.3, -1.2, 2.0]
MODULE_TARGETS = [1, 0, 1]


def class_weighted_bce(negative_weight, positive_weight):
    return lambda x, y: -(positive_weight * math.log(sigmoid(x)) if y else negative_weight * math.log(1 - sigmoid(x)))


def mean_over_samples(formula):
    return math.fsum(formula(x, y) for x, y in zip(MODULE_LOGITS, MODULE_TARGETS, strict=True)) / len(MODULE_LOGITS)


# module -> its mean loss on (MODULE_LOGITS, MODULE_TARGETS), from a hand formula of one sample's loss in (x, y)
SINGLE_LOGIT_MODULES = {
    "bce": (BCELoss(), mean_over_samples(class_weighted_bce(1.0, 1.0))),
    "weighted_bce": (WeightedBCELoss((1000, 10), cost=1 / 3), mean_over_samples(class_weighted_bce(1.0, 100 / 3))),
    "class_balanced_bce": (
        ClassBalancedBCELoss((1000, 5), beta=0.99),
        mean_over_samples(class_weighted_bce((1 - 0.99) / (1 - 0.99**1000), (1 - 0.99) / (1 - 0.99**5))),
    ),
    "symmetric_margin": (
        SymmetricMarginLoss(margin=2.0),
        mean_over_samples(lambda x, y: -math.log(sigmoid(x - 2.0)) if y else -math.log(1 - sigmoid(x + 2.0))),
    ),
    "asymmetric_margin": (
        AsymmetricMarginLoss(),
        mean_over_samples(lambda x, y: -math.log(sigmoid(x - 0.5)) if y else -math.log(1 - sigmoid(x))),
    ),
    "symmetric_focal": (
        SymmetricFocalLoss(gamma=1.0),
        mean_over_samples(
            lambda x, y: -(1 - sigmoid(x)) * math.log(sigmoid(x)) if y else -sigmoid(x) * math.log(1 - sigmoid(x))
        ),
    ),
    "asymmetric_focal": (
        AsymmetricFocalLoss(),
        mean_over_samples(lambda x, y: -math.log(sigmoid(x)) if y else -(sigmoid(x) ** 2) * math.log(1 - sigmoid(x))),
    ),
    # pairs (positive 0.3, negative -1.2) and (positive 2.0, negative -1.2)
    "mini_batch_auc": (
        MiniBatchAUCLoss(),
        ((1 - (sigmoid(0.3) - sigmoid(-1.2))) ** 2 + (1 - (sigmoid(2.0) - sigmoid(-1.2))) ** 2) / 2,
    ),
}


@pytest.mark.parametrize("shape", [(3,), (3, 1)])
@pytest.mark.parametrize("name", SINGLE_LOGIT_MODULES)
def test_single_logit_modules_return_the_hand_computed_mean(name, shape):
    module, expected = SINGLE_LOGIT_MODULES[name]
    loss = module(
        torch.tensor(MODULE_LOGITS, dtype=torch.float64).view(shape), torch.tensor(MODULE_TARGETS, dtype=torch.float32)
    )
    assert module.num_outputs == 1
    assert loss.shape == ()
    assert loss.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    ("module", "buffer"),
    [
        (WeightedBCELoss((90, 10)), "class_weights"),
        (ClassBalancedBCELoss((90, 10)), "class_weights"),
    ],
)
def test_per_class_buffers_follow_the_module_but_stay_out_of_checkpoints(module, buffer):
    assert buffer in dict(module.named_buffers())
    assert module.state_dict() == {}
    assert getattr(module.to(torch.float64), buffer).dtype == torch.float64


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SymmetricMarginLoss(margin=-1.0), "margin must be >= 0, got -1.0"),
        (lambda: AsymmetricMarginLoss(margin=-2), "margin must be >= 0, got -2"),
        (lambda: SymmetricFocalLoss(gamma=-0.5), "gamma must be >= 0, got -0.5"),
        (lambda: AsymmetricFocalLoss(gamma=-1.0), "gamma must be >= 0, got -1.0"),
        (lambda: WeightedBCELoss((10, 5, 1)), r"class_counts must have length 2 .*got \[10, 5, 1\]"),
        (lambda: WeightedBCELoss((0, 5)), r"class_counts must be a non-empty sequence of positive integers"),
        (lambda: WeightedBCELoss((10, 5), cost=-1.0), "cost must be > 0, got -1.0"),
        (lambda: ClassBalancedBCELoss((10,)), r"class_counts must have length 2 .*got \[10\]"),
        (lambda: ClassBalancedBCELoss((10, 5), beta=1.5), "beta must satisfy 0 <= beta < 1, got 1.5"),
    ],
)
def test_invalid_hyper_parameters_fail_when_the_module_is_built(build, message):
    with pytest.raises(ValueError, match=message):
        build()
