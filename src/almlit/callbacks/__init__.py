"""Lightning callbacks of almlit."""

from almlit.callbacks.carry_over_best import CarryOverBest
from almlit.callbacks.deferred_reweighting import DeferredReweighting
from almlit.callbacks.keep_early_stop import KeepEarlyStop
from almlit.callbacks.non_finite import NonFiniteLossCheck
from almlit.callbacks.pair_coverage import PairCoverageReport
from almlit.callbacks.penalty_schedule import PenaltySchedule
from almlit.callbacks.stop_on_signal import StopOnSignal

__all__ = [
    "CarryOverBest",
    "DeferredReweighting",
    "KeepEarlyStop",
    "NonFiniteLossCheck",
    "PairCoverageReport",
    "PenaltySchedule",
    "StopOnSignal",
]
