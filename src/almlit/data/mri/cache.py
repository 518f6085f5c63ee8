"""A folder of preprocessed subjects, keyed by the files' contents and the preprocessing settings.

An entry is ``<folder>/<key[:2]>/<key>.npy``, the float32 ``[S, D, H, W]`` array of one subject, where the key is
the SHA-256 of the settings (:meth:`PreprocessSettings.key`) and of the SHA-256 of every sequence file. A changed
file or setting therefore misses the cache; a copied or renamed file with the same bytes hits it. So that a second
run does not read every file to hash it, each file's digest is remembered in ``digests.json`` next to its size and
modification time, and recomputed only when those change. Entries are written to a temporary name and renamed, so
an interrupted run never leaves a partial entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import numpy as np

DIGESTS_FILE = "digests.json"


def file_digest(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, in hex, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(handle)`` on a temporary file next to ``path``, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False)
    try:
        with handle:
            write(handle)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


class PreprocessCache:
    """Preprocessed subjects stored as ``.npy`` files under ``folder``.

    Args:
        folder: where the entries live; created on the first write.
    """

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self._digests: dict[str, list] = {}
        self._digests_changed = False
        digests_path = self.folder / DIGESTS_FILE
        if digests_path.is_file():
            try:
                self._digests = json.loads(digests_path.read_text())
            except (OSError, ValueError):
                self._digests = {}  # a damaged memo only costs re-hashing

    def digest(self, path: Path) -> str:
        """The file's SHA-256, from the memo when its size and modification time are unchanged."""
        status = path.stat()
        name = str(path.resolve())
        stamp = [status.st_size, status.st_mtime_ns]
        remembered = self._digests.get(name)
        if remembered is not None and remembered[:2] == stamp:
            return remembered[2]
        digest = file_digest(path)
        self._digests[name] = [*stamp, digest]
        self._digests_changed = True
        return digest

    def key(self, paths: Sequence[Path], settings_key: str) -> str:
        """The entry key of a subject: SHA-256 over the settings and its files' digests, in sequence order."""
        content = json.dumps([settings_key, [self.digest(path) for path in paths]])
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
        """Store ``array`` as the entry of ``key``."""
        write_atomically(self.entry(key), lambda handle: np.save(handle, array))

    def flush(self) -> None:
        """Write the digest memo if it changed."""
        if self._digests_changed:
            text = json.dumps(self._digests).encode()
            write_atomically(self.folder / DIGESTS_FILE, lambda handle: handle.write(text))
            self._digests_changed = False
