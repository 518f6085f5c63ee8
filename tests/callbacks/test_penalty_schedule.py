"""The mu schedule: the authors' rule, Algorithm 1's rule, the cap, and exact state round trips."""

from types import SimpleNamespace

import pytest
import torch

from almlit.alm.penalty import default_penalty_cap
from almlit.callbacks import PenaltySchedule


def run_schedule(schedule, aucs, mu0=1e-4):
    module = SimpleNamespace(
        penalty=torch.tensor(mu0, dtype=torch.float64), penalty_init=mu0, log=lambda *args, **kwargs: None
    )
    history = []
    for auc in aucs:
        trainer = SimpleNamespace(callback_metrics={"val/auc": torch.tensor(auc)})
        schedule.on_train_epoch_end(trainer, module)
        history.append(float(module.penalty) / mu0)
    return history


def test_official_rule():
    # epoch 1 records; epoch 2 grows unconditionally; then grow only on a fall of more than 0.05
    history = run_schedule(PenaltySchedule(growth=2.0), [0.70, 0.60, 0.62, 0.50, 0.48, 0.40])
    assert history == pytest.approx([1, 2, 2, 4, 4, 8])


def test_paper_rule():
    history = run_schedule(PenaltySchedule(growth=3.0, rule="paper"), [0.70, 0.80, 0.79, 0.90, 0.90, 0.85])
    assert history == pytest.approx([1, 1, 3, 3, 3, 9])


def test_cap_and_freeze():
    assert default_penalty_cap(1e-4, 2.0) == pytest.approx(1e-4 * 32)
    assert default_penalty_cap(1e-3, 2.0) == pytest.approx(1e-3 * 8)
    falling = [0.9 - 0.1 * epoch for epoch in range(9)]
    assert run_schedule(PenaltySchedule(growth=2.0), falling)[-1] == pytest.approx(32)
    assert run_schedule(PenaltySchedule(growth=2.0, max_penalty=3e-4), falling)[-1] == pytest.approx(3)
    # a perfect validation AUC freezes mu even when the metric later falls
    assert run_schedule(PenaltySchedule(growth=2.0), [0.9, 1.0, 0.5, 0.2]) == pytest.approx([1, 2, 2, 2])


def test_state_round_trip_resumes_the_same_decisions():
    aucs = [0.70, 0.60, 0.62, 0.50, 0.48, 0.40]
    uninterrupted = run_schedule(PenaltySchedule(), aucs)
    first = PenaltySchedule()
    head = run_schedule(first, aucs[:3])
    second = PenaltySchedule()
    second.load_state_dict(first.state_dict())
    tail = [value * head[-1] for value in run_schedule(second, aucs[3:], mu0=1e-4 * head[-1])]
    assert head + tail == pytest.approx(uninterrupted)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"growth": 1.0}, r"alm.schedule.growth \(rho\) must be > 1, got 1.0"),
        ({"rule": "sometimes"}, r"alm.schedule.rule must be one of \('official', 'paper'\), got 'sometimes'"),
    ],
)
def test_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PenaltySchedule(**kwargs)
