"""Continuing a checkpoint in a new folder (issue 13, item 3): the command line's settings win over the checkpoint's.

Expected learning rates are the closed form of the schedule, ``lr0 * 0.5 ** epoch``, written out here; the slow test
of the whole command is in tests/test_resume.py.
"""

import pytest
import torch

from almlit.runs.continuation import check_continuation, command_line_settings


def optimizer_and_schedule(lr, momentum, steps):
    weights = torch.nn.Parameter(torch.zeros(3))
    optimizer = torch.optim.SGD([weights], lr=lr, momentum=momentum, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.5**epoch)
    for _ in range(steps):
        weights.grad = torch.ones(3)
        optimizer.step()
        scheduler.step()
    return optimizer, scheduler


def test_under_a_schedule_the_new_base_rate_goes_on_from_the_schedules_epoch():
    old_optimizer, old_scheduler = optimizer_and_schedule(lr=0.1, momentum=0.9, steps=3)
    checkpoint = {"optimizer_states": [old_optimizer.state_dict()], "lr_schedulers": [old_scheduler.state_dict()]}
    optimizer, scheduler = optimizer_and_schedule(lr=0.01, momentum=0.5, steps=0)
    command_line_settings(checkpoint, [optimizer], [scheduler])
    optimizer.load_state_dict(checkpoint["optimizer_states"][0])
    scheduler.load_state_dict(checkpoint["lr_schedulers"][0])
    group = optimizer.param_groups[0]
    assert group["lr"] == pytest.approx(0.01 * 0.5**3)
    assert (group["momentum"], group["weight_decay"]) == (0.5, 1e-4)
    assert torch.equal(
        optimizer.state[group["params"][0]]["momentum_buffer"],
        old_optimizer.state_dict()["state"][0]["momentum_buffer"],
    )
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5**4)


def test_without_a_schedule_the_command_lines_rate_is_taken():
    weights = torch.nn.Parameter(torch.zeros(2))
    old = torch.optim.SGD([weights], lr=0.1, momentum=0.9)
    checkpoint = {"optimizer_states": [old.state_dict()]}
    fresh = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.003, momentum=0.0, nesterov=False)
    command_line_settings(checkpoint, [fresh], [])
    fresh.load_state_dict(checkpoint["optimizer_states"][0])
    assert (fresh.param_groups[0]["lr"], fresh.param_groups[0]["momentum"]) == (0.003, 0.0)


@pytest.mark.parametrize(
    ("max_epochs", "patience", "wait_count"),
    [(4, 30, 0), (-1, 30, 29), (None, None, 30), (4, 31, 30)],
)
def test_a_continuation_with_epochs_left_is_accepted(max_epochs, patience, wait_count):
    checkpoint = {
        "epoch": 2,
        "callbacks": {"EarlyStopping{'monitor': 'val/auc', 'mode': 'max'}": {"wait_count": wait_count}},
    }
    check_continuation(checkpoint, "old.ckpt", max_epochs, patience)
