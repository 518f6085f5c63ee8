"""Optimisers beyond ``torch.optim``: PESG for min-max AUC losses, and the parameter groups every run uses."""

from almlit.optim.groups import build_optimizer, parameter_groups
from almlit.optim.pesg import PESG
from almlit.optim.stages import PESGStages

__all__ = ["PESG", "PESGStages", "build_optimizer", "parameter_groups"]
