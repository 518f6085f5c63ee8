"""The Augmented Lagrangian: pure maths, the multiplier bank (lambda), mu's growth rule and the constraint variants."""

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
from almlit.alm.penalty import PenaltyGrowth, default_penalty_cap, should_grow

__all__ = [
    "BinaryConstraint",
    "MultiClassConstraint",
    "MultiplierBank",
    "PenaltyGrowth",
    "Violations",
    "augmented_terms",
    "binary_pair_hinges",
    "binary_violations",
    "check_sample_ids",
    "default_penalty_cap",
    "multiclass_pair_hinges",
    "multiclass_violations",
    "pairwise_hinge",
    "positive_negative_pairs",
    "positive_scores",
    "should_grow",
]
