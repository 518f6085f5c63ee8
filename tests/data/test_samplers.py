"""Training samplers: batch composition, coverage, (seed, epoch) determinism, wiring, and the multiplier bank."""

import functools
from collections import Counter

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch import nn

from almlit.alm import BinaryConstraint
from almlit.config import CONFIG_DIR
from almlit.data.indexed import TensorImageDataset
from almlit.data.loaders import TensorDataModule
from almlit.data.samplers import ClassBalancedSampler, DualSampler, EpochShuffleSampler
from almlit.losses import BCELoss
from almlit.module import ALMClassifier

# 7 positives among 57 samples, the positives spread through the dataset
BINARY_LABELS = torch.tensor([1 if position % 8 == 3 else 0 for position in range(57)])


def batches(order, batch_size):
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def make_sampler(kind, labels=BINARY_LABELS, seed=0):
    if kind == "shuffle":
        return EpochShuffleSampler(labels, seed, batch_size=10)
    if kind == "dual":
        return DualSampler(labels, seed, batch_size=10, positive_rate=0.3)
    return ClassBalancedSampler(labels, seed, batch_size=10)


def test_shuffle_is_a_permutation():
    assert sorted(EpochShuffleSampler(BINARY_LABELS, seed=3)) == list(range(57))


def test_dual_batches_hold_round_rate_b_positives_and_every_negative_once():
    sampler = DualSampler(BINARY_LABELS, seed=1, batch_size=10, positive_rate=0.3)
    sampler.set_epoch(2)
    order = list(sampler)
    # By hand: 3 positives + 7 negatives per batch; 50 negatives need ceil(50 / 7) = 8 batches, the last one holding
    # the 50 - 7 * 7 = 1 negative left over; 8 * 3 = 24 positive slots for 7 positives.
    assert len(sampler) == len(order) == 8 * 3 + 50
    assert [len(batch) for batch in batches(order, 10)] == [10] * 7 + [4]
    assert [sum(int(BINARY_LABELS[i]) for i in batch) for batch in batches(order, 10)] == [3] * 8
    counts = Counter(order)
    negatives = [i for i in range(57) if BINARY_LABELS[i] == 0]
    positives = [i for i in range(57) if BINARY_LABELS[i] == 1]
    assert all(counts[i] == 1 for i in negatives)
    assert sorted(counts[i] for i in positives) == [3, 3, 3, 3, 4, 4, 4]  # 24 slots, recycled evenly
    # positives are placed at random within their batch, not always first
    first_positions = [batch.index(next(i for i in batch if BINARY_LABELS[i] == 1)) for batch in batches(order, 10)]
    assert len(set(first_positions)) > 1


@pytest.mark.parametrize(("rate", "batch_size", "per_batch"), [(0.2, 64, 13), (0.5, 8, 4), (0.1, 16, 2)])
def test_dual_positive_count_is_round_rate_times_b(rate, batch_size, per_batch):
    labels = torch.tensor([1] * 5 + [0] * 300)
    order = list(DualSampler(labels, seed=0, batch_size=batch_size, positive_rate=rate))
    assert {sum(int(labels[i]) for i in batch) for batch in batches(order, batch_size)} == {per_batch}
    assert sorted(i for i in order if labels[i] == 0) == list(range(5, 305))


def test_dual_with_more_positives_than_the_rate_covers_each_positive_once():
    labels = torch.tensor([1] * 70 + [0] * 5)
    sampler = DualSampler(labels, seed=0, batch_size=10, positive_rate=0.3)
    order = list(sampler)
    # 70 positives at 3 per batch need ceil(70 / 3) = 24 batches; 24 * 7 = 168 negative slots recycle the 5 negatives
    assert len(sampler) == len(order) == 70 + 24 * 7
    assert sorted(i for i in order if labels[i] == 1) == list(range(70))
    assert [sum(int(labels[i]) for i in batch) for batch in batches(order, 10)] == [3] * 23 + [1]
    assert sorted(Counter(i for i in order if labels[i] == 0).values()) == [33, 33, 34, 34, 34]


def test_dual_on_multiclass_data_takes_the_critical_classes_as_positives():
    labels = torch.arange(10).repeat(20)  # 20 samples of each class 0..9
    sampler = DualSampler(labels, seed=4, batch_size=20, critical_classes=(8, 9), positive_rate=0.25)
    order = list(sampler)
    critical = {i for i in range(200) if int(labels[i]) in (8, 9)}
    # 5 critical + 15 others per batch: 160 others need ceil(160 / 15) = 11 batches
    assert [sum(i in critical for i in batch) for batch in batches(order, 20)] == [5] * 11
    assert sorted(i for i in order if i not in critical) == sorted(set(range(200)) - critical)
    assert critical <= set(order)


