"""Base losses: pure functions in :mod:`almlit.losses.functional`, :mod:`~almlit.losses.auc_surrogates` and
:mod:`~almlit.losses.long_tail`; their ``nn.Module`` wrappers are exported here."""

from almlit.losses import auc_surrogates, functional, long_tail
from almlit.losses.auc_modules import AUCMLoss, OneWayPartialAUCLoss, TwoWayPartialAUCLoss
from almlit.losses.long_tail_modules import BalancedSoftmaxLoss, LogitAdjustedLoss, VSLoss
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
    "AUCMLoss",
    "AsymmetricFocalLoss",
    "AsymmetricMarginLoss",
    "BCELoss",
    "BalancedSoftmaxLoss",
    "ClassBalancedBCELoss",
    "ClassBalancedCELoss",
    "CrossEntropyLoss",
    "FocalLoss",
    "LDAMLoss",
    "LogitAdjustedLoss",
    "MiniBatchAUCLoss",
    "OneWayPartialAUCLoss",
    "SymmetricFocalLoss",
    "SymmetricMarginLoss",
    "TwoWayPartialAUCLoss",
    "VSLoss",
    "WeightedBCELoss",
    "auc_surrogates",
    "functional",
    "long_tail",
]
