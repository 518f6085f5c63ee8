import pytest
import torch

from almlit.alm import BinaryConstraint, positive_scores


def test_two_output_head_scores_the_second_output():
    outputs = torch.tensor([[0.1, 0.7], [0.3, -0.2]])
    assert positive_scores(outputs).tolist() == pytest.approx([0.7, -0.2])
    assert positive_scores(torch.tensor([[0.5], [1.5]])).tolist() == [0.5, 1.5]


def test_pair_count_and_values_by_hand():
    # scores: positive 0.2, negatives 0.5 and -1; delta 0.1 -> q = max(0, 0.1-(0.2-0.5)) + max(0, 0.1-1.2) = 0.4
    violations = BinaryConstraint(margin=0.1)(torch.tensor([[0.2], [0.5], [-1.0]]), torch.tensor([1, 0, 0]))
    assert violations.values.tolist() == pytest.approx([0.4, 0.0, 0.0])
    assert int(violations.num_pairs) == 2


def test_errors():
    with pytest.raises(ValueError, match=r"alm.constraint.margin \(delta\) must be >= 0, got -1"):
        BinaryConstraint(margin=-1)
    with pytest.raises(ValueError, match="alm=binary needs a binary data set \\(2 classes\\), but the data has 10"):
        BinaryConstraint().check_compatible(10)
