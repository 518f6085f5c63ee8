"""Lightning callbacks of almlit."""

from almlit.callbacks.deferred_reweighting import DeferredReweighting
from almlit.callbacks.penalty_schedule import PenaltySchedule, default_penalty_cap, should_grow

__all__ = ["DeferredReweighting", "PenaltySchedule", "default_penalty_cap", "should_grow"]
