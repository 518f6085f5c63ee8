"""The Augmented Lagrangian: pure maths, the multiplier bank and the constraint variants."""

from almlit.alm.bank import MultiplierBank, check_sample_ids
from almlit.alm.constraints import BinaryConstraint, MultiClassConstraint, Violations, positive_scores
from almlit.alm.functional import (
    augmented_terms,
    binary_pair_hinges,
    binary_violations,
    multiclass_pair_hinges,
    multiclass_violations,
    pairwise_hinge,
    positive_negative_pairs,
)

__all__ = [
    "BinaryConstraint",
    "MultiClassConstraint",
    "MultiplierBank",
    "Violations",
    "augmented_terms",
    "binary_pair_hinges",
    "binary_violations",
    "check_sample_ids",
    "multiclass_pair_hinges",
    "multiclass_violations",
    "pairwise_hinge",
    "positive_negative_pairs",
    "positive_scores",
]
