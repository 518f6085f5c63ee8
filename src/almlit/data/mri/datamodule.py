"""MRICohort: a binary classification DataModule over a cohort of multi-sequence NIfTI volumes (paper, section 5.1).

The manifest's test cohort is the test set; ``val_fraction`` of each class of the training cohort, drawn with
``split_seed``, is the validation set (so every seed of an ensemble trains on a different stratified split);
the rest is the training set. The class ratio is the cohort's own (no subsampling, ``imb`` is not used). A
subject's sample id is its manifest row, so the multiplier bank has ``1 + the largest training-cohort row``
entries for every split seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
import torch

from almlit.data.fingerprint import files_by_name
from almlit.data.folds import assign_splits
from almlit.data.imbalance import CALIBRATION_SPLIT_SEED
from almlit.data.indexed import Batch, TensorImageDataset
from almlit.data.loaders import SamplerFactory, TensorDataModule
from almlit.data.mri.augment3d import VolumeAugment
from almlit.data.mri.manifest import Subject, check_pattern, read_manifest, stratified_hold_out
from almlit.data.mri.preprocess import PreprocessSettings
from almlit.data.mri.volumes import subject_dataset


def split_cohort(
    subjects: Sequence[Subject],
    val_fraction: float,
    split_seed: int,
    folds: int | None = None,
    fold: int | None = None,
    calibration_fraction: float = 0.0,
) -> dict[str, list[Subject]]:
    """The ``train``, ``validation`` and ``test`` subjects: the test cohort, and a stratified hold-out of the rest.

    With ``folds=K`` and ``fold=k`` the training cohort forms K stratified folds (drawn with ``split_seed``) and
    fold k validates instead (see :func:`almlit.data.folds.assign_splits`). With ``calibration_fraction`` > 0 a
    ``calibration`` share of each class of the training cohort is held out first, drawn with
    :data:`~almlit.data.imbalance.CALIBRATION_SPLIT_SEED` (the same subjects for every seed of an ensemble);
    validation and training split the rest.
    """
    training_cohort = [subject for subject in subjects if subject.cohort == "train"]
    splits = {"test": [subject for subject in subjects if subject.cohort == "test"]}
    if calibration_fraction > 0:
        labels = np.array([subject.label for subject in training_cohort])
        held_out, remaining = stratified_hold_out(labels, calibration_fraction, CALIBRATION_SPLIT_SEED)
        splits["calibration"] = [training_cohort[position] for position in held_out]
        training_cohort = [training_cohort[position] for position in remaining]
    labels = np.array([subject.label for subject in training_cohort])
    if folds is None and fold is None:
        held_out, remaining = stratified_hold_out(labels, val_fraction, split_seed)
    else:
        positions = assign_splits(labels, ["train"] * len(labels), split_seed=split_seed, folds=folds, fold=fold)
        held_out, remaining = positions["validation"], positions["train"]
    splits["train"] = [training_cohort[position] for position in remaining]
    splits["validation"] = [training_cohort[position] for position in held_out]
    return splits


class MRICohort(TensorDataModule):
    """Multi-sequence MRI volumes of a manifest (see :mod:`almlit.data.mri.manifest`), two classes, 1 critical.

    Batches reach the model as ``(volumes float32 [B, S, D, H, W], labels long [B], sample_ids long [B])``, one
    channel per sequence, normalised per volume; training batches are augmented on their device.

    Args:
        root: the folder of the manifest; relative file paths start there.
        manifest: the manifest's file name inside ``root``.
        sequences: the sequences to use, as channels in this order; the first is the reference of the grid.
        pattern: where a sequence's file is when the manifest has no column for it.
        shape: ``[D, H, W]`` of every volume.
        spacing: voxel size in mm ``[D, H, W]``, or ``None`` to resize each reference field of view to ``shape``.
        normalize: ``zscore`` or ``percentile``.
        percentiles: the clip percentiles of ``percentile``.
        prefer_transform: which of a file's qform and sform to trust when they disagree: ``strict`` (refuse the
            file), ``sform`` or ``qform``; a file with neither is always refused (see :mod:`almlit.data.mri.nifti`).
        val_fraction: share of each class of the training cohort held out for validation.
        folds: K of K-fold cross-validation over the training cohort, or ``None`` for the ``val_fraction`` hold-out.
        fold: the validation fold, 0..K-1.
        test_fraction: share of each class held out for testing when the manifest has no ``cohort`` column.
        calibration_fraction: share of each class of the training cohort held out to choose operating points on,
            the same subjects for every seed (0: none, the validation subjects are used).
        flip_axes: axes mirrored at random in training (0 = D, 1 = H, 2 = W, the left-right axis).
        max_shift: largest random shift in voxels ``[D, H, W]`` in training.
        intensity_scale: largest relative change of a channel's scale in training.
        intensity_shift: largest offset added to a channel in training.
        cache_dir: folder of the preprocessing cache, or ``None`` for no cache.
        batch_size: training batch size.
        eval_batch_size: validation and test batch size.
        split_seed: seed of the validation hold-out.
        seed: seed of the batch order and the augmentation, drawn afresh from ``(seed, epoch)`` every epoch.
        sampler: training order, the ``sampler`` group (see :class:`~almlit.data.loaders.TensorDataModule`).
            None shuffles.
    """

    def __init__(
        self,
        root: str | Path,
        manifest: str = "manifest.csv",
        sequences: Sequence[str] = ("t2w", "adc", "dwi"),
        pattern: str = "{subject_id}/{sequence}",
        shape: Sequence[int] = (16, 64, 64),
        spacing: Sequence[float] | None = None,
        normalize: str = "zscore",
        percentiles: Sequence[float] = (1.0, 99.0),
        prefer_transform: str = "strict",
        val_fraction: float = 0.2,
        test_fraction: float = 0.25,
        folds: int | None = None,
        fold: int | None = None,
        calibration_fraction: float = 0.0,
        flip_axes: Sequence[int] = (2,),
        max_shift: Sequence[int] = (1, 4, 4),
        intensity_scale: float = 0.1,
        intensity_shift: float = 0.1,
        cache_dir: str | Path | None = None,
        batch_size: int = 8,
        eval_batch_size: int = 32,
        split_seed: int = 0,
        seed: int = 0,
        sampler: SamplerFactory | None = None,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed, sampler)
        self.settings = PreprocessSettings(
            tuple(sequences),
            # lengths checked by PreprocessSettings.__post_init__
            cast("tuple[int, int, int]", tuple(shape)),
            None if spacing is None else cast("tuple[float, float, float]", tuple(spacing)),
            normalize,
            cast("tuple[float, float]", tuple(percentiles)),
            prefer_transform,
        )
        self.root = Path(root)
        self.manifest = manifest
        self.pattern = check_pattern(pattern)
        for name, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if not 0 < fraction < 1:
                raise ValueError(f"data.{name} must be in (0, 1), got {fraction}")
        if not 0 <= calibration_fraction < 1:
            raise ValueError(f"data.calibration_fraction must be in [0, 1), got {calibration_fraction}")
        self.val_fraction = val_fraction
        self.calibration_fraction = calibration_fraction
        self.test_fraction = test_fraction
        self.folds, self.fold = folds, fold
        self.augment = VolumeAugment(flip_axes, max_shift, intensity_scale, intensity_shift)
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.split_seed = split_seed
        self._datasets: dict[str, TensorImageDataset] | None = None
        self._num_train_samples: int | None = None
        self.inference_subjects: list[Subject] = []

    def source_files(self) -> dict[str, Path]:
        """The manifest and every file of the chosen sequences it names, by name under ``root`` (absolute paths of
        files elsewhere); the run's data fingerprint covers them.

        Raises:
            FileNotFoundError: the manifest or a file it names is absent.
        """
        subjects = read_manifest(self.root / self.manifest, self.settings.sequences, self.pattern, self.test_fraction)
        paths = [self.root / self.manifest, *(path for subject in subjects for path in subject.paths)]
        return files_by_name(paths, self.root)

    def setup(self, stage: str | None = None) -> None:
        """Read the manifest, check every file exists, split, and preprocess every subject (once)."""
        if self._datasets is not None:
            return
        subjects = read_manifest(self.root / self.manifest, self.settings.sequences, self.pattern, self.test_fraction)
        splits = split_cohort(
            subjects, self.val_fraction, self.split_seed, self.folds, self.fold, self.calibration_fraction
        )
        self._datasets = {
            name: subject_dataset(members, self.settings, self.cache_dir) for name, members in splits.items()
        }
        self._num_train_samples = 1 + max(subject.sample_id for subject in subjects if subject.cohort == "train")

    @property
    def datasets(self) -> dict[str, TensorImageDataset]:
        """The ``train``, ``validation``, ``test`` (and ``calibration``) datasets, available after ``setup()``."""
        if self._datasets is None:
            raise self._not_set_up()
        return self._datasets

    @property
    def train_dataset(self) -> TensorImageDataset:
        return self.datasets["train"]

    @property
    def val_dataset(self) -> TensorImageDataset:
        return self.datasets["validation"]

    @property
    def test_dataset(self) -> TensorImageDataset:
        return self.datasets["test"]

    def setup_inference(self) -> None:
        """Read a manifest for prediction (labels optional) and preprocess only the subjects to predict: the test
        cohort of a manifest with a ``cohort`` column, else every subject (:attr:`inference_dataset`)."""
        if self._datasets is not None:
            return
        subjects = read_manifest(
            self.root / self.manifest, self.settings.sequences, self.pattern, self.test_fraction, True
        )
        self.inference_subjects = [subject for subject in subjects if subject.cohort == "test"]
        self._datasets = {"inference": subject_dataset(self.inference_subjects, self.settings, self.cache_dir)}

    @property
    def inference_dataset(self) -> TensorImageDataset:
        """The subjects to predict, after :meth:`setup_inference`."""
        return self.datasets["inference"]

    @property
    def calibration_split(self) -> str:
        return "calibration" if "calibration" in self.datasets else "validation"

    @property
    def calibration_dataset(self) -> TensorImageDataset:
        return self.datasets[self.calibration_split]

    @property
    def num_classes(self) -> int:
        """2: negative (0) and positive (1)."""
        return 2

    @property
    def num_outputs(self) -> int:
        """One logit."""
        return 1

    @property
    def critical_classes(self) -> tuple[int, ...]:
        """The positive class."""
        return (1,)

    @property
    def num_train_samples(self) -> int:
        """Size of the multiplier bank: 1 + the largest manifest row of the training cohort."""
        if self._num_train_samples is None:
            raise self._not_set_up()
        return self._num_train_samples

    @property
    def class_counts(self) -> tuple[int, int]:
        """``(n_negative, n_positive)`` of the training set."""
        negatives, positives = torch.bincount(self.train_dataset.labels, minlength=2).tolist()
        return negatives, positives

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """``(S, D, H, W)`` of one volume."""
        return len(self.settings.sequences), *self.settings.shape

    def inference_columns(self) -> dict[str, list[str]]:
        """The manifest's ``subject_id`` of every subject to predict, in :attr:`inference_dataset` order."""
        return {"subject_id": [subject.subject_id for subject in self.inference_subjects]}

    def preprocessing(self, input_shape: Sequence[int]) -> dict:
        """How NIfTI files become the network's input, for a program without almlit (``preprocessing.json``).

        The volumes are normalised one by one and resampled (:mod:`almlit.data.mri.preprocess`): there is no fixed
        mean and std to apply; a program without almlit has to repeat these steps.
        """
        settings = self.settings
        return {
            "input_shape": list(input_shape),
            "layout": "NCDHW: batch, sequence, depth (slices, inferior to superior), height, width",
            "channels": list(settings.sequences),
            "raw": "one NIfTI volume per sequence",
            "input_dtype": "float32",
            "steps": {
                "normalize": settings.normalize,
                "percentiles": list(settings.percentiles),
                "shape": list(settings.shape),
                "spacing": None if settings.spacing is None else list(settings.spacing),
            },
            "formula": "almlit.data.mri.preprocess.preprocess_subject: each volume normalised on its own voxels "
            "(zscore: (x - mean) / std; percentile: clipped and scaled to [0, 1]), then resampled onto an RAS+ grid "
            "centred on the first sequence",
        }

    def _not_set_up(self) -> RuntimeError:
        return RuntimeError(f"{type(self).__name__}.setup() must run before its datasets are used")

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        """Augment training batches on their device, drawing from ``(seed, epoch)``; others pass unchanged."""
        volumes, labels, sample_ids = batch
        if not self.training_batch:
            return batch
        self.augment.to(volumes.device)
        return (
            self.augment(volumes, train=True, generator=self.augmentation_generator(volumes.device)),
            labels,
            sample_ids,
        )
