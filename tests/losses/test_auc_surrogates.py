"""AUCM and the partial-AUC surrogates against naive loops and hand-derived saddle points."""

import math

import pytest
import torch

from almlit.losses import AUCMLoss, OneWayPartialAUCLoss, TwoWayPartialAUCLoss, auc_surrogates

LOGITS = [1.2, -0.4, 0.3, -2.0, 0.8, -0.1, 2.5, -1.1]
TARGETS = [1, 0, 1, 0, 0, 0, 1, 0]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def hinge(margin: float, difference: float) -> float:
    return max(0.0, margin - difference) ** 2


def naive_aucm(p, a, b, alpha, margin):
    total = 0.0
    for x, y in zip(LOGITS, TARGETS, strict=True):
        s = sigmoid(x)
        if y == 1:
            total += (1 - p) * (s - a) ** 2 + 2 * alpha * (p * (1 - p) * margin - (1 - p) * s)
        else:
            total += p * (s - b) ** 2 + 2 * alpha * (p * (1 - p) * margin + p * s)
    return total / len(LOGITS) - p * (1 - p) * alpha**2


def fractional_top_mean(values: list[float], fraction: float) -> float:
    """Mean of the largest fraction k = f n of values, the boundary value counted with weight k - floor(k)."""
    kept, total = fraction * len(values), 0.0
    for rank, value in enumerate(sorted(values, reverse=True)):
        total += min(1.0, max(0.0, kept - rank)) * value
    return total / kept


def tensors(logits=LOGITS, targets=TARGETS):
    return torch.tensor(logits, dtype=torch.float64, requires_grad=True), torch.tensor(targets)


def scalar(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64, requires_grad=True)


def naive_mini_batch_auc(logits, targets):
    pairs = [
        (1 - (sigmoid(positive) - sigmoid(negative))) ** 2
        for positive, positive_target in zip(logits, targets, strict=True)
        for negative, negative_target in zip(logits, targets, strict=True)
        if positive_target == 1 and negative_target == 0
    ]
    return math.fsum(pairs) / len(pairs)


def test_mini_batch_auc_matches_a_loop_over_pairs():
    loss = auc_surrogates.mini_batch_auc(torch.tensor(LOGITS, dtype=torch.float64).unsqueeze(1), torch.tensor(TARGETS))
    assert loss.item() == pytest.approx(naive_mini_batch_auc(LOGITS, TARGETS), rel=1e-12)


@pytest.mark.parametrize("target", [0, 1])
def test_mini_batch_auc_without_pairs_is_zero_with_a_zero_gradient(target):
    logits = torch.tensor([-100.0, 0.3, 100.0], requires_grad=True)
    loss = auc_surrogates.mini_batch_auc(logits, torch.full((3,), target))
    loss.backward()
    assert loss.item() == 0.0
    assert logits.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(("p", "a", "b", "alpha", "margin"), [(0.1, 0.6, 0.3, 0.4, 1.0), (0.5, 0.0, 0.0, 0.0, 0.5)])
def test_aucm_matches_the_naive_loop(p, a, b, alpha, margin):
    logits, targets = tensors()
    value = auc_surrogates.aucm(logits, targets, p, scalar(a), scalar(b), scalar(alpha), margin)
    assert value.item() == pytest.approx(naive_aucm(p, a, b, alpha, margin), rel=1e-12)


def test_aucm_at_its_saddle_point_is_variances_plus_the_squared_margin_hinge():
    positives = [sigmoid(x) for x, y in zip(LOGITS, TARGETS, strict=True) if y]
    negatives = [sigmoid(x) for x, y in zip(LOGITS, TARGETS, strict=True) if not y]
    p = len(positives) / len(LOGITS)  # the batch prior, so that the expectation over the batch is exact
    mean_pos, mean_neg = sum(positives) / len(positives), sum(negatives) / len(negatives)
    var_pos = sum((s - mean_pos) ** 2 for s in positives) / len(positives)
    var_neg = sum((s - mean_neg) ** 2 for s in negatives) / len(negatives)
    alpha = max(0.0, 1.0 - (mean_pos - mean_neg))
    a, b, alpha_t = scalar(mean_pos), scalar(mean_neg), scalar(alpha)
    logits, targets = tensors()
    value = auc_surrogates.aucm(logits, targets, p, a, b, alpha_t, margin=1.0)
    assert value.item() == pytest.approx(p * (1 - p) * (var_pos + var_neg + alpha**2), rel=1e-12)
    value.backward()
    for gradient in (a.grad, b.grad, alpha_t.grad):  # a stationary point in (a, b, alpha)
        assert gradient.item() == pytest.approx(0.0, abs=1e-12)


def test_aucm_module_takes_the_prior_from_the_class_counts_and_lists_alpha_as_dual():
    loss = AUCMLoss(class_counts=(900, 100), margin=0.5)
    assert loss.positive_prior == pytest.approx(0.1)
    assert loss.dual_parameters() == [loss.alpha]
    assert {name for name, _ in loss.named_parameters()} == {"a", "b", "alpha"}
    with torch.no_grad():
        loss.a.fill_(0.7), loss.b.fill_(0.2), loss.alpha.fill_(0.3)
    value = loss(torch.tensor(LOGITS)[:, None], torch.tensor(TARGETS)[:, None])
    assert value.item() == pytest.approx(naive_aucm(0.1, 0.7, 0.2, 0.3, 0.5), rel=1e-5)


