"""The data fingerprint (issue 13, item 1): which files a run read and what they held.

Expected digests are computed here with hashlib over the bytes on disk, in the format the module documents
(``<name> <size> <sha256>`` per file, sorted by name); a file rewritten in place must change the fingerprint even
with its size and modification time kept.
"""

import hashlib
import os
from pathlib import Path

import pytest
import sklearn

from almlit.benchmark.synthetic import write_random_cifar
from almlit.data import BinaryCIFAR, BinaryDigits
from almlit.data.fingerprint import (
    check_same_data,
    check_same_data_across,
    data_fingerprint,
    fingerprint_files,
    present_fingerprint,
    read_fingerprint,
    write_fingerprint,
)
from almlit.data.mri import MRICohort
from tests.helpers.mri_files import build_cohort


def cifar(root):
    return BinaryCIFAR(
        root=root,
        variant="cifar10",
        negative_classes=[1],
        positive_classes=[9],
        imbalance_ratio=2,
        val_per_class=1,
        majority_fraction=1.0,
        split_seed=0,
    )


def expected_digest(files):
    """SHA-256 over ``<name> <size> <sha256 of the bytes>`` lines, sorted by name."""
    lines = []
    for name in sorted(files):
        content = files[name].read_bytes()
        lines.append(f"{name} {len(content)} {hashlib.sha256(content).hexdigest()}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def test_cifar_fingerprint_covers_every_file_of_both_splits(tmp_path):
    folder = write_random_cifar(tmp_path / "cifar", "cifar10", train_per_class=3, test_per_class=1)
    (folder / "batches.meta").write_bytes(b"not read")
    fingerprint = data_fingerprint(cifar(tmp_path / "cifar"))
    names = [f"data_batch_{number}" for number in range(1, 6)] + ["test_batch"]
    assert sorted(fingerprint.files) == [f"cifar-10-batches-py/{name}" for name in names]
    assert fingerprint.digest == expected_digest({f"cifar-10-batches-py/{name}": folder / name for name in names})


def test_the_same_files_at_another_root_have_the_same_fingerprint(tmp_path):
    for root in ("a", "b"):
        write_random_cifar(tmp_path / root, "cifar10", train_per_class=3, test_per_class=1)
    first, second = (data_fingerprint(cifar(tmp_path / root)) for root in "ab")
    assert first == second


def test_a_file_rewritten_with_its_size_and_time_kept_changes_the_fingerprint(tmp_path):
    path = tmp_path / "volume.bin"
    path.write_bytes(bytes(range(200)))
    before = fingerprint_files({"volume.bin": path})
    status = path.stat()
    path.write_bytes(bytes(reversed(range(200))))
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    after = fingerprint_files({"volume.bin": path})
    assert after.digest != before.digest
    assert after.digest == expected_digest({"volume.bin": path})


def test_mri_fingerprint_covers_the_manifest_and_the_files_of_the_chosen_sequences(tmp_path):
    build_cohort(tmp_path / "cohort")
    cohort = MRICohort(root=tmp_path / "cohort", sequences=("t2w", "adc"), shape=(4, 6, 6))
    fingerprint = data_fingerprint(cohort)
    subjects = [f"S{index:02d}" for index in range(1, 9)]
    expected = {
        "manifest.csv",
        *(f"{subject}/{sequence}.nii.gz" for subject in subjects for sequence in ("t2w", "adc")),
    }
    assert set(fingerprint.files) == expected
    assert fingerprint.digest == expected_digest({name: tmp_path / "cohort" / name for name in expected})


def test_digits_fingerprint_is_the_file_scikit_learn_reads():
    path = Path(sklearn.__file__).parent / "datasets" / "data" / "digits.csv.gz"
    fingerprint = data_fingerprint(BinaryDigits(imbalance_ratio=10))
    assert fingerprint.digest == expected_digest({"digits.csv.gz": path})


def test_absent_data_has_no_fingerprint_to_compare(tmp_path):
    assert present_fingerprint(cifar(tmp_path / "none")) is None


def test_a_run_folder_refuses_other_data_naming_both_fingerprints_and_the_file(tmp_path):
    write_random_cifar(tmp_path / "cifar", "cifar10", train_per_class=3, test_per_class=1)
    datamodule = cifar(tmp_path / "cifar")
    stored = data_fingerprint(datamodule)
    write_fingerprint(tmp_path / "run", stored)
    assert read_fingerprint(tmp_path / "run") == stored
    check_same_data(tmp_path / "run", data_fingerprint(datamodule))  # the same data: nothing to say
    write_random_cifar(tmp_path / "cifar", "cifar10", train_per_class=3, test_per_class=1, seed=1)
    current = data_fingerprint(datamodule)
    assert current.digest == expected_digest({name: tmp_path / "cifar" / name for name in stored.files})
    with pytest.raises(ValueError) as error:
        check_same_data(tmp_path / "run", current)
    first_file = sorted(stored.files)[0]
    assert str(error.value) == (
        f"{tmp_path / 'run'} was trained on other data than this command's data: data fingerprint "
        f"{stored.digest[:12]} (folder) vs {current.digest[:12]} ({first_file} changed); "
        "train into a new folder with run_name=<new name>, or restore the data"
    )
    check_same_data(tmp_path / "new", current)  # a folder without a fingerprint: nothing to compare
    write_fingerprint(tmp_path / "member1", current)
    with pytest.raises(ValueError, match=r"member1 was trained on other data than .*run: data fingerprint"):
        check_same_data_across([tmp_path / "run", tmp_path / "new", tmp_path / "member1"])
