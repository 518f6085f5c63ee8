"""Multi-class constraints ALM_m1 (Eq. 6) and ALM_m2 (Eq. 7) against naive loops written out here."""

import math

import pytest
import torch
from hydra.utils import instantiate

from almlit.alm import MultiClassConstraint, augmented_terms

NUM_CLASSES = 5


def naive_softmax(row: list[float]) -> list[float]:
    exponentials = [math.exp(value) for value in row]
    return [value / math.fsum(exponentials) for value in exponentials]


def naive_violations(outputs, targets, critical_classes, margin, variant, score):
    """q_cj of Eq. 6 / Eq. 7 with one Python loop per sum of the paper."""
    rows = [naive_softmax(row) if score == "probability" else row for row in outputs.tolist()]
    labels = targets.tolist()
    violations = []
    for j, c in enumerate(labels):
        q = 0.0
        if c in critical_classes:
            for k, i in enumerate(labels):
                if i in critical_classes:
                    continue
                q += max(0.0, -(rows[j][c] - rows[k][c]) + margin)
                if variant == "m2":
                    q += max(0.0, (rows[j][i] - rows[k][i]) + margin)
        violations.append(q)
    num_critical = sum(label in critical_classes for label in labels)
    return violations, num_critical * (len(labels) - num_critical)


def random_batch(seed: int, critical_classes, batch_size: int = 24):
    generator = torch.Generator().manual_seed(seed)
    outputs = 2 * torch.randn(batch_size, NUM_CLASSES, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, NUM_CLASSES, (batch_size,), generator=generator)
    targets[0] = critical_classes[0]  # at least one critical and one non-critical sample
    targets[1] = next(c for c in range(NUM_CLASSES) if c not in critical_classes)
    return outputs, targets


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("critical_classes", [(4,), (1, 3)])
@pytest.mark.parametrize("margin", [0.0, 0.3])
@pytest.mark.parametrize("score", ["probability", "logit"])
@pytest.mark.parametrize("variant", ["m1", "m2"])
def test_violations_equal_the_loops_of_eq_6_and_7(seed, critical_classes, margin, score, variant):
    outputs, targets = random_batch(seed, critical_classes)
    constraint = MultiClassConstraint(critical_classes, margin=margin, variant=variant, score=score)
    violations = constraint(outputs, targets)
    expected, num_pairs = naive_violations(outputs, targets, critical_classes, margin, variant, score)
    assert violations.values.tolist() == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert int(violations.num_pairs) == num_pairs
    assert any(value > 0 for value in expected)


def test_hand_value_of_one_pair():
    # logits; critical sample (class 2): [0.1, 0.2, 0.5]; non-critical sample (class 0): [0.9, 0.0, 0.4]; delta 0.3
    # Eq. 6: max(0, 0.3 - (0.5 - 0.4)) = 0.2; Eq. 7 adds max(0, (0.1 - 0.9) + 0.3) = 0
    # and a second, more confused pair member makes the Eq. 7 term active: non-critical class 1 with f_1 = -0.5:
    # Eq. 6: max(0, 0.3 - (0.5 - 0.0)) = 0; Eq. 7: max(0, (0.2 - (-0.5)) + 0.3) = 1.0
    outputs = torch.tensor([[0.1, 0.2, 0.5], [0.9, 0.0, 0.4], [0.3, -0.5, 0.0]])
    targets = torch.tensor([2, 0, 1])
    m1 = MultiClassConstraint([2], margin=0.3, variant="m1", score="logit")(outputs, targets)
    m2 = MultiClassConstraint([2], margin=0.3, variant="m2", score="logit")(outputs, targets)
    assert m1.values.tolist() == pytest.approx([0.2, 0.0, 0.0])
    assert m2.values.tolist() == pytest.approx([1.2, 0.0, 0.0])
    assert int(m1.num_pairs) == int(m2.num_pairs) == 2


def gradient_of_total_violation(constraint, outputs, targets):
    outputs = outputs.clone().requires_grad_(True)
    constraint(outputs, targets).values.sum().backward()
    return outputs.grad


def test_m1_logit_gradient_reaches_only_critical_columns():
    critical_classes = (1, 3)
    outputs, targets = random_batch(0, critical_classes)
    constraint = MultiClassConstraint(critical_classes, margin=1.0, variant="m1", score="logit")
    gradient = gradient_of_total_violation(constraint, outputs, targets)
    non_critical_columns = [c for c in range(NUM_CLASSES) if c not in critical_classes]
    assert torch.all(gradient[:, non_critical_columns] == 0)
    assert torch.any(gradient[:, list(critical_classes)] != 0)
    # a critical sample's row moves only on its own class's column
    for j, c in enumerate(targets.tolist()):
        if c in critical_classes:
            assert torch.all(gradient[j, [column for column in range(NUM_CLASSES) if column != c]] == 0)


