"""Dotted paths of classes that moved, old -> new, so that a run folder written before the move, whose
config.yaml names a class by its old ``_target_``, is still recognised as the same configuration.

The loss classes moved when ``almlit.losses`` became one module per family (``modules``, ``auc_modules`` and
``long_tail_modules`` merged into ``binary``, ``multiclass``, ``auc_surrogates`` and ``long_tail``); their short
paths ``almlit.losses.<Class>``, which the shipped configs name, did not change.
"""

MOVED_TARGETS = {
    "almlit.losses.auc_modules.AUCMLoss": "almlit.losses.auc_surrogates.AUCMLoss",
    "almlit.losses.auc_modules.OneWayPartialAUCLoss": "almlit.losses.auc_surrogates.OneWayPartialAUCLoss",
    "almlit.losses.auc_modules.TwoWayPartialAUCLoss": "almlit.losses.auc_surrogates.TwoWayPartialAUCLoss",
    "almlit.losses.long_tail_modules.BalancedSoftmaxLoss": "almlit.losses.long_tail.BalancedSoftmaxLoss",
    "almlit.losses.long_tail_modules.LogitAdjustedLoss": "almlit.losses.long_tail.LogitAdjustedLoss",
    "almlit.losses.long_tail_modules.VSLoss": "almlit.losses.long_tail.VSLoss",
    "almlit.losses.modules.AsymmetricFocalLoss": "almlit.losses.binary.AsymmetricFocalLoss",
    "almlit.losses.modules.AsymmetricMarginLoss": "almlit.losses.binary.AsymmetricMarginLoss",
    "almlit.losses.modules.BCELoss": "almlit.losses.binary.BCELoss",
    "almlit.losses.modules.ClassBalancedBCELoss": "almlit.losses.binary.ClassBalancedBCELoss",
    "almlit.losses.modules.ClassBalancedCELoss": "almlit.losses.multiclass.ClassBalancedCELoss",
    "almlit.losses.modules.CrossEntropyLoss": "almlit.losses.multiclass.CrossEntropyLoss",
    "almlit.losses.modules.FocalLoss": "almlit.losses.multiclass.FocalLoss",
    "almlit.losses.modules.LDAMLoss": "almlit.losses.multiclass.LDAMLoss",
    "almlit.losses.modules.MiniBatchAUCLoss": "almlit.losses.auc_surrogates.MiniBatchAUCLoss",
    "almlit.losses.modules.SymmetricFocalLoss": "almlit.losses.binary.SymmetricFocalLoss",
    "almlit.losses.modules.SymmetricMarginLoss": "almlit.losses.binary.SymmetricMarginLoss",
    "almlit.losses.modules.WeightedBCELoss": "almlit.losses.binary.WeightedBCELoss",
}
