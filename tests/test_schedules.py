import pytest
import torch

from almlit.optim.schedules import warmup_step_schedule


def test_ldam_drw_schedule_by_hand():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.1)
    schedule = warmup_step_schedule(optimizer, warmup_epochs=5, milestones=(8, 10), factors=(0.01, 0.0001))
    rates = []
    for _ in range(12):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    expected = [0.02, 0.04, 0.06, 0.08, 0.1, 0.1, 0.1, 0.1, 0.001, 0.001, 0.00001, 0.00001]
    assert rates == pytest.approx(expected)
    assert "lr_lambdas" in schedule.state_dict()


def test_bad_milestones():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match=r"scheduler.milestones must be increasing .* got milestones \[10, 8\]"):
        warmup_step_schedule(optimizer, milestones=(10, 8), factors=(0.1, 0.1))
