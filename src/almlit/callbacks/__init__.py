"""Lightning callbacks of almlit."""

from almlit.callbacks.penalty_schedule import PenaltySchedule, default_penalty_cap, should_grow

__all__ = ["PenaltySchedule", "default_penalty_cap", "should_grow"]
