import shutil

import pytest

from almlit.data.mri.synthetic import CohortSpec, write_cohort

# 16 subjects, 4 positive: train 12 (3 positive), test 4 (1 positive); T2w volumes 8 x 16 x 16.
TINY = CohortSpec(subjects=16, positives=0.25, shape=(8, 16, 16), seed=3)


@pytest.fixture(scope="session")
def generated_cohort(tmp_path_factory):
    """A tiny synthetic cohort, written once per test session; do not modify it (copy it with ``cohort_copy``)."""
    root = tmp_path_factory.mktemp("generated") / "cohort"
    return root, write_cohort(root, TINY)


@pytest.fixture
def cohort_copy(generated_cohort, tmp_path):
    """A private copy of the generated cohort that a test may change."""
    return shutil.copytree(generated_cohort[0], tmp_path / "cohort")