@pytest.mark.parametrize("max_fpr", [1.0, 0.4, 0.3, 0.1])
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_one_way_partial_auc_matches_the_naive_loop(max_fpr, margin):
    per_positive = []
    for x_pos, y_pos in zip(LOGITS, TARGETS, strict=True):
        if y_pos:
            losses = [hinge(margin, sigmoid(x_pos) - sigmoid(x)) for x, y in zip(LOGITS, TARGETS, strict=True) if not y]
            per_positive.append(fractional_top_mean(losses, max_fpr))
    logits, targets = tensors()
    value = auc_surrogates.one_way_partial_auc(logits, targets, max_fpr, margin)
    assert value.item() == pytest.approx(sum(per_positive) / len(per_positive), rel=1e-12)


def test_one_way_partial_auc_with_an_integral_count_averages_the_top_scored_negatives():
    # 5 negatives, beta = 0.4: the two highest-scored negatives are 0.8 and -0.1
    positives, top_negatives = [1.2, 0.3, 2.5], [0.8, -0.1]
    expected = sum(hinge(1.0, sigmoid(p) - sigmoid(n)) for p in positives for n in top_negatives) / 6
    logits, targets = tensors()
    assert auc_surrogates.one_way_partial_auc(logits, targets, 0.4).item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("max_fpr", "min_tpr"), [(0.4, 1 / 3), (0.3, 0.5), (1.0, 0.0), (0.1, 0.9)])
def test_two_way_partial_auc_is_the_weighted_mean_over_the_hardest_pairs(max_fpr, min_tpr):
    pairs = [(x, y) for x, y in zip(LOGITS, TARGETS, strict=True)]
    positives = sorted(sigmoid(x) for x, y in pairs if y)  # lowest-scored first
    negatives = sorted((sigmoid(x) for x, y in pairs if not y), reverse=True)  # highest-scored first
    kept_pos, kept_neg = (1 - min_tpr) * len(positives), max_fpr * len(negatives)
    total = 0.0
    for i, s_pos in enumerate(positives):
        for j, s_neg in enumerate(negatives):
            weight = min(1.0, max(0.0, kept_pos - i)) * min(1.0, max(0.0, kept_neg - j))
            total += weight * hinge(1.0, s_pos - s_neg)
    logits, targets = tensors()
    value = auc_surrogates.two_way_partial_auc(logits, targets, max_fpr, min_tpr)
    assert value.item() == pytest.approx(total / (kept_pos * kept_neg), rel=1e-12)


def test_two_way_with_min_tpr_zero_is_the_one_way_loss():
    logits, targets = tensors()
    one_way = auc_surrogates.one_way_partial_auc(logits, targets, 0.3)
    assert auc_surrogates.two_way_partial_auc(logits, targets, 0.3, 0.0).item() == pytest.approx(one_way.item())


@pytest.mark.parametrize(
    "loss", [OneWayPartialAUCLoss(0.3), TwoWayPartialAUCLoss(0.3, 0.5)], ids=["one_way", "two_way"]
)
@pytest.mark.parametrize("targets", [[0, 0, 0], [1, 1, 1]], ids=["no_positive", "no_negative"])
def test_a_batch_without_pairs_gives_zero_attached_to_the_graph(loss, targets):
    logits = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    value = loss(logits, torch.tensor(targets))
    value.backward()
    assert value.item() == 0.0 and logits.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "loss",
    [AUCMLoss((90, 10)), OneWayPartialAUCLoss(0.3), TwoWayPartialAUCLoss(0.3, 0.5)],
    ids=["aucm", "one_way", "two_way"],
)
def test_values_and_gradients_stay_finite_at_extreme_logits(loss):
    logits = torch.tensor([100.0, -100.0, 100.0, -100.0, 0.0], requires_grad=True)
    value = loss(logits, torch.tensor([1, 0, 0, 1, 0]))
    value.backward()
    parameters = [logits, *loss.parameters()]
    assert torch.isfinite(value) and all(torch.isfinite(p.grad).all() for p in parameters)
    # the positive at -100 against the negative at +100 is the worst pair: (1 - (0 - 1))^2 = 4 for the pair losses
    if not isinstance(loss, AUCMLoss):
        assert value.item() > 0


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: AUCMLoss((90, 10, 5)), "class_counts must have length 2 (n_negative, n_positive)"),
        (lambda: AUCMLoss((90, 0)), "class_counts must be a non-empty sequence of positive integers, got [90, 0]"),
        (lambda: AUCMLoss((90, 10), margin=-1.0), "margin must be >= 0, got -1.0"),
        (lambda: OneWayPartialAUCLoss(max_fpr=0.0), "max_fpr must satisfy 0 < max_fpr <= 1, got 0.0"),
        (lambda: OneWayPartialAUCLoss(max_fpr=1.5), "max_fpr must satisfy 0 < max_fpr <= 1, got 1.5"),
        (lambda: TwoWayPartialAUCLoss(min_tpr=1.0), "min_tpr must satisfy 0 <= min_tpr < 1, got 1.0"),
        (lambda: TwoWayPartialAUCLoss(margin=-0.5), "margin must be >= 0, got -0.5"),
    ],
)
def test_bad_arguments_name_the_value_and_what_is_allowed(build, message):
    with pytest.raises(ValueError) as error:
        build()
    assert message in str(error.value)


def test_aucm_rejects_a_prior_outside_the_open_unit_interval():
    logits, targets = tensors()
    with pytest.raises(ValueError, match=r"positive_prior must satisfy 0 < p < 1, got 1.0"):
        auc_surrogates.aucm(logits, targets, 1.0, scalar(0.0), scalar(0.0), scalar(0.0))


def test_targets_other_than_zero_and_one_are_rejected():
    with pytest.raises(ValueError, match=r"targets must contain only 0 and 1, got values \[0, 2\]"):
        OneWayPartialAUCLoss()(torch.tensor([0.1, 0.2]), torch.tensor([0, 2]))
