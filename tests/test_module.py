"""ALMClassifier: the loss of Eq. 5 on a batch, the multiplier update, and scores for the metrics."""

import functools

import pytest
import torch
from torch import nn

from almlit.alm import BinaryConstraint
from almlit.losses import BCELoss
from almlit.module import ALMClassifier


def make_module(constraint, penalty=0.5, num_samples=10):
    torch.manual_seed(0)
    network = nn.Linear(3, 1)
    optimizer = functools.partial(torch.optim.SGD, lr=0.1)
    return ALMClassifier(network, BCELoss(), optimizer, constraint, num_samples, penalty_init=penalty)


def test_training_loss_is_eq5_and_updates_lambda_after_use():
    module = make_module(BinaryConstraint(margin=1.0))
    images = torch.randn(4, 3)
    targets = torch.tensor([1, 0, 1, 0])
    ids = torch.tensor([7, 2, 5, 9])
    module.bank.multipliers[7] = 2.0
    loss, terms = module.training_loss((images, targets, ids))
    scores = module.network(images).squeeze(1).detach().tolist()
    # Reference by hand: q_j over the two negatives for each positive; |p||n| = 4
    q = {j: sum(max(0.0, 1.0 - (scores[j] - scores[k])) for k in (1, 3)) for j in (0, 2)}
    penalty_term = 0.5 * (q[0] ** 2 + q[2] ** 2) / (2 * 4)
    multiplier_term = (2.0 * q[0] + 0.0 * q[2]) / 4
    assert float(terms["penalty_term"]) == pytest.approx(penalty_term, rel=1e-5)
    assert float(terms["multiplier_term"]) == pytest.approx(multiplier_term, rel=1e-5)
    assert float(loss) == pytest.approx(float(terms["base_loss"]) + penalty_term + multiplier_term, rel=1e-5)
    expected_bank = torch.zeros(10)
    expected_bank[7] = 2.0 + 0.5 * q[0]
    expected_bank[5] = 0.5 * q[2]
    torch.testing.assert_close(module.bank.multipliers, expected_bank)
    loss.backward()
    assert module.network.weight.grad is not None


def test_baseline_has_no_bank_and_only_the_base_loss():
    module = make_module(None)
    loss, terms = module.training_loss((torch.randn(4, 3), torch.tensor([1, 0, 1, 0]), torch.arange(4)))
    assert module.bank is None and list(terms) == ["base_loss"] and loss is terms["base_loss"]


def test_state_lives_in_the_state_dict():
    state = make_module(BinaryConstraint(), penalty=0.25).state_dict()
    assert float(state["penalty"]) == 0.25
    assert state["bank.multipliers"].shape == (10,)


def test_evaluation_scores_are_float64_even_under_autocast():
    module = make_module(None)
    images = torch.randn(5, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        scores = module.evaluation_scores(images)
    assert scores.dtype == torch.float64
    torch.testing.assert_close(scores, module.network(images).squeeze(1).double())


def test_negative_penalty_is_refused():
    with pytest.raises(ValueError, match=r"alm.penalty_init \(mu0\) must be finite and >= 0, got -1"):
        make_module(None, penalty=-1)


def test_a_constraint_that_can_never_act_and_a_negative_lambda0_are_refused():
    optimizer = functools.partial(torch.optim.SGD, lr=0.1)
    with pytest.raises(ValueError, match=r"^alm.penalty_init \(mu0\) = 0 with alm.multiplier_init \(lambda0\) = 0 "):
        ALMClassifier(nn.Linear(3, 1), BCELoss(), optimizer, BinaryConstraint(), 10, penalty_init=0.0)
    with pytest.raises(ValueError, match=r"^alm.multiplier_init \(lambda0\) must be finite and >= 0, got -1.0$"):
        ALMClassifier(nn.Linear(3, 1), BCELoss(), optimizer, BinaryConstraint(), 10, 1e-3, multiplier_init=-1.0)
    # mu0 = 0 with lambda0 > 0 keeps a fixed multiplier term; without a constraint mu0 = 0 is the baseline's
    ALMClassifier(nn.Linear(3, 1), BCELoss(), optimizer, BinaryConstraint(), 10, 0.0, multiplier_init=0.5)
    ALMClassifier(nn.Linear(3, 1), BCELoss(), optimizer, None, 10, penalty_init=0.0)
