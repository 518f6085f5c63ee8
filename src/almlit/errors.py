"""Turning bad input into one clear line.

Argument checks across almlit raise ``ValueError``, ``TypeError`` or ``FileNotFoundError`` with a
message naming what was wrong, the value and what is allowed. Hydra wraps errors raised while
instantiating a config node; the entry points print the original message alone and exit non-zero.
Set ``ALMLIT_DEBUG=1`` to get the full traceback instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator

from hydra.errors import InstantiationException

USER_ERRORS = (ValueError, TypeError, FileNotFoundError, InstantiationException)


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