def test_class_balanced_frequencies_are_close_to_uniform():
    labels = torch.tensor([0] * 500 + [1] * 50 + [2] * 5)
    sampler = ClassBalancedSampler(labels, seed=0, num_samples=30000)
    order = list(sampler)
    assert len(order) == len(sampler) == 30000
    frequencies = torch.bincount(labels[order], minlength=3).double() / 30000
    # binomial standard deviation sqrt(1/3 * 2/3 / 30000) = 0.0027; 0.015 is more than five of them
    assert torch.allclose(frequencies, torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.015)
    # within a class the samples are recycled evenly: counts differ by at most one
    counts = Counter(order)
    for class_id in range(3):
        members = [counts[i] for i in range(len(labels)) if labels[i] == class_id]
        assert max(members) - min(members) <= 1


def test_class_balanced_epoch_is_the_dataset_size_by_default():
    sampler = ClassBalancedSampler(BINARY_LABELS, seed=0)
    assert len(sampler) == len(list(sampler)) == 57


@pytest.mark.parametrize("kind", ["shuffle", "dual", "class_balanced"])
def test_order_depends_only_on_seed_and_epoch(kind):
    sampler = make_sampler(kind, seed=3)
    sampler.set_epoch(4)
    first = list(sampler)
    torch.rand(1000)  # global RNG use in between must not matter
    other = make_sampler(kind, seed=3)
    other.set_epoch(4)
    assert list(other) == first
    other.set_epoch(5)
    assert list(other) != first
    assert list(make_sampler(kind, seed=4)) != list(make_sampler(kind, seed=3))


@pytest.mark.parametrize("kind", ["shuffle", "dual"])
def test_every_sample_appears_every_epoch(kind):
    sampler = make_sampler(kind)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        assert set(sampler) == set(range(57))


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"positive_rate": 1.5}, ValueError, r"sampler.positive_rate must be in \(0, 1\), got 1.5"),
        ({"positive_rate": 0.0}, ValueError, r"sampler.positive_rate must be in \(0, 1\), got 0.0"),
        ({"positive_rate": "high"}, ValueError, r"sampler.positive_rate must be in \(0, 1\), got high"),
        ({"positive_rate": 0.04}, ValueError, r"positive_rate=0.04 leaves no positive in a batch of 10 .*= 0\)"),
        ({"positive_rate": 0.97}, ValueError, r"positive_rate=0.97 leaves no negative in a batch of 10 .*= 10\)"),
        ({"labels": torch.zeros(20, dtype=torch.long)}, ValueError, r"needs at least one positive .* got none"),
        ({"labels": torch.ones(20, dtype=torch.long)}, ValueError, r"needs at least one negative .* got none"),
        ({"labels": torch.tensor([0, 1, -1])}, ValueError, r"class ids >= 0, got -1"),
        ({"labels": torch.tensor([0.0, 1.0])}, TypeError, r"integer tensor of class ids, got torch.float32"),
        ({"labels": torch.zeros(2, 2, dtype=torch.long)}, ValueError, r"non-empty 1-D tensor, got shape \(2, 2\)"),
    ],
)
def test_dual_bad_input_gets_one_clear_line(arguments, error, message):
    settings = {"labels": BINARY_LABELS, "seed": 0, "batch_size": 10, "positive_rate": 0.3, **arguments}
    with pytest.raises(error, match=message):
        DualSampler(**settings)


def test_class_balanced_rejects_an_empty_epoch():
    with pytest.raises(ValueError, match=r"sampler.num_samples must be >= 1 or null .*, got 0"):
        ClassBalancedSampler(BINARY_LABELS, seed=0, num_samples=0)


class FewPositives(TensorDataModule):
    """20 samples, 2 positives, with sample ids unrelated to positions (id = 100 + 7 * (19 - position))."""

    critical_classes = (1,)

    def __init__(self, sampler=None) -> None:
        super().__init__(batch_size=8, eval_batch_size=8, seed=5, sampler=sampler)
        labels = torch.tensor([1 if position in (4, 13) else 0 for position in range(20)])
        images = torch.arange(20 * 3, dtype=torch.float32).reshape(20, 1, 3, 1, 1) / 60
        sample_ids = 100 + 7 * (19 - torch.arange(20))
        self.train_dataset = TensorImageDataset(images, labels, sample_ids)


