"""The ALM maths against the paper's toy example (Fig. 1, section 4.2) and a naive double loop."""

import math

import pytest
import torch

from almlit.alm import augmented_terms, binary_violations

TOY_ORDER = "nnpnnppnpp"  # ten samples from lowest to highest score (paper, Fig. 1)
SPACING = 0.7  # Delta
MU = 0.3
LAMBDA = 1.9


def toy_scores(order: str) -> tuple[torch.Tensor, torch.Tensor]:
    scores = torch.arange(len(order), dtype=torch.float64) * SPACING
    positives = torch.tensor([kind == "p" for kind in order])
    return scores, positives


def swapped(order: str, first: int, second: int) -> str:
    letters = list(order)
    letters[first], letters[second] = letters[second], letters[first]
    return "".join(letters)


def per_positive_cost(order: str) -> float:
    """The terms of Eq. 5 with every lambda equal, through the code under test."""
    scores, positives = toy_scores(order)
    violations = binary_violations(scores, positives, margin=0.0)
    num_pairs = positives.sum() * (~positives).sum()
    penalty_term, multiplier_term = augmented_terms(
        violations, torch.full_like(scores, LAMBDA), torch.tensor(MU, dtype=torch.float64), num_pairs
    )
    return float(penalty_term + multiplier_term)


def naive_cost(order: str, per: str) -> float:
    """Reference written out with loops: one constraint per positive, per negative or per pair."""
    scores, positives = toy_scores(order)
    positive_scores = [float(s) for s, p in zip(scores, positives, strict=False) if p]
    negative_scores = [float(s) for s, p in zip(scores, positives, strict=False) if not p]
    normaliser = len(positive_scores) * len(negative_scores)
    hinge = [[max(0.0, -(sp - sn)) for sn in negative_scores] for sp in positive_scores]
    if per == "positive":
        constraints = [sum(row) for row in hinge]
    elif per == "negative":
        constraints = [sum(column) for column in zip(*hinge, strict=False)]
    else:
        constraints = [value for row in hinge for value in row]
    return MU * sum(c * c for c in constraints) / (2 * normaliser) + LAMBDA * sum(constraints) / normaliser


LOWEST_POSITIVE_SWAP = swapped(TOY_ORDER, 2, 3)  # lowest positive with the negative just above it
HIGHEST_NEGATIVE_SWAP = swapped(TOY_ORDER, 6, 7)  # highest negative with the positive just below it


def test_toy_example_per_positive_constraint_prefers_the_green_box():
    green = per_positive_cost(TOY_ORDER) - per_positive_cost(LOWEST_POSITIVE_SWAP)
    red = per_positive_cost(TOY_ORDER) - per_positive_cost(HIGHEST_NEGATIVE_SWAP)
    assert green == pytest.approx(39 * MU * SPACING**2 / 50 + 3 * LAMBDA * SPACING / 25, rel=1e-12)
    assert red == pytest.approx(19 * MU * SPACING**2 / 50 + 3 * LAMBDA * SPACING / 25, rel=1e-12)


def test_toy_example_mirror_and_pair_constraints():
    per_negative_green = naive_cost(TOY_ORDER, "negative") - naive_cost(LOWEST_POSITIVE_SWAP, "negative")
    per_negative_red = naive_cost(TOY_ORDER, "negative") - naive_cost(HIGHEST_NEGATIVE_SWAP, "negative")
    assert per_negative_green == pytest.approx(19 * MU * SPACING**2 / 50 + 3 * LAMBDA * SPACING / 25, rel=1e-12)
    assert per_negative_red == pytest.approx(39 * MU * SPACING**2 / 50 + 3 * LAMBDA * SPACING / 25, rel=1e-12)
    per_pair_green = naive_cost(TOY_ORDER, "pair") - naive_cost(LOWEST_POSITIVE_SWAP, "pair")
    per_pair_red = naive_cost(TOY_ORDER, "pair") - naive_cost(HIGHEST_NEGATIVE_SWAP, "pair")
    assert per_pair_green == pytest.approx(per_pair_red, rel=1e-12)


def test_naive_per_positive_matches_the_vectorised_terms():
    for order in (TOY_ORDER, LOWEST_POSITIVE_SWAP, HIGHEST_NEGATIVE_SWAP):
        assert per_positive_cost(order) == pytest.approx(naive_cost(order, "positive"), rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_violations_equal_a_double_loop(seed, margin):
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randn(33, generator=generator, dtype=torch.float64)
    positives = torch.rand(33, generator=generator) < 0.3
    expected = torch.zeros(33, dtype=torch.float64)
    for j in range(33):
        if positives[j]:
            for k in range(33):
                if not positives[k]:
                    expected[j] += max(0.0, margin - (float(scores[j]) - float(scores[k])))
    torch.testing.assert_close(binary_violations(scores, positives, margin), expected)


@pytest.mark.parametrize("positives", [[True] * 6, [False] * 6])
def test_batch_without_pairs_contributes_zero(positives):
    scores = torch.randn(6, requires_grad=True)
    mask = torch.tensor(positives)
    violations = binary_violations(scores, mask, margin=1.0)
    penalty_term, multiplier_term = augmented_terms(
        violations, torch.ones(6), torch.tensor(1.0), mask.sum() * (~mask).sum()
    )
    (penalty_term + multiplier_term).backward()
    assert penalty_term.item() == 0.0 and multiplier_term.item() == 0.0
    assert torch.equal(scores.grad, torch.zeros(6))


def test_augmented_terms_by_hand():
    # q = (3, 0, 1), lambda = (2, 5, 4), mu = 0.5, |p||n| = 4
    # penalty = 0.5 * (9 + 0 + 1) / 8 = 0.625; multiplier term = (6 + 0 + 4) / 4 = 2.5
    penalty_term, multiplier_term = augmented_terms(
        torch.tensor([3.0, 0.0, 1.0]), torch.tensor([2.0, 5.0, 4.0]), torch.tensor(0.5), torch.tensor(4)
    )
    assert math.isclose(float(penalty_term), 0.625) and math.isclose(float(multiplier_term), 2.5)
