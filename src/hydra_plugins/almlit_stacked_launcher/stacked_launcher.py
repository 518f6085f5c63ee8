"""``hydra/launcher=stacked``: the jobs of a sweep trained as stacks (:mod:`almlit.stacking.launcher`).

Hydra imports every module of ``hydra_plugins`` at each start, so this one imports almlit only when a sweep launches.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class StackedLauncher(Launcher):
    """Hydra launcher training a sweep's jobs as stacks of at most ``stack`` (``hydra.launcher.stack``)."""

    def __init__(self, stack: int = 8) -> None:
        super().__init__()
        self.stack = stack
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from almlit.errors import one_line_errors
        from almlit.stacking.plan import check_stack_size

        with one_line_errors():  # before the sweeper writes the sweep folder's multirun.yaml
            check_stack_size(self.stack, "hydra.launcher.stack")
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from almlit.stacking.launcher import Sweep, launch_stacked

        assert self.config is not None and self.hydra_context is not None and self.task_function is not None
        sweep = Sweep(self.config, self.hydra_context, self.task_function)
        return launch_stacked(sweep, job_overrides, initial_job_idx, self.stack)
