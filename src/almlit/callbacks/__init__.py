"""Lightning callbacks of almlit."""

from almlit.callbacks.deferred_reweighting import DeferredReweighting
from almlit.callbacks.non_finite import NonFiniteLossCheck
from almlit.callbacks.pair_coverage import PairCoverageReport
from almlit.callbacks.penalty_schedule import PenaltySchedule, default_penalty_cap, should_grow

__all__ = [
    "DeferredReweighting",
    "NonFiniteLossCheck",
    "PairCoverageReport",
    "PenaltySchedule",
    "default_penalty_cap",
    "should_grow",
]
