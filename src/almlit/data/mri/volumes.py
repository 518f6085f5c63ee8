"""The preprocessed volumes of a set of subjects: filled into one array, served as ``(volume, label, sample_id)``."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from almlit.data.cached import fill_cached
from almlit.data.indexed import UNKNOWN_LABEL, TensorImageDataset
from almlit.data.mri.manifest import Subject
from almlit.data.mri.preprocess import PreprocessSettings, preprocess_subject

log = logging.getLogger(__name__)


def load_volumes(
    subjects: Sequence[Subject], settings: PreprocessSettings, cache_folder: Path | str | None = None
) -> np.ndarray:
    """Preprocess (or fetch from the cache) every subject into one float32 array ``[N, S, D, H, W]``.

    The array is allocated once and filled subject by subject, so memory holds the result plus one subject.

    Args:
        subjects: the subjects, in the order of the result.
        settings: the preprocessing.
        cache_folder: a :class:`PreprocessCache` folder, or ``None`` to preprocess without caching.

    Raises:
        FileNotFoundError, ValueError: from the first subject that cannot be read or preprocessed.
    """
    started = time.perf_counter()
    volumes = np.empty((len(subjects), len(settings.sequences), *settings.shape), dtype=np.float32)
    hits = fill_cached(
        volumes,
        subjects,
        lambda subject: subject.paths,
        lambda subject, slot: preprocess_subject(subject, settings, out=slot),
        settings.key(),
        cache_folder,
    )
    log.info(
        "mri: %d subjects ready in %.1f s (%d from the cache %s)",
        len(subjects),
        time.perf_counter() - started,
        hits,
        cache_folder,
    )
    return volumes


def subject_dataset(
    subjects: Sequence[Subject], settings: PreprocessSettings, cache_folder: Path | None
) -> TensorImageDataset:
    """The dataset of ``subjects``: their preprocessed volumes, labels (:data:`UNKNOWN_LABEL` where a manifest for
    prediction has none) and sample ids (manifest rows)."""
    return TensorImageDataset(
        torch.from_numpy(load_volumes(subjects, settings, cache_folder)),
        torch.tensor(
            [UNKNOWN_LABEL if subject.label is None else subject.label for subject in subjects], dtype=torch.long
        ),
        torch.tensor([subject.sample_id for subject in subjects], dtype=torch.long),
    )
