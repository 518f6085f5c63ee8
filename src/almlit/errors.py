"""Turning bad input into one clear line.

Argument checks across almlit raise ``ValueError``, ``TypeError`` or ``FileNotFoundError`` with a
message naming what was wrong, the value and what is allowed. Hydra wraps errors raised while
instantiating a config node; the entry points print the original message alone and exit non-zero.
Set ``ALMLIT_DEBUG=1`` to get the full traceback instead.
"""

from __future__ import annotations

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
