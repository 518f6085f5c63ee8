import shutil

import pytest

from almlit.data.mri.synthetic import write_cohort
from tests.helpers.mri_files import TINY_COHORT


@pytest.fixture(scope="session")
def generated_cohort(tmp_path_factory):
    """A tiny synthetic cohort, written once per test session; do not modify it (copy it with ``cohort_copy``)."""
    root = tmp_path_factory.mktemp("generated") / "cohort"
    return root, write_cohort(root, TINY_COHORT)


@pytest.fixture
def cohort_copy(generated_cohort, tmp_path):
    """A private copy of the generated cohort that a test may change."""
    return shutil.copytree(generated_cohort[0], tmp_path / "cohort")
