"""MultiplierBank: lambda per sample id, updated outside autograd, landing on the right ids."""

import pytest
import torch
from torch.utils.data import DataLoader

from almlit.alm import BinaryConstraint, MultiplierBank


def test_updates_land_on_their_ids_across_shuffled_epochs():
    num_samples = 40
    values = torch.linspace(-1, 1, num_samples)
    labels = (torch.arange(num_samples) % 4 == 0).long()
    ids = torch.arange(num_samples) + 100  # ids need not start at 0
    bank = MultiplierBank(num_samples + 100)
    constraint = BinaryConstraint(margin=0.5)
    expected = torch.zeros(num_samples + 100)
    loader = DataLoader(
        list(zip(values, labels, ids, strict=False)),
        batch_size=8,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    mu = 0.25
    for _ in range(3):
        for batch_values, batch_labels, batch_ids in loader:
            violations = constraint(batch_values[:, None], batch_labels)
            bank.update_(batch_ids, mu * violations.values)
            for value, label, sample_id in zip(
                batch_values.tolist(), batch_labels.tolist(), batch_ids.tolist(), strict=False
            ):
                if label == 1:
                    negatives = [
                        v for v, y in zip(batch_values.tolist(), batch_labels.tolist(), strict=False) if y == 0
                    ]
                    expected[sample_id] += mu * sum(max(0.0, 0.5 - (value - n)) for n in negatives)
    torch.testing.assert_close(bank.multipliers, expected)
    assert torch.all(bank.multipliers[ids[labels == 0]] == 0)


def test_lookup_is_a_copy_and_repeated_ids_accumulate():
    bank = MultiplierBank(5)
    looked_up = bank.lookup(torch.tensor([1, 3]))
    bank.update_(torch.tensor([1, 1, 3]), torch.tensor([1.0, 2.0, 4.0]))
    assert looked_up.tolist() == [0.0, 0.0]
    assert bank.multipliers.tolist() == [0.0, 3.0, 0.0, 4.0, 0.0]


def test_bank_is_in_the_state_dict():
    bank = MultiplierBank(3, initial_value=0.5)
    assert bank.state_dict()["multipliers"].tolist() == [0.5, 0.5, 0.5]


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (
            torch.tensor([0, 1], dtype=torch.int32),
            "sample_ids must be a torch.long tensor of dataset sample ids, got torch.int32",
        ),
        ([0, 1], "sample_ids must be a torch.long tensor of dataset sample ids, got list"),
    ],
)
def test_ids_must_be_long(ids, message):
    with pytest.raises(TypeError, match=message):
        MultiplierBank(3).lookup(ids)


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="num_samples must be a positive int, got 0"):
        MultiplierBank(0)
    with pytest.raises(ValueError, match=r"increments must have the shape of sample_ids \(2,\), got \(3,\)"):
        MultiplierBank(3).update_(torch.tensor([0, 1]), torch.ones(3))
