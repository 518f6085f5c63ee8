"""Turning bad input into one clear line.

Argument checks across almlit raise ``ValueError``, ``TypeError`` or ``FileNotFoundError`` with a
message naming what was wrong, the value and what is allowed. Hydra wraps errors raised while
instantiating a config node; the entry points print the original message alone and exit non-zero.
Set ``ALMLIT_DEBUG=1`` to get the full traceback instead.

A run can also stop for a reason that is not bad input: its loss went NaN or inf, or the device ran out of
memory. Those raise :class:`TrainingFailure`, which the entry point reports the same way but without removing
the run folder (it holds the last good checkpoint).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from hydra.errors import HydraException, InstantiationException
from omegaconf.errors import OmegaConfBaseException

USER_ERRORS = (ValueError, TypeError, FileNotFoundError, InstantiationException)
# Bad input of a command that composes a config: almlit's argument errors and Hydra's for unknown groups, choices, keys.
BAD_INPUT = (*USER_ERRORS, HydraException, OmegaConfBaseException)


class TrainingFailure(RuntimeError):
    """Training stopped for a reason other than bad input; what it wrote so far stays."""


class NonFiniteLossError(TrainingFailure):
    """A term of the training loss became NaN or inf (see :mod:`almlit.callbacks.non_finite`)."""


@contextlib.contextmanager
def out_of_memory_advice(stage: str, batch_sizes: dict[str, int]) -> Iterator[None]:
    """Turn ``torch.OutOfMemoryError`` raised in the block into a :class:`TrainingFailure` that says what to lower.

    Args:
        stage: what the block runs (``"fit"``, ``"test"``), for the message.
        batch_sizes: the ``data.*`` batch-size keys the block uses and their values.
    """
    import torch  # here, so the entry points that never train (select, report) do not load torch

    try:
        yield
    except torch.OutOfMemoryError as error:
        used = ", ".join(f"data.{key}={value}" for key, value in batch_sizes.items())
        halves = ", ".join(f"data.{key}={max(1, value // 2)}" for key, value in batch_sizes.items())
        raise TrainingFailure(
            f"out of memory during {stage} with {used}; try {halves} or trainer.precision=bf16-mixed"
        ) from error


def root_cause(error: BaseException) -> BaseException:
    """The innermost exception that Hydra's instantiation wrapped."""
    while isinstance(error, InstantiationException) and error.__cause__ is not None:
        error = error.__cause__
    return error


def explain(error: BaseException) -> str:
    """One line: the original message of ``error``."""
    cause = root_cause(error)
    message = str(cause.args[0]) if isinstance(cause, FileNotFoundError) and cause.args else str(cause)
    return " ".join(message.split())


@contextlib.contextmanager
def one_line_errors(
    errors: tuple[type[BaseException], ...] = USER_ERRORS, cleanup: Callable[[], None] | None = None
) -> Iterator[None]:
    """Turn ``errors`` raised in the block into ``almlit: error: <message>`` on stderr and exit status 2.

    ``cleanup`` runs first (e.g. removing a half-written run folder). ``ALMLIT_DEBUG=1`` re-raises instead.
    """
    try:
        yield
    except errors as error:
        if os.environ.get("ALMLIT_DEBUG"):
            raise
        if cleanup is not None:
            cleanup()
        print(f"almlit: error: {explain(error)}", file=sys.stderr)
        sys.exit(2)


def optional_module(module: str, extra: str, group: str = "model") -> Any:
    """Import an optional dependency, or refuse in one line naming the extra that installs it.

    Raises:
        ValueError: ``<group>=<extra> needs the optional extra ...``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ValueError(
            f"{group}={extra} needs the optional extra {extra}: "
            f"pip install 'almlit[{extra}]' ({module} is not installed)"
        ) from error
