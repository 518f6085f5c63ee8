"""Deferred re-weighting: ones before start_epoch, class-balanced weights summing to C from it on."""

import math
from types import SimpleNamespace

import pytest
import torch

from almlit.callbacks import DeferredReweighting
from almlit.losses import BCELoss, ClassBalancedCELoss, CrossEntropyLoss, FocalLoss, LDAMLoss

COUNTS = (500, 50, 5)


def hand_class_balanced(counts, beta):
    raw = [(1 - beta) / (1 - beta**count) for count in counts]
    return [len(counts) * value / math.fsum(raw) for value in raw]


def start_epoch(callback, loss, epoch, counts=COUNTS):
    trainer = SimpleNamespace(current_epoch=epoch, datamodule=SimpleNamespace(class_counts=counts))
    callback.on_train_epoch_start(trainer, SimpleNamespace(loss=loss, device=torch.device("cpu")))
    return loss.weight.tolist()


@pytest.mark.parametrize("build", [CrossEntropyLoss, FocalLoss, lambda: LDAMLoss(COUNTS)])
def test_weights_switch_exactly_at_start_epoch(build):
    callback, loss = DeferredReweighting(start_epoch=3, beta=0.99), build()
    history = [start_epoch(callback, loss, epoch) for epoch in range(6)]
    assert history[:3] == [[1.0, 1.0, 1.0]] * 3
    for weights in history[3:]:
        assert weights == pytest.approx(hand_class_balanced(COUNTS, 0.99), rel=1e-6)
        assert math.fsum(weights) == pytest.approx(3.0, rel=1e-6)


def test_a_resumed_run_gets_the_weights_of_its_epoch():
    uninterrupted, loss = DeferredReweighting(start_epoch=2), CrossEntropyLoss()
    expected = [start_epoch(uninterrupted, loss, epoch) for epoch in range(4)]
    for epoch in range(4):  # a fresh callback and loss, as after loading a checkpoint
        assert start_epoch(DeferredReweighting(start_epoch=2), CrossEntropyLoss(), epoch) == expected[epoch]


def test_start_epoch_zero_weighs_from_the_first_epoch_and_the_loss_uses_the_weights():
    loss = CrossEntropyLoss()
    weights = start_epoch(DeferredReweighting(start_epoch=0, beta=0.9), loss, 0)
    assert weights == pytest.approx(hand_class_balanced(COUNTS, 0.9), rel=1e-6)
    outputs, targets = torch.tensor([[0.3, -0.2, 0.5], [0.1, 0.4, -1.0]], dtype=torch.float64), torch.tensor([2, 0])

    def negative_log_probability(row, target):
        return math.log(math.fsum(math.exp(value) for value in row)) - row[target]

    per_sample = [negative_log_probability(row, t) for row, t in zip(outputs.tolist(), targets.tolist(), strict=True)]
    expected = (weights[2] * per_sample[0] + weights[0] * per_sample[1]) / (weights[2] + weights[0])
    assert loss(outputs, targets).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("loss", [ClassBalancedCELoss(COUNTS), BCELoss()])
def test_losses_without_a_weight_buffer_are_refused(loss):
    with pytest.raises(TypeError, match=r"needs a base loss with per-class weights \(loss=ce\|focal\|ldam\), got"):
        start_epoch(DeferredReweighting(), loss, 0)


def test_a_run_without_a_data_module_is_refused():
    trainer = SimpleNamespace(current_epoch=0, datamodule=None)
    module = SimpleNamespace(loss=CrossEntropyLoss(), device=torch.device("cpu"))
    with pytest.raises(ValueError, match="needs a data module that exposes class_counts"):
        DeferredReweighting().on_train_epoch_start(trainer, module)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start_epoch": -1}, r"callbacks.deferred_reweighting.start_epoch must be an int >= 0, got -1"),
        ({"start_epoch": 1.5}, r"callbacks.deferred_reweighting.start_epoch must be an int >= 0, got 1.5"),
        ({"beta": 1.0}, r"callbacks.deferred_reweighting.beta must satisfy 0 <= beta < 1, got 1.0"),
    ],
)
def test_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DeferredReweighting(**kwargs)
