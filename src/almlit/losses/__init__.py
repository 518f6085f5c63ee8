"""Base losses, one module per family, each holding its pure functions and then the ``nn.Module`` shells that the
``loss=`` config group builds: :mod:`~almlit.losses.binary` (one logit: BCE, margin and focal losses, W-BCE, CB-BCE),
:mod:`~almlit.losses.multiclass` (C outputs: CE, FL, LDAM, CB-CE), :mod:`~almlit.losses.auc_surrogates` (MBAUC,
AUCM, partial AUC) and :mod:`~almlit.losses.long_tail` (VS, logit adjustment, Balanced Softmax);
:mod:`~almlit.losses.class_weights` computes per-class weights from the class counts, and
:mod:`~almlit.losses.libauc_adapter` wraps LibAUC's AUCM loss. The modules are exported here, and the configs name
them by these short paths (``almlit.losses.BCELoss``)."""

from almlit.losses import auc_surrogates, binary, class_weights, long_tail, multiclass
from almlit.losses._checks import ClassCounts
from almlit.losses.auc_surrogates import AUCMLoss, MiniBatchAUCLoss, OneWayPartialAUCLoss, TwoWayPartialAUCLoss
from almlit.losses.binary import (
    AsymmetricFocalLoss,
    AsymmetricMarginLoss,
    BCELoss,
    ClassBalancedBCELoss,
    SymmetricFocalLoss,
    SymmetricMarginLoss,
    WeightedBCELoss,
)
from almlit.losses.long_tail import BalancedSoftmaxLoss, LogitAdjustedLoss, VSLoss
from almlit.losses.multiclass import ClassBalancedCELoss, CrossEntropyLoss, FocalLoss, LDAMLoss

__all__ = [
    "AUCMLoss",
    "AsymmetricFocalLoss",
    "AsymmetricMarginLoss",
    "BCELoss",
    "BalancedSoftmaxLoss",
    "ClassBalancedBCELoss",
    "ClassBalancedCELoss",
    "ClassCounts",
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
    "binary",
    "class_weights",
    "long_tail",
    "multiclass",
]
