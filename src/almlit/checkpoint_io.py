"""Checkpoints that are whole or absent: a crash while saving never leaves a truncated ``last.ckpt`` behind.

Lightning's own :class:`~lightning.pytorch.plugins.io.TorchCheckpointIO` stages the file in the system's temporary
folder and moves it over (a copy when that folder is on another disk), without flushing it to the disk first. Here the
checkpoint is written next to its destination, flushed (``fsync``) and renamed over it with ``os.replace``, which is
atomic on POSIX and Windows file systems; the folder is flushed too so that the rename survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

# What torch.load raises on a cut or garbled file: zip reader errors (RuntimeError), a seek past the end (OSError),
# a short pickle (EOFError), bytes that are no pickle at all.
UNREADABLE = (RuntimeError, OSError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile)


def save_atomically(checkpoint: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """``torch.save`` into a temporary file beside ``path``, flush it to the disk, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(checkpoint, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename) to the disk; a no-op where folders cannot be opened (Windows)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Local checkpoints saved with :func:`save_atomically`; an unreadable checkpoint is named in one line."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        save_atomically(checkpoint, path)

    def load_checkpoint(
        self,
        path: Any,
        map_location: Callable | None = lambda storage, location: storage,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        """The checkpoint at ``path``, read with ``torch.load(weights_only=True)`` unless the caller says otherwise.

        A checkpoint is a pickle, which can name any function to run while it is read; ``weights_only=True`` builds
        only tensors, containers and the types torch allows, whatever ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` says (it
        overrides only calls that leave ``weights_only`` unset).

        Raises:
            FileNotFoundError: no file at ``path``.
            ValueError: the file is truncated, is no checkpoint, or names a global that a weights-only load refuses.
        """
        weights_only = True if weights_only is None else weights_only
        try:
            return super().load_checkpoint(path, map_location=map_location, weights_only=weights_only)
        except (FileNotFoundError, PermissionError):
            raise
        except pickle.UnpicklingError as error:
            refused = re.search(r"GLOBAL ([\w.]+)", str(error))
            if refused is None:
                raise self.unreadable(path, error) from error
            raise ValueError(
                f"checkpoint {path} names {refused.group(1)}, which a weights-only load refuses (reading it could run"
                " code); load only checkpoints that almlit wrote"
            ) from error
        except UNREADABLE as error:
            raise self.unreadable(path, error) from error

    @staticmethod
    def unreadable(path: Any, error: BaseException) -> ValueError:
        """The one line for a checkpoint that cannot be read."""
        reason = " ".join(str(error).split()) or type(error).__name__
        return ValueError(
            f"checkpoint {path} is truncated or corrupt ({reason}): delete it to train this run from the start, "
            "or pass ckpt_path=<an intact checkpoint>"
        )
