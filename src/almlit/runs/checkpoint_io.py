"""Checkpoints that are whole or absent: a crash while saving never leaves a truncated ``last.ckpt`` behind.

Lightning's own :class:`~lightning.pytorch.plugins.io.TorchCheckpointIO` stages the file in the system's temporary
folder and moves it over (a copy when that folder is on another disk), without flushing it to the disk first. Here the
checkpoint is written with :func:`almlit.runs.atomic_files.atomic_file`: next to its destination, flushed (``fsync``),
renamed over it and the folder flushed, with the mode that the umask gives a new file.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from collections.abc import Callable
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from almlit.runs.atomic_files import atomic_file

# What torch.load raises on a cut or garbled file: zip reader errors (RuntimeError), a seek past the end (OSError),
# a short pickle (EOFError), bytes that are no pickle at all.
UNREADABLE = (RuntimeError, OSError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Local checkpoints written by :func:`~almlit.runs.atomic_files.atomic_file`; an unreadable one is named in one
    line."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        with atomic_file(path) as stream:
            torch.save(checkpoint, stream)

    def load_checkpoint(
        self,
        path: Any,
        map_location: str | torch.device | Callable | None = lambda storage, location: storage,  # as torch.load's
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
            # Lightning types map_location as a callable only, but hands it to torch.load, which takes str and devices
            return super().load_checkpoint(path, map_location=map_location, weights_only=weights_only)  # type: ignore[arg-type]
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
