"""The jobs of a sweep trained as stacks: ``python -m almlit.train -m ... hydra/launcher=stacked``.

Hydra's sweeper expands the grid into job override lists and hands them all to the launcher's ``launch``
(``hydra_plugins.almlit_stacked_launcher``: Hydra instantiates launchers from that package only), which calls
:func:`launch_stacked`. Each
job's config is composed as Hydra's ``BasicLauncher`` composes it (``load_sweep_config``, ``hydra.job.id``/``num``)
and its folder is ``hydra.sweep.dir``/``hydra.sweep.subdir`` as ``hydra.core.utils.run_job`` resolves them, so the
job folders, ``config.yaml`` and ``.hydra/overrides.yaml`` are those of a sweep run one job at a time. Then, per job
(:func:`almlit.runs.resume.plan_start`, as ``almlit.train`` decides):

- finished, or with a setting a stack cannot reproduce (:func:`almlit.stacking.plan.unsupported_settings`): run
  alone, as the basic launcher runs it (a finished job is skipped with the usual line);
- the others, interrupted ones included (they resume from their ``checkpoints/last.ckpt`` within their stack):
  grouped by architecture and batch shape (:func:`almlit.stacking.plan.architecture_differences`), each
  group cut into stacks of at most ``stack`` jobs in grid order, trained with :func:`almlit.stacking.run.train_stacks`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from almlit.errors import TrainingFailure, one_line_errors
from almlit.report.ensemble_members import resolve_member
from almlit.report.run_results import print_summary
from almlit.runs.resume import plan_start
from almlit.stacking.plan import architecture_differences, check_stack_size, stack_groups, unsupported_settings

log = logging.getLogger(__name__)


@dataclass
class SweepJob:
    """One job of the sweep.

    Attributes:
        index: its number in the sweep (``hydra.job.num``).
        config: its composed config, ``hydra`` node included, ``hydra.runtime.output_dir`` set.
        run_dir: its folder (absolute).
        resolved: its resolved training config (``config.yaml``).
    """

    index: int
    config: DictConfig
    run_dir: Path
    resolved: dict[str, Any]


def job_dir(config: DictConfig) -> Path:
    """``hydra.sweep.dir``/``hydra.sweep.subdir`` of a job's config, absolute, as ``hydra.core.utils.run_job``
    resolves them (with the job's config as Hydra's config: ``${almlit.job_folder:${hydra.overrides.task}}``)."""
    HydraConfig.instance().set_config(config)
    folder = os.path.join(str(OmegaConf.select(config, "hydra.sweep.dir")), str(config.hydra.sweep.subdir))
    return Path(os.path.abspath(folder))


def stack_plan(jobs: Sequence[SweepJob], stack: int) -> list[list[SweepJob]]:
    """The stacks of ``jobs``: jobs of one architecture and batch shape together, in grid order, at most ``stack``
    per stack; a group's stacks come one after another, groups in the order of their first job."""
    groups: list[list[SweepJob]] = []
    for job in jobs:
        group = next((group for group in groups if not architecture_differences(group[0].resolved, job.resolved)), None)
        if group is None:
            groups.append([job])
        else:
            group.append(job)
    return [[group[index] for index in part] for group in groups for part in stack_groups(range(len(group)), stack)]


@dataclass
class Sweep:
    """What Hydra gives a launcher: the sweep's config, its context and ``almlit.train``'s task function."""

    config: DictConfig
    hydra_context: HydraContext
    task_function: TaskFunction


