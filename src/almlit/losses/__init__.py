"""Base losses: pure functions in :mod:`almlit.losses.functional`, ``nn.Module`` wrappers exported here."""

from almlit.losses import functional
from almlit.losses.modules import (
    AsymmetricFocalLoss,
    AsymmetricMarginLoss,
    BCELoss,
    ClassBalancedBCELoss,
    ClassBalancedCELoss,
    CrossEntropyLoss,
    FocalLoss,
    LDAMLoss,
    MiniBatchAUCLoss,
    SymmetricFocalLoss,
    SymmetricMarginLoss,
    WeightedBCELoss,
)

__all__ = [
    "AsymmetricFocalLoss",
    "AsymmetricMarginLoss",
    "BCELoss",
    "ClassBalancedBCELoss",
    "ClassBalancedCELoss",
    "CrossEntropyLoss",
    "FocalLoss",
    "LDAMLoss",
    "MiniBatchAUCLoss",
    "SymmetricFocalLoss",
    "SymmetricMarginLoss",
    "WeightedBCELoss",
    "functional",
]
