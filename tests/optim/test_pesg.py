"""PESG steps against hand-written updates, its saddle point on AUCM, parameter groups and the stage callback."""

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from almlit.losses import AUCMLoss, BCELoss
from almlit.optim import PESG, PESGStages, build_optimizer, parameter_groups


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_one_step_descends_the_primal_and_ascends_the_projected_dual():
    primal = nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    dual = nn.Parameter(torch.tensor([0.3, 0.05], dtype=torch.float64))
    optimizer = PESG([{"params": [primal]}, {"params": [dual], "dual": True}], lr=0.1, momentum=0.0, weight_decay=0.01)
    primal.grad = torch.tensor([0.5, 0.25], dtype=torch.float64)
    dual.grad = torch.tensor([1.0, -2.0], dtype=torch.float64)
    optimizer.step()
    # the reference point is the starting point, so the proximal term is 0 at the first step
    assert primal.tolist() == pytest.approx([1.0 - 0.1 * (0.5 + 0.01 * 1.0), -2.0 - 0.1 * (0.25 + 0.01 * -2.0)])
    assert dual.tolist() == pytest.approx([0.3 + 0.1 * 1.0, 0.0])  # 0.05 - 0.2 < 0 is projected to 0


def test_momentum_weight_decay_and_proximal_term_follow_the_naive_recursion():
    lr, momentum, weight_decay, epoch_decay = 0.05, 0.9, 0.01, 0.2
    parameter = nn.Parameter(torch.tensor([2.0], dtype=torch.float64))
    optimizer = PESG([parameter], lr=lr, momentum=momentum, weight_decay=weight_decay, epoch_decay=epoch_decay)
    gradients = [1.0, -0.5, 0.25, 2.0]
    value, reference, buffer = 2.0, 2.0, None
    for gradient in gradients:
        parameter.grad = torch.tensor([gradient], dtype=torch.float64)
        optimizer.step()
        direction = gradient + epoch_decay * (value - reference) + weight_decay * value
        buffer = direction if buffer is None else momentum * buffer + direction
        value -= lr * buffer
    assert parameter.item() == pytest.approx(value, rel=1e-12)


def test_update_regularizer_moves_the_reference_point_and_divides_the_learning_rate():
    parameter = nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    optimizer = PESG([parameter], lr=0.1, momentum=0.0, weight_decay=0.0, epoch_decay=1.0)
    parameter.grad = torch.tensor([2.0], dtype=torch.float64)
    optimizer.step()  # 1 - 0.1 * 2 = 0.8; reference stays 1
    optimizer.step()  # 0.8 - 0.1 * (2 + (0.8 - 1)) = 0.62
    assert parameter.item() == pytest.approx(0.62)
    optimizer.update_regularizer(decay_factor=10)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)
    optimizer.step()  # new reference 0.62: 0.62 - 0.01 * 2
    assert parameter.item() == pytest.approx(0.60)
    assert optimizer.state_dict()["state"][0]["reference"].item() == pytest.approx(0.62)  # saved for a resume


def test_pesg_finds_the_aucm_saddle_point_for_fixed_scores():
    logits = torch.tensor([1.5, 0.2, -0.3, -1.0, 0.4, -2.0])
    targets = torch.tensor([1, 1, 0, 0, 0, 0])
    loss = AUCMLoss(class_counts=(4, 2), margin=1.0)
    optimizer = PESG(parameter_groups(nn.Linear(1, 1), loss), lr=0.5, momentum=0.0, weight_decay=0.0, epoch_decay=0)
    for _ in range(300):  # a, b and alpha contract by 1 - 2/9 per step here
        optimizer.zero_grad()
        loss(logits, targets).backward()
        optimizer.step()
    mean_pos = (sigmoid(1.5) + sigmoid(0.2)) / 2
    mean_neg = (sigmoid(-0.3) + sigmoid(-1.0) + sigmoid(0.4) + sigmoid(-2.0)) / 4
    assert loss.a.item() == pytest.approx(mean_pos, abs=1e-5)
    assert loss.b.item() == pytest.approx(mean_neg, abs=1e-5)
    assert loss.alpha.item() == pytest.approx(1.0 - (mean_pos - mean_neg), abs=1e-5)


def test_parameter_groups_put_the_network_and_primal_loss_variables_first_and_alpha_apart():
    network, loss = nn.Linear(3, 1), AUCMLoss((9, 1))
    primal, dual = parameter_groups(network, loss)
    assert [id(p) for p in primal["params"]] == [id(network.weight), id(network.bias), id(loss.a), id(loss.b)]
    assert dual == {"params": [loss.alpha], "dual": True}
    assert [len(group["params"]) for group in parameter_groups(network, BCELoss())] == [2]


def test_sgd_trains_a_loss_without_dual_variables_but_refuses_aucm():
    network = nn.Linear(3, 1)
    optimizer = build_optimizer(lambda groups: torch.optim.SGD(groups, lr=0.1), network, BCELoss())
    assert [p for group in optimizer.param_groups for p in group["params"]] == list(network.parameters())
    with pytest.raises(ValueError, match=r"loss AUCMLoss is a min-max .* which SGD cannot do; use optim=pesg"):
        build_optimizer(lambda groups: torch.optim.SGD(groups, lr=0.1), network, AUCMLoss((9, 1)))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"lr": 0.0}, "lr must be > 0, got 0.0"),
        ({"momentum": 1.0}, "momentum must satisfy 0 <= momentum < 1, got 1.0"),
        ({"weight_decay": -1e-4}, "weight_decay must be >= 0, got -0.0001"),
        ({"epoch_decay": -1.0}, "epoch_decay must be >= 0, got -1.0"),
    ],
)
def test_bad_pesg_arguments_name_the_value(arguments, message):
    with pytest.raises(ValueError) as error:
        PESG([nn.Parameter(torch.zeros(1))], **arguments)
    assert message in str(error.value)


def fake_trainer(optimizer, epoch=0, schedulers=()):
    return SimpleNamespace(optimizers=[optimizer], current_epoch=epoch, lr_scheduler_configs=list(schedulers))


def test_stages_start_at_their_milestones_only():
    parameter = nn.Parameter(torch.zeros(1))
    optimizer = PESG([parameter], lr=0.1)
    stages = PESGStages(milestones=[3, 1], decay_factor=10)
    lrs = []
    for epoch in range(5):
        stages.on_train_epoch_start(fake_trainer(optimizer, epoch), None)
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs == pytest.approx([0.1, 0.01, 0.01, 0.001, 0.001])


def test_stages_refuse_another_optimiser_and_a_competing_scheduler():
    sgd = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match=r"PESG stages need optim=pesg, got the optimiser SGD"):
        PESGStages([5]).on_train_start(fake_trainer(sgd), None)
    pesg = PESG([nn.Parameter(torch.zeros(1))])
    with pytest.raises(ValueError, match=r"set callbacks.pesg_stages.decay_factor=1 or scheduler=null"):
        PESGStages([5], decay_factor=10).on_train_start(fake_trainer(pesg, schedulers=["a scheduler"]), None)
    PESGStages([5], decay_factor=1).on_train_start(fake_trainer(pesg, schedulers=["a scheduler"]), None)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"milestones": [0, 5]}, "milestones must be positive epoch numbers, got [0, 5]"),
        ({"decay_factor": 0.5}, "decay_factor must be >= 1, got 0.5"),
    ],
)
def test_bad_stage_arguments_name_the_value(arguments, message):
    with pytest.raises(ValueError) as error:
        PESGStages(**arguments)
    assert message in str(error.value)