def test_m2_logit_gradient_stays_off_classes_absent_from_the_batch():
    critical_classes = (4,)
    outputs, targets = random_batch(1, critical_classes)
    targets[targets == 2] = 0  # class 2 absent
    constraint = MultiClassConstraint(critical_classes, margin=1.0, variant="m2", score="logit")
    gradient = gradient_of_total_violation(constraint, outputs, targets)
    assert torch.all(gradient[:, 2] == 0)
    assert torch.any(gradient[:, 0] != 0) and torch.any(gradient[:, 4] != 0)


@pytest.mark.parametrize("variant", ["m1", "m2"])
@pytest.mark.parametrize("score", ["probability", "logit"])
@pytest.mark.parametrize("labels", [[0, 2, 2, 4, 0], [1, 3, 3, 1, 1]])
def test_batch_without_pairs_gives_zeros_and_zero_gradients(labels, score, variant):
    outputs = torch.randn(5, NUM_CLASSES, requires_grad=True)
    violations = MultiClassConstraint((1, 3), margin=0.5, variant=variant, score=score)(outputs, torch.tensor(labels))
    penalty_term, multiplier_term = augmented_terms(
        violations.values, torch.ones(5), torch.tensor(1.0), violations.num_pairs
    )
    (penalty_term + multiplier_term).backward()
    assert torch.equal(violations.values, torch.zeros(5)) and int(violations.num_pairs) == 0
    assert penalty_term.item() == 0.0 and multiplier_term.item() == 0.0
    assert torch.equal(outputs.grad, torch.zeros(5, NUM_CLASSES))


def test_hydra_builds_the_constraint_from_config_lists():
    constraint = instantiate(
        {"_target_": "almlit.alm.MultiClassConstraint", "critical_classes": [9], "margin": 0.1, "variant": "m2"}
    )
    constraint.check_compatible(10)
    assert constraint.critical_class_ids == (9,) and constraint.score == "probability"
    assert constraint.state_dict() == {}  # rebuilt from the config, not read from checkpoints
    assert constraint.to(torch.float64).critical_classes.dtype == torch.long


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"critical_classes": []}, r"alm.constraint.critical_classes must be a non-empty list .* got \[\]"),
        ({"critical_classes": [2, 2]}, r"distinct class ids >= 0, got \[2, 2\]"),
        ({"critical_classes": [-1]}, r"distinct class ids >= 0, got \[-1\]"),
        ({"critical_classes": [1.5]}, r"distinct class ids >= 0, got \[1.5\]"),
        ({"critical_classes": [1], "margin": -0.1}, r"alm.constraint.margin \(delta\) must be >= 0, got -0.1"),
        ({"critical_classes": [1], "variant": "m3"}, r"alm.constraint.variant must be one of \('m1', 'm2'\), got 'm3'"),
        (
            {"critical_classes": [1], "score": "prob"},
            r"alm.constraint.score must be one of \('probability', 'logit'\), got 'prob'",
        ),
    ],
)
def test_construction_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiClassConstraint(**kwargs)


@pytest.mark.parametrize(
    ("critical_classes", "variant", "num_classes", "message"),
    [
        (
            [1],
            "m1",
            2,
            r"alm=m1 needs a multi-class data set \(>= 3 classes\), but the data has 2 classes; use alm=binary",
        ),
        ([1], "m2", 2, r"alm=m2 needs a multi-class data set"),
        ([3, 10], "m1", 10, r"data.critical_classes must hold class ids in 0..9 for alm=m1, got \[3, 10\]"),
        ([0, 1, 2], "m2", 3, r"alm=m2 needs at least one non-critical class, .* \[0, 1, 2\] covers all 3 classes"),
    ],
)
def test_incompatible_data_is_refused(critical_classes, variant, num_classes, message):
    with pytest.raises(ValueError, match=message):
        MultiClassConstraint(critical_classes, variant=variant).check_compatible(num_classes)


def test_targets_must_be_long():
    with pytest.raises(TypeError, match="targets must be a torch.long tensor of class indices, got torch.int32"):
        MultiClassConstraint([1])(torch.zeros(2, 3), torch.tensor([0, 1], dtype=torch.int32))
