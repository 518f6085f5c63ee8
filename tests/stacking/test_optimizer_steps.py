"""The members' optimiser steps taken together against each optimiser's own step()."""

import copy
import warnings

import pytest
import torch
from torch import nn

from almlit.stacking.optimizer_steps import groupable, step_optimizers

SETTINGS = [  # two members share their settings, the others differ in one each
    {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-3},
    {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-3},
    {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-3},
    {"lr": 0.1, "momentum": 0.0, "weight_decay": 0.0},
    {"lr": 0.1, "momentum": 0.8, "dampening": 0.1, "weight_decay": 2e-4},
    {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
    {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-3, "maximize": True},
]


def members(seed=0):
    torch.manual_seed(seed)
    networks = [nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 1)) for _ in SETTINGS]
    networks[0][2].bias.requires_grad_(False)  # a parameter without a gradient is skipped, as SGD skips it
    optimizers = [
        torch.optim.SGD(network.parameters(), **settings) for network, settings in zip(networks, SETTINGS, strict=True)
    ]
    optimizers.append(torch.optim.Adam(nn.Linear(5, 1).parameters(), lr=0.01))  # not SGD: its own step
    return optimizers


def backward(optimizers, step):
    generator = torch.Generator().manual_seed(step)
    for optimizer in optimizers:
        optimizer.zero_grad()
        params = [p for group in optimizer.param_groups for p in group["params"] if p.requires_grad]
        sum((p * torch.randn(p.shape, generator=generator)).sum() ** 2 for p in params).backward()


def test_the_steps_taken_together_equal_each_optimisers_own_step_bit_for_bit():
    together, alone = members(), members()
    for step in range(3):  # the first step creates the momentum buffers, the next ones update them
        backward(together, step)
        backward(alone, step)
        step_optimizers(together)
        for optimizer in alone:
            optimizer.step()
    for mine, theirs in zip(together, alone, strict=True):
        for group, reference in zip(mine.param_groups, theirs.param_groups, strict=True):
            for parameter, expected in zip(group["params"], reference["params"], strict=True):
                assert torch.equal(parameter, expected)
                assert mine.state[parameter].keys() == theirs.state[expected].keys()
                for name, value in mine.state[parameter].items():
                    assert torch.equal(value, theirs.state[expected][name]), name


def test_a_step_after_loading_a_state_dict_uses_the_loaded_momentum():
    optimizers = members()
    backward(optimizers, 0)
    step_optimizers(optimizers)
    restored = members(seed=1)
    for optimizer, source in zip(restored, optimizers, strict=True):
        optimizer.load_state_dict(copy.deepcopy(source.state_dict()))
    reference = members(seed=1)
    for optimizer, source in zip(reference, optimizers, strict=True):
        optimizer.load_state_dict(copy.deepcopy(source.state_dict()))
    backward(restored, 1)
    backward(reference, 1)
    step_optimizers(restored)
    for optimizer in reference:
        optimizer.step()
    for mine, theirs in zip(restored, reference, strict=True):
        for parameter, expected in zip(mine.param_groups[0]["params"], theirs.param_groups[0]["params"], strict=True):
            assert torch.equal(parameter, expected)


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda params: torch.optim.SGD(params, lr=0.1), True),
        (lambda params: torch.optim.SGD(params, lr=0.1, foreach=False), True),
        (lambda params: torch.optim.SGD(params, lr=0.1, fused=True), False),
        (lambda params: torch.optim.SGD(params, lr=torch.tensor(0.1)), False),
        (lambda params: torch.optim.Adam(params, lr=0.1), False),
        (lambda params: type("MySGD", (torch.optim.SGD,), {})(params, lr=0.1), False),
    ],
)
def test_only_plain_sgd_is_stepped_with_others(make, expected):
    assert groupable(make(nn.Linear(2, 1).parameters())) is expected


def test_an_sgd_with_hooks_or_a_learning_rate_schedule_takes_its_own_step():
    calls = []
    hooked = torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1)
    hooked.register_step_post_hook(lambda optimizer, args, kwargs: calls.append("hook"))
    scheduled = torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(scheduled, step_size=1)
    assert not groupable(hooked) and not groupable(scheduled)
    backward([hooked, scheduled], 0)
    step_optimizers([hooked, scheduled])
    assert calls == ["hook"]
    with warnings.catch_warnings(record=True) as with_warnings:
        warnings.simplefilter("always")
        scheduler.step()  # no "lr_scheduler.step() before optimizer.step()" warning: its step was called
    assert not [warning for warning in with_warnings if "optimizer.step()" in str(warning.message)]
