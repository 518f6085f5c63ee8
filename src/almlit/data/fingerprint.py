"""The fingerprint of a run's data: which files it read and what they held, stored in the run folder.

A run's identity is its configuration (:func:`almlit.runs.identity.comparable`, ``data.root`` included) and the
contents of its data. The configuration cannot tell that a cohort's files were replaced, re-exported or relabelled at
the same ``data.root``; the fingerprint can. It covers every file a data module reads to build its splits
(``source_files()`` of the data module: CIFAR's pickle files, the manifest and every NIfTI file it names, the
digits' CSV shipped with scikit-learn): each file's name (relative to the data module's root), size and SHA-256
of its bytes, and one SHA-256 over those lines. It does not cover what is derived from them by the configuration
(the split, the subsampling, the preprocessing), which the configuration decides; nor files a data module does not
read (CIFAR's ``batches.meta``, the MRI cache, whose entries are keyed by their files).

Written as ``data_fingerprint.json`` when training starts; compared when an interrupted run resumes, when a finished
run is found again (its data still present), when ensemble members are reused and when their report is built: a
difference is refused in one line naming the folder, both fingerprints and the first file that differs. Hashing
reads every byte once per process: a file's digest is kept for its path, size, inode, modification and status-change
times.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from almlit.runs.atomic_files import write_atomically

FINGERPRINT_FILE = "data_fingerprint.json"
SHOWN_DIGEST = 12  # hex characters of a digest in messages
CHUNK = 1 << 20


@dataclass(frozen=True)
class DataFingerprint:
    """What a run read.

    Attributes:
        digest: SHA-256 (hex) over the sorted lines ``<name> <size> <sha256>`` of every file read.
        files: every file's name -> ``[size in bytes, sha256 hex of its bytes]``.
    """

    digest: str
    files: Mapping[str, list]

    def to_json(self) -> str:
        return json.dumps({"digest": self.digest, "files": dict(self.files)}, indent=1, sort_keys=True) + "\n"


@functools.lru_cache(maxsize=4096)
def _file_digest(path: str, size: int, inode: int, modified_ns: int, changed_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_digest(path: Path) -> tuple[int, str]:
    """``(size in bytes, SHA-256 hex)`` of a file; hashed once per process while its size, inode, modification and
    status-change times stay the same (a rewrite changes the status-change time, which no program can set back).

    Raises:
        FileNotFoundError: no such file.
    """
    status = os.stat(path)
    key = (status.st_size, status.st_ino, status.st_mtime_ns, status.st_ctime_ns)
    return status.st_size, _file_digest(str(Path(path).resolve()), *key)


def fingerprint_files(files: Mapping[str, Path]) -> DataFingerprint:
    """The fingerprint of ``files`` (name -> path); see :class:`DataFingerprint`.

    Raises:
        FileNotFoundError: a file is absent.
    """
    described = {name: list(file_digest(path)) for name, path in files.items()}
    lines = "".join(f"{name} {size} {sha}\n" for name, (size, sha) in sorted(described.items()))
    return DataFingerprint(hashlib.sha256(lines.encode()).hexdigest(), described)


def files_by_name(paths: Sequence[Path], root: Path) -> dict[str, Path]:
    """``paths`` keyed by their path relative to ``root``, or their own path if elsewhere (a ``source_files()``)."""
    return {str(path.relative_to(root) if path.is_relative_to(root) else path): path for path in paths}


def data_fingerprint(datamodule: Any) -> DataFingerprint:
    """The fingerprint of the files ``datamodule.source_files()`` names.

    Raises:
        FileNotFoundError: a file is absent (not downloaded yet, or moved).
    """
    return fingerprint_files(datamodule.source_files())


def present_fingerprint(datamodule: Any) -> DataFingerprint | None:
    """:func:`data_fingerprint`, or ``None`` when the data is not (or no longer) there to compare."""
    try:
        return data_fingerprint(datamodule)
    except FileNotFoundError:
        return None


def write_fingerprint(run_dir: Path, fingerprint: DataFingerprint) -> None:
    """``data_fingerprint.json`` of a run folder (made if absent)."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    write_atomically(Path(run_dir) / FINGERPRINT_FILE, fingerprint.to_json())


def read_fingerprint(run_dir: Path) -> DataFingerprint | None:
    """The fingerprint stored in ``run_dir``, or ``None`` (a folder written before fingerprints, or not a run)."""
    path = Path(run_dir) / FINGERPRINT_FILE
    if not path.is_file():
        return None
    content = json.loads(path.read_text())
    return DataFingerprint(content["digest"], content["files"])


def first_difference(stored: DataFingerprint, current: DataFingerprint) -> str:
    """The first file (by name) that was added, removed or changed, in words."""
    for name in sorted(set(stored.files) | set(current.files)):
        if name not in current.files:
            return f"{name} is no longer read"
        if name not in stored.files:
            return f"{name} is new"
        if list(stored.files[name]) != list(current.files[name]):
            return f"{name} changed"
    return "the same files"


def check_same_data_across(run_dirs: Sequence[Path]) -> None:
    """Raise unless every run folder that stored a fingerprint stored the same (the members of one ensemble).

    Raises:
        ValueError: naming the first folder whose data differs from the first folder's (see :func:`check_same_data`).
    """
    stored = [(Path(run_dir), read_fingerprint(run_dir)) for run_dir in run_dirs]
    stored = [(run_dir, fingerprint) for run_dir, fingerprint in stored if fingerprint is not None]
    for run_dir, _ in stored[1:]:
        check_same_data(
            run_dir, stored[0][1], what=f"{stored[0][0]}", advice="members of one ensemble share their data"
        )


def check_same_data(
    run_dir: Path,
    current: DataFingerprint | None,
    what: str = "this command's data",
    advice: str = "train into a new folder with run_name=<new name>, or restore the data",
) -> None:
    """Raise if ``run_dir`` stored a fingerprint and ``current`` differs from it (``None``: nothing to compare).

    Raises:
        ValueError: naming the folder, both fingerprints and the first file that differs.
    """
    stored = read_fingerprint(run_dir)
    if stored is None or current is None or stored.digest == current.digest:
        return
    raise ValueError(
        f"{run_dir} was trained on other data than {what}: data fingerprint {stored.digest[:SHOWN_DIGEST]} "
        f"(folder) vs {current.digest[:SHOWN_DIGEST]} ({first_difference(stored, current)}); {advice}"
    )
