"""The one way almlit writes a result file: whole or absent, with the mode the umask gives a new file.

:func:`atomic_file` writes into a temporary file beside the target, flushes it to the disk (``fsync``), renames it
over the target with ``os.replace`` (atomic on POSIX and Windows file systems) and flushes the folder, so that the
rename survives a power cut. A reader sees the old file or the new one, never half of one; a failure while writing
leaves the old file and removes the temporary one.

The temporary file is created with ``os.open(..., 0o666)``, so the kernel applies the umask (and a folder's default
ACL) exactly as for ``open(path, "w")``: with umask 022 a result is ``rw-r--r--``, with 002 (a shared group folder)
``rw-rw-r--``. ``tempfile.mkstemp`` would create every file ``rw-------`` whatever the umask.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

NEW_FILE_MODE = 0o666  # what open(path, "w") asks for; the umask takes its bits away
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)  # a new file, never an old one
TEMPORARY_SUFFIX = ".partial"


def create_temporary(path: Path) -> tuple[int, Path]:
    """A new, empty file ``.<name>.<random>.partial`` beside ``path``: its descriptor and path (mode 0666 & ~umask)."""
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}{TEMPORARY_SUFFIX}")
        try:
            return os.open(temporary, CREATE_FLAGS, NEW_FILE_MODE), temporary
        except FileExistsError:
            continue


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary stream whose bytes replace ``path`` when the block ends without an exception.

    Parent folders are created. On an exception (``KeyboardInterrupt`` too) the temporary file is removed, ``path``
    keeps its old content (or stays absent), and the exception propagates.

    Example:
        >>> with atomic_file(folder / "metrics.json") as stream:  # doctest: +SKIP
        ...     stream.write(b"{}\\n")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = create_temporary(path)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def write_atomically(path: str | os.PathLike[str], content: str | bytes) -> Path:
    """Write ``content`` (text is encoded as UTF-8) to ``path`` through :func:`atomic_file`; returns ``path``."""
    with atomic_file(path) as stream:
        stream.write(content.encode() if isinstance(content, str) else content)
    return Path(path)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename) to the disk; a no-op where folders cannot be opened (Windows)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