def test_the_loader_serves_the_sampler_order_as_sample_ids():
    datamodule = FewPositives(functools.partial(DualSampler, positive_rate=0.5))
    loader = datamodule.train_dataloader()
    assert isinstance(loader.sampler, DualSampler) and loader.sampler.seed == 5
    for _, labels, sample_ids in loader:
        # 4 positive slots per batch of 8, filled by the ids of the two positives (positions 4 and 13)
        assert int(labels.sum()) == 4
        assert set(sample_ids[labels == 1].tolist()) <= {100 + 7 * 15, 100 + 7 * 6}
    assert isinstance(FewPositives().train_dataloader().sampler, EpochShuffleSampler)


def test_repeated_ids_in_a_batch_add_their_increments_to_lambda_by_id():
    datamodule = FewPositives(functools.partial(DualSampler, positive_rate=0.5))
    images, labels, sample_ids = next(iter(datamodule.train_dataloader()))
    assert len(sample_ids[labels == 1].unique()) < int(labels.sum())  # a positive appears twice in this batch
    torch.manual_seed(0)
    network = nn.Sequential(nn.Flatten(), nn.Linear(3, 1))
    module = ALMClassifier(
        network, BCELoss(), functools.partial(torch.optim.SGD, lr=0.1), BinaryConstraint(margin=1.0), 300, 0.5
    )
    module.bank.multipliers[100 + 7 * 15] = 2.0  # lambda of the positive at position 4, by its id
    loss, terms = module.training_loss((images, labels, sample_ids))
    scores = network(images).squeeze(1).detach().tolist()
    # Reference: a loop over the batch's entries; each positive entry j has q_j over the negative entries k.
    rows = range(len(labels))
    negatives = [k for k in rows if labels[k] == 0]
    violations = {j: sum(max(0.0, 1.0 - (scores[j] - scores[k])) for k in negatives) for j in rows if labels[j] == 1}
    start = {100 + 7 * 15: 2.0}
    expected_multiplier_term = sum(start.get(int(sample_ids[j]), 0.0) * q for j, q in violations.items())
    expected = torch.zeros(300)
    expected[100 + 7 * 15] = 2.0
    for j, q in violations.items():
        expected[int(sample_ids[j])] += 0.5 * q
    num_pairs = len(violations) * len(negatives)
    assert float(terms["multiplier_term"].detach()) == pytest.approx(expected_multiplier_term / num_pairs, rel=1e-5)
    torch.testing.assert_close(module.bank.multipliers, expected)
    assert module.bank.multipliers[4] == 0 and module.bank.multipliers[13] == 0  # positions are not ids


@pytest.mark.parametrize("data", ["digits", "cifar10", "cifar100", "cifar10_lt", "cifar100_lt", "mri"])
@pytest.mark.parametrize(
    ("choice", "target", "setting"),
    [
        ("shuffle", EpochShuffleSampler, {}),
        ("dual", DualSampler, {"positive_rate": 0.2}),
        ("class_balanced", ClassBalancedSampler, {"num_samples": None}),
    ],
)
def test_every_data_config_takes_the_sampler_group(data, choice, target, setting):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        config = compose(
            "train",
            overrides=[
                f"data={data}",
                f"sampler={choice}",
                *(f"sampler.{key}={'null' if value is None else value}" for key, value in setting.items()),
            ],
        )
    datamodule = instantiate(config.data)
    assert datamodule.sampler.func is target and datamodule.sampler.keywords == setting


def test_one_epoch_with_the_dual_sampler_on_digits(train, tmp_path):
    result = train("sampler=dual", "sampler.positive_rate=0.3", "trainer.max_epochs=1", "hydra.run.dir=run")
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "run" / "config.yaml").read_text()
    assert "_target_: almlit.data.samplers.DualSampler" in config and "positive_rate: 0.3" in config


@pytest.mark.slow  # a subprocess; the catalogue (tests/catalogue) checks the same message in process in the fast suite
def test_a_bad_rate_fails_with_one_line_and_leaves_no_run_folder(train_command, tmp_path):
    result = train_command("sampler=dual", "sampler.positive_rate=1.5", "hydra.run.dir=run")
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last == "almlit: error: sampler.positive_rate must be in (0, 1), got 1.5", result.stderr
    assert not (tmp_path / "run").exists()
