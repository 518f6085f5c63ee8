"""Fill an array item by item, each slot from a :class:`~almlit.data.mri.cache.PreprocessCache` entry when it has one.

Shared by the MRI volumes and the 2D images: both preprocess file(s) into one fixed-shape slot per sample, keyed by
the files' contents and the settings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

Item = TypeVar("Item")


def fill_cached(
    out: np.ndarray,
    items: Sequence[Item],
    files: Callable[[Item], Sequence[Path]],
    compute: Callable[[Item, np.ndarray], object],
    settings_key: str,
    cache_folder: Path | str | None,
) -> int:
    """Fill ``out[i]`` for every ``items[i]``: from the cache, else by ``compute(item, out[i])`` (then cached).

    Args:
        out: the array to fill, one slot per item along its first axis.
        items: the samples, in the order of ``out``.
        files: the files an item is made from (their contents key the cache entry).
        compute: writes an item's result into its slot.
        settings_key: the settings' part of the cache key.
        cache_folder: a cache folder, or ``None`` to compute every item.

    Returns:
        How many slots came from the cache.

    Raises:
        Whatever ``compute`` raises for the first item it cannot compute (entries computed so far stay cached).
    """
    from almlit.data.mri.cache import PreprocessCache  # here: importing almlit.data.mri imports this module

    cache = None if cache_folder is None else PreprocessCache(cache_folder)
    hits = 0
    for slot, item in zip(out, items, strict=True):
        key = None if cache is None else cache.key(files(item), settings_key)
        if cache is not None and cache.load_into(key, slot):
            hits += 1
            continue
        compute(item, slot)
        if cache is not None:
            cache.save(key, slot)
    return hits
