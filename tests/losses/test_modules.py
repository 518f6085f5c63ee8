"""Loss modules: mean losses against hand formulas, accepted shapes, buffers and construction errors."""

import math

import pytest
import torch

import almlit.losses
from almlit.losses import (
    AsymmetricFocalLoss,
    AsymmetricMarginLoss,
    BCELoss,
    ClassBalancedBCELoss,
    LDAMLoss,
    MiniBatchAUCLoss,
    SymmetricFocalLoss,
    SymmetricMarginLoss,
    WeightedBCELoss,
)

LOGITS = [0.3, -1.2, 2.0]
TARGETS = [1, 0, 1]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def class_weighted_bce(negative_weight, positive_weight):
    return lambda x, y: -(positive_weight * math.log(sigmoid(x)) if y else negative_weight * math.log(1 - sigmoid(x)))


def mean_over_samples(formula):
    return math.fsum(formula(x, y) for x, y in zip(LOGITS, TARGETS, strict=True)) / len(LOGITS)


# module -> its mean loss on (LOGITS, TARGETS), from a hand formula of one sample's loss in (x, y)
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
    loss = module(torch.tensor(LOGITS, dtype=torch.float64).view(shape), torch.tensor(TARGETS, dtype=torch.float32))
    assert module.num_outputs == 1
    assert loss.shape == ()
    assert loss.item() == pytest.approx(expected, rel=1e-6)


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


@pytest.mark.parametrize(
    ("module", "buffer"),
    [
        (WeightedBCELoss((90, 10)), "class_weights"),
        (ClassBalancedBCELoss((90, 10)), "class_weights"),
        (LDAMLoss((90, 10)), "margins"),
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
        (lambda: LDAMLoss((10, 5), scale=0.0), "scale must be > 0, got 0.0"),
        (lambda: LDAMLoss((10, 5), max_margin=-0.5), "max_margin must be >= 0, got -0.5"),
    ],
)
def test_invalid_hyper_parameters_fail_when_the_module_is_built(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_package_exports_every_module_and_the_functional_namespace():
    for name in almlit.losses.__all__:
        assert hasattr(almlit.losses, name)
    assert callable(almlit.losses.functional.mini_batch_auc)
