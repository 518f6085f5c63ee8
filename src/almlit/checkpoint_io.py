"""Checkpoints that are whole or absent: a crash while saving never leaves a truncated ``last.ckpt`` behind.

Lightning's own :class:`~lightning.pytorch.plugins.io.TorchCheckpointIO` stages the file in the system's temporary
folder and moves it over (a copy when that folder is on another disk), without flushing it to the disk first. Here the
checkpoint is written with :func:`almlit.atomic_files.atomic_file`: next to its destination, flushed (``fsync``),
renamed over it and the folder flushed, with the mode that the umask gives a new file.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Callable
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from almlit.atomic_files import atomic_file

# What torch.load raises on a cut or garbled file: zip reader errors (RuntimeError), a seek past the end (OSError),
# a short pickle (EOFError), bytes that are no pickle at all.
UNREADABLE = (RuntimeError, OSError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Local checkpoints written by :func:`~almlit.atomic_files.atomic_file`; an unreadable one is named in one line."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        with atomic_file(path) as stream:
            torch.save(checkpoint, stream)

    def load_checkpoint(
        self,
        path: Any,
        map_location: Callable | None = lambda storage, location: storage,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        """The checkpoint at ``path``.

        Raises:
            FileNotFoundError: no file at ``path``.
            ValueError: the file is truncated or is no checkpoint.
        """
        try:
            return super().load_checkpoint(path, map_location=map_location, weights_only=weights_only)
        except (FileNotFoundError, PermissionError):
            raise
        except UNREADABLE as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise ValueError(
                f"checkpoint {path} is truncated or corrupt ({reason}): delete it to train this run from the start, "
                "or pass ckpt_path=<an intact checkpoint>"
            ) from error
