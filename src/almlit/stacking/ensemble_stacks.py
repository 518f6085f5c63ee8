"""The members of an ensemble trained in stacks (``python -m almlit.ensemble ... ensemble.stack=K``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from almlit.report.ensemble_members import compose_member, is_launch_override, resolve_member
from almlit.report.ensemble_report import member_dir
from almlit.stacking.plan import stack_groups
from almlit.stacking.run import train_stacks


def train_stacked_members(overrides: Sequence[str], seeds: Sequence[int], ensemble_dir: Path, stack: int) -> None:
    """Train the members ``seeds`` in stacks of at most ``stack`` (:mod:`almlit.stacking`), one stack after another.

    A member interrupted earlier (its ``checkpoints/last.ckpt``, written by a stack or by a run trained alone)
    resumes from it within its stack.
    """
    training = [override for override in overrides if not is_launch_override(override)]
    for group in stack_groups(list(seeds), stack):
        run_dirs = [member_dir(ensemble_dir, seed) for seed in group]
        configs = [
            resolve_member(compose_member(training, seed=seed), run_dir)
            for seed, run_dir in zip(group, run_dirs, strict=True)
        ]
        train_stacks(configs, run_dirs, [[*training, f"seed={seed}"] for seed in group])
