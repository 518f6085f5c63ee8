"""The Augmented Lagrangian: pure maths, the multiplier bank and the constraint variants."""

from almlit.alm.bank import MultiplierBank, check_sample_ids
from almlit.alm.constraints import BinaryConstraint, MultiClassConstraint, Violations, positive_scores
from almlit.alm.functional import augmented_terms, binary_violations, multiclass_violations, pairwise_hinge

__all__ = [
    "BinaryConstraint",
    "MultiClassConstraint",
    "MultiplierBank",
    "Violations",
    "augmented_terms",
    "binary_violations",
    "check_sample_ids",
    "multiclass_violations",
    "pairwise_hinge",
    "positive_scores",
]
