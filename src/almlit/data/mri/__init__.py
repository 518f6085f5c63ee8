"""Multi-sequence MRI cohorts: a manifest CSV and NIfTI files -> preprocessed, cached volumes -> an MRICohort.

``python -m almlit.make_mri_cohort out=...`` writes a synthetic cohort in the same layout.
"""

from almlit.data.mri.augment3d import VolumeAugment
from almlit.data.mri.cache import PreprocessCache
from almlit.data.mri.datamodule import MRICohort
from almlit.data.mri.manifest import Subject, read_manifest
from almlit.data.mri.preprocess import PreprocessSettings, preprocess_subject
from almlit.data.mri.volumes import load_volumes

__all__ = [
    "MRICohort",
    "PreprocessCache",
    "PreprocessSettings",
    "Subject",
    "VolumeAugment",
    "load_volumes",
    "preprocess_subject",
    "read_manifest",
]
