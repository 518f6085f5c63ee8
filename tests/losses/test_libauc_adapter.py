"""Our AUCM against LibAUC's own AUCMLoss on the same inputs (skipped without libauc), and the adapter's errors."""

import math
import sys

import pytest
import torch

from almlit.losses import AUCMLoss
from almlit.losses.libauc_adapter import LibAUCAUCMLoss
from almlit.optim import PESG, parameter_groups

LOGITS = [1.2, -0.4, 0.3, -2.0, 0.8, -0.1, 2.5, -1.1]
TARGETS = [1, 0, 1, 0, 0, 0, 1, 0]
COUNTS = (900, 100)


def set_variables(a, b, alpha, values):
    with torch.no_grad():
        for parameter, value in zip((a, b, alpha), values, strict=True):
            parameter.fill_(value)


@pytest.mark.parametrize(("values", "margin"), [((0.0, 0.0, 0.0), 1.0), ((0.7, 0.2, 0.4), 1.0), ((0.5, 0.4, 1.3), 0.6)])
def test_our_aucm_equals_libauc_value_and_gradients(values, margin):
    pytest.importorskip("libauc")
    ours, theirs = AUCMLoss(COUNTS, margin), LibAUCAUCMLoss(COUNTS, margin)
    set_variables(ours.a, ours.b, ours.alpha, values)
    inner = theirs.libauc_loss
    set_variables(inner.a, inner.b, inner.alpha, values)
    results = []
    for loss in (ours, theirs):
        logits = torch.tensor(LOGITS, requires_grad=True)
        value = loss(logits[:, None], torch.tensor(TARGETS))
        value.backward()
        variables = [loss.a, loss.b, loss.alpha] if loss is ours else [inner.a, inner.b, inner.alpha]
        results.append((value.item(), logits.grad.tolist(), [v.grad.item() for v in variables]))
    (our_value, our_logit_grads, our_grads), (their_value, their_logit_grads, their_grads) = results
    assert our_value == pytest.approx(their_value, rel=1e-6)
    assert our_logit_grads == pytest.approx(their_logit_grads, rel=1e-5, abs=1e-8)
    assert our_grads == pytest.approx(their_grads, rel=1e-5, abs=1e-8)


def test_libauc_alpha_is_the_dual_variable_that_pesg_ascends():
    pytest.importorskip("libauc")
    loss = LibAUCAUCMLoss(COUNTS)
    network = torch.nn.Linear(1, 1)
    primal, dual = parameter_groups(network, loss)
    assert dual["params"] == [loss.libauc_loss.alpha] and len(primal["params"]) == 4
    optimizer = PESG([primal, dual], lr=0.1)
    logits = [-x for x in LOGITS]  # positives scored low, so that the ascent direction in alpha is positive
    loss(torch.tensor(logits), torch.tensor(TARGETS)).backward()
    optimizer.step()
    # at a = b = alpha = 0: d/d alpha = 2 (p (1 - p) m + mean over the batch of (p s [y=0] - (1 - p) s [y=1]))
    scores = [1 / (1 + math.exp(-x)) for x in logits]
    terms = [0.1 * s if y == 0 else -0.9 * s for s, y in zip(scores, TARGETS, strict=True)]
    gradient = 2 * (0.1 * 0.9 * 1.0 + sum(terms) / len(terms))
    assert gradient > 0 and loss.libauc_loss.alpha.item() == pytest.approx(0.1 * gradient, rel=1e-5)


def test_missing_libauc_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "libauc.losses", None)  # makes the import fail as if it were not installed
    with pytest.raises(ValueError, match=r"loss=aucm_libauc needs the optional package libauc .*pip install --no-deps"):
        LibAUCAUCMLoss(COUNTS)
