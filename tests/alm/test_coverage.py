"""Pair coverage, violated pairs, lambda quantiles and hardest positives against naive loops, numpy and the maths."""

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from almlit.alm import BinaryConstraint, MultiClassConstraint
from almlit.alm.coverage import (
    PairCoverage,
    check_pair_batches,
    constrained_samples,
    hardest_positives,
    multiplier_quantiles,
    pairwise_objectives,
    quantile_name,
)
from almlit.config import CONFIG_DIR
from almlit.losses import BCELoss, MiniBatchAUCLoss
from almlit.module import instantiate_with_data

LOSSES = sorted(path.stem for path in (Path(CONFIG_DIR) / "loss").glob("*.yaml"))


def test_one_sample_batches_are_refused_with_the_objectives_named():
    objectives = pairwise_objectives(MiniBatchAUCLoss(), BinaryConstraint())
    with pytest.raises(ValueError) as refused:
        check_pair_batches(objectives, batch_size=1)
    assert str(refused.value) == (
        "training batches of 1 sample (data.batch_size=1 x trainer.devices=1 x trainer.num_nodes=1) never hold a "
        "positive-negative pair: the ALM constraint BinaryConstraint and the pairwise loss MiniBatchAUCLoss would be "
        "0 at every step; use data.batch_size >= 2 (best with sampler=dual) or a per-sample loss with alm=none; "
        "trainer.accumulate_grad_batches does not pair samples across batches"
    )


def test_a_global_batch_of_two_is_allowed_and_per_sample_objectives_are_never_refused():
    objectives = pairwise_objectives(BCELoss(), BinaryConstraint())
    check_pair_batches(objectives, batch_size=1, devices=2)  # DDP gathers one sample of each process: 2
    check_pair_batches(objectives, batch_size=1, devices=1, num_nodes=2)
    check_pair_batches(pairwise_objectives(BCELoss(), None), batch_size=1)
    assert pairwise_objectives(BCELoss(), None) == []
    assert pairwise_objectives(BCELoss(), MultiClassConstraint([2])) == ["the ALM constraint MultiClassConstraint"]


def composed_loss(name):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"loss={name}"])
    loss = instantiate_with_data(cfg.loss, class_counts=(90, 10))
    return loss, getattr(loss, "num_outputs", cfg.num_outputs)  # CE-family losses take 2 scores on binary data


@pytest.mark.parametrize("name", LOSSES)
def test_a_loss_needs_pairs_exactly_when_one_sample_batches_give_it_no_gradient(name):
    """From the maths, not the flag: a loss that compares samples is 0 (no gradient) on a batch of one sample."""
    if name == "aucm_libauc":
        pytest.importorskip("libauc")
    loss, num_outputs = composed_loss(name)
    gradients = []
    for label in (0, 1):
        torch.manual_seed(label)
        outputs = torch.randn(1, num_outputs, requires_grad=True)
        loss(outputs, torch.tensor([label])).backward()
        gradients.append(outputs.grad.abs().sum().item())
    assert getattr(loss, "needs_pairs", False) == (max(gradients) == 0), (name, gradients)


def naive_counts(batches, margin):
    """Batches with a pair, pairs, and pairs with f(p) - f(n) < delta, by loops over the samples."""
    pair_batches = pairs = violated = 0
    for scores, labels in batches:
        batch_pairs = [(j, k) for j in range(len(labels)) for k in range(len(labels)) if labels[j] and not labels[k]]
        pair_batches += bool(batch_pairs)
        pairs += len(batch_pairs)
        violated += sum(scores[j] - scores[k] < margin for j, k in batch_pairs)
    return pair_batches / len(batches), violated / pairs


def test_coverage_and_violated_pairs_of_an_epoch_against_a_loop():
    generator = torch.Generator().manual_seed(3)
    batches = []
    for size in (5, 8, 1, 6, 7, 3):
        labels = (torch.rand(size, generator=generator) < 0.3).long()
        batches.append((torch.randn(size, generator=generator).tolist(), labels.tolist()))
    constraint, coverage = BinaryConstraint(margin=0.5), PairCoverage()
    for scores, labels in batches:
        violations = constraint(torch.tensor(scores)[:, None], torch.tensor(labels))
        coverage.update(violations.num_pairs, violations.violated_pairs)
    shares = coverage.compute()
    pair_batches, violated = naive_counts(batches, margin=0.5)
    assert 0 < pair_batches < 1 and 0 < violated < 1  # the draw holds batches with and without pairs
    assert shares["pair_batches"].item() == pytest.approx(pair_batches)
    assert shares["violated_pairs"].item() == pytest.approx(violated)
    coverage.reset()
    coverage.update(torch.tensor(0), torch.tensor(0))
    shares = coverage.compute()
    assert shares["pair_batches"].item() == 0 and shares["violated_pairs"].isnan()


def test_multiclass_violated_pairs_count_pairs_in_the_constraints_sense():
    # classes 0, 1 non-critical, 2 critical, delta 0.1, scores taken as they are (score=logit)
    scores = torch.tensor([[0.2, 0.3, 0.5], [0.25, 0.65, 0.1], [0.05, 0.5, 0.45]])
    targets = torch.tensor([2, 0, 1])
    # Eq. 6, on class 2: 0.5 - 0.1 >= delta holds for sample 1, 0.5 - 0.45 < delta fails for sample 2
    m1 = MultiClassConstraint([2], margin=0.1, score="logit")(scores, targets)
    assert int(m1.num_pairs) == 2 and int(m1.violated_pairs) == 1
    # Eq. 7 also asks f_i(x_0) + delta <= f_i(x_k) on the class i of k: 0.2 + 0.1 > 0.25 fails for sample 1 (class 0)
    m2 = MultiClassConstraint([2], margin=0.1, variant="m2", score="logit")(scores, targets)
    assert int(m2.num_pairs) == 2 and int(m2.violated_pairs) == 2


def test_lambda_quantiles_match_numpy():
    multipliers = torch.tensor([0.0, 3.0, 1.5, 0.25, 9.0, 2.0, 0.0, 4.5])
    levels = (0.5, 0.9, 0.99, 1.0)
    values = multiplier_quantiles(multipliers, levels)
    assert list(values) == ["lambda_q50", "lambda_q90", "lambda_q99", "lambda_max"]
    for level, value in zip(levels, values.values(), strict=True):
        assert value.item() == pytest.approx(np.quantile(multipliers.numpy(), level))
    assert quantile_name(0.999) == "lambda_q99.9"


def test_hardest_positives_are_the_bank_sorted_by_a_naive_loop():
    generator = torch.Generator().manual_seed(0)
    bank = torch.rand(40, generator=generator).round(decimals=1)  # rounding makes ties
    labels = torch.randint(0, 4, (25,), generator=generator)
    sample_ids = torch.randperm(40, generator=generator)[:25]
    ids, critical_labels = constrained_samples(labels, sample_ids, (2, 3))
    expected = [
        (int(sample_ids[index]), int(labels[index]), float(bank[sample_ids[index]]))
        for index in range(25)
        if int(labels[index]) in (2, 3)
    ]
    expected.sort(key=lambda row: (-row[2], row[0]))
    assert hardest_positives(bank, ids, critical_labels, top=6) == expected[:6]
    assert hardest_positives(bank, ids, critical_labels, top=1000) == expected
