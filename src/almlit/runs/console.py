"""What a run prints: Lightning's informational lines off where they would repeat (timed epochs, stacked members)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Lightning's informational lines (accelerator found, limits set, tips) off while epochs are timed."""
    logger = logging.getLogger("lightning.pytorch")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
