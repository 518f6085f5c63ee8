"""Stacked members: K networks of one architecture trained as one batched model in one process (issue 18).

Each member keeps everything it has when trained alone (its data split, batch order and augmentation, optimiser
state, multiplier bank, mu schedule, best checkpoint and early stopping) and ends as an ordinary run folder; only the
forward and backward passes are batched over the members (``torch.func.functional_call`` under ``torch.func.vmap`` on
CUDA; on a CPU the members' networks run in turn within the same step, see :mod:`almlit.stacking.forward`).
"""

from almlit.stacking.plan import check_stack_size, stack_groups

__all__ = ["check_stack_size", "stack_groups"]