def launch_stacked(
    sweep: Sweep, job_overrides: Sequence[Sequence[str]], initial_job_idx: int, stack: int
) -> list[JobReturn]:
    """Run every job of the batch: alone (as Hydra's ``BasicLauncher``) or in stacks of at most ``stack``; returns
    their ``JobReturn`` in the sweep's order.

    Raises:
        SystemExit: status 2 with one line, for a bad ``stack`` or a job that cannot be trained (as ``almlit.train``).
    """
    with one_line_errors():
        stack = check_stack_size(stack, "hydra.launcher.stack")
    setup_globals()
    configure_log(sweep.config.hydra.hydra_logging, sweep.config.hydra.verbose)
    Path(str(sweep.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
    with one_line_errors():
        jobs = [sweep_job(sweep, overrides, initial_job_idx + index) for index, overrides in enumerate(job_overrides)]
        stacking = [stackable(job) for job in jobs]
    stacked = [job for job, stacks in zip(jobs, stacking, strict=True) if stacks]
    returns = {job.index: run_alone(sweep, job) for job, stacks in zip(jobs, stacking, strict=True) if not stacks}
    stacks = stack_plan(stacked, stack)
    if stacks:
        sizes = ", ".join(str(len(part)) for part in stacks)
        print(f"training {len(stacked)} of {len(jobs)} jobs as stacks of {sizes}", flush=True)
    for part in stacks:
        returns.update(run_stack(part))
    configure_log(sweep.config.hydra.hydra_logging, sweep.config.hydra.verbose)
    return [returns[job.index] for job in jobs]


def sweep_job(sweep: Sweep, overrides: Sequence[str], index: int) -> SweepJob:
    """The job of ``overrides``, composed as Hydra's ``BasicLauncher`` composes it."""
    config = sweep.hydra_context.config_loader.load_sweep_config(sweep.config, list(overrides))
    with open_dict(config):
        config.hydra.job.id = index
        config.hydra.job.num = index
    run_dir = job_dir(config)
    with read_write(config.hydra.runtime), open_dict(config.hydra.runtime):
        config.hydra.runtime.output_dir = str(run_dir)
    return SweepJob(index, config, run_dir, resolve_member(config, run_dir))


def stackable(job: SweepJob) -> bool:
    """Whether ``job`` trains in a stack: it is not finished and a stack reproduces all its settings (an interrupted
    job resumes from its ``checkpoints/last.ckpt`` in the stack).

    Raises:
        ValueError: if its folder holds a run of another configuration (:func:`almlit.runs.resume.check_same_run`).
    """
    start = plan_start(job.run_dir, job.resolved, job.resolved.get("ckpt_path"))
    return not start.finished and not unsupported_settings(job.resolved)


def run_alone(sweep: Sweep, job: SweepJob) -> JobReturn:
    """``job`` run by ``almlit.train``'s task function, as Hydra's ``BasicLauncher`` runs it."""
    log.info(f"\t#{job.index} : {' '.join(filter_overrides(job.config.hydra.overrides.task))}")
    returned = run_job(
        hydra_context=sweep.hydra_context,
        task_function=sweep.task_function,
        config=job.config,
        job_dir_key="hydra.sweep.dir",
        job_subdir_key="hydra.sweep.subdir",
    )
    configure_log(sweep.config.hydra.hydra_logging, sweep.config.hydra.verbose)
    return returned


def run_stack(jobs: Sequence[SweepJob]) -> dict[int, JobReturn]:
    """Train ``jobs`` as one stack (:func:`~almlit.stacking.run.train_stacks`, split in halves if it does not fit) and
    print each one's summary as ``almlit.train`` does; returns their ``JobReturn`` by job number."""
    from almlit.stacking.run import train_stacks  # torch.func and the stacked loop: only when a stack trains

    for job in jobs:  # the folder and the job's log file (hydra.job_logging), as run_job makes them
        job.run_dir.mkdir(parents=True, exist_ok=True)
        HydraConfig.instance().set_config(job.config)
        configure_log(job.config.hydra.job_logging, job.config.hydra.verbose)
    overrides = [list(job.config.hydra.overrides.task) for job in jobs]
    with one_line_errors((TrainingFailure,)), one_line_errors():  # the members written are summed up as they are
        train_stacks(
            [job.resolved for job in jobs],
            [job.run_dir for job in jobs],
            overrides,
            on_written=lambda run_dir, metrics: print_summary(metrics, run_dir),
        )
    returns = {}
    for job, job_overrides in zip(jobs, overrides, strict=True):
        returns[job.index] = JobReturn(
            overrides=job_overrides,
            cfg=OmegaConf.create(job.resolved),
            hydra_cfg=OmegaConf.create({"hydra": job.config.hydra}),
            working_dir=os.getcwd(),
            task_name=str(job.config.hydra.job.name),
            status=JobStatus.COMPLETED,
            _return_value=None,
        )
    return returns
