"""Per-class weights from the class counts against hand-computed values."""

import pytest
import torch

from almlit.losses import class_weights


def test_class_balanced_weights_by_hand():
    weights = class_weights.class_balanced_weights((1000, 5), beta=0.99)
    assert weights.tolist() == pytest.approx([(1 - 0.99) / (1 - 0.99**1000), (1 - 0.99) / (1 - 0.99**5)], rel=1e-6)


def test_class_balanced_weights_are_one_for_beta_zero():
    assert class_weights.class_balanced_weights(torch.tensor([3, 7, 9]), beta=0.0).tolist() == [1.0, 1.0, 1.0]


def test_imbalance_weights_by_hand():
    assert class_weights.imbalance_weights([1000, 10], cost=1 / 3).tolist() == pytest.approx([1.0, 100 / 3], rel=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: class_weights.class_balanced_weights((10, 5), beta=1.0),
            r"beta must satisfy 0 <= beta < 1, got 1.0",
        ),
        (
            lambda: class_weights.class_balanced_weights((10, 5), beta=-0.1),
            r"beta must satisfy 0 <= beta < 1, got -0.1",
        ),
        (
            lambda: class_weights.class_balanced_weights((10, 0), beta=0.9),
            r"class_counts must be a non-empty sequence of positive integers, got \[10, 0\]",
        ),
        (
            lambda: class_weights.class_balanced_weights([10, 2.5], beta=0.9),
            r"positive integers, got \[10, 2.5\]",
        ),
        (
            lambda: class_weights.imbalance_weights((10, 5, 1)),
            r"class_counts must have length 2 \(n_negative, n_positive\) for a binary loss, got \[10, 5, 1\]",
        ),
        (lambda: class_weights.imbalance_weights((10, 5), cost=0.0), "cost must be > 0, got 0.0"),
    ],
)
def test_invalid_arguments_raise_named_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
