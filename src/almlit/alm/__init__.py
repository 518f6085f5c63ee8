"""The Augmented Lagrangian: pure maths, the multiplier bank and the constraint variants."""

from almlit.alm.bank import MultiplierBank, check_sample_ids
from almlit.alm.constraints import BinaryConstraint, Violations, positive_scores
from almlit.alm.functional import augmented_terms, binary_violations, pairwise_hinge

__all__ = [
    "BinaryConstraint",
    "MultiplierBank",
    "Violations",
    "augmented_terms",
    "binary_violations",
    "check_sample_ids",
    "pairwise_hinge",
    "positive_scores",
]
