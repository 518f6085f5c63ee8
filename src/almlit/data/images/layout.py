"""Where a user's 2D images are and what they are: a folder per class, or a CSV manifest.

Folder layout (``data.root``)::

    root/<class name>/**/*.png|.jpg|.jpeg|.webp

Every direct sub-folder (not starting with ``.``) is a class; its images may sit in nested folders (e.g. one per
patient). Sample ids follow the files sorted by their path relative to ``root``, so they are the same on every run.

Manifest layout (``data.manifest``, a CSV)::

    path,label[,split][,<group column>]
    normal/p01_a.png,normal,train,p01

``path`` is relative to the manifest's folder (a path leading outside it is refused), ``label`` a class name,
``split`` (optional) ``train``, ``validation`` or ``test``, and the column named by ``data.group_column`` (optional)
the group (e.g. patient) an image belongs to. A sample's id is its row index (0 for the first data row).
The classes are the sorted distinct labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from almlit.data.tables import read_table

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
SPLITS = ("train", "validation", "test")


class ImageRecord(NamedTuple):
    """One image of the data set.

    Attributes:
        path: the image file.
        class_name: its class.
        split: ``train``, ``validation``, ``test``, or ``None`` when the split is drawn.
        group: the group (e.g. patient) it belongs to, or ``None``.
    """

    path: Path
    class_name: str
    split: str | None = None
    group: str | None = None


def is_image(path: Path) -> bool:
    """Whether ``path`` is a file with one of :data:`IMAGE_SUFFIXES` (any case), not hidden."""
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def list_class_folders(root: Path) -> list[ImageRecord]:
    """The images of a folder-per-class layout, class by class (sorted), files sorted by relative path.

    Args:
        root: the folder holding one sub-folder per class.

    Returns:
        One record per image; ``split`` and ``group`` are ``None``.

    Raises:
        FileNotFoundError: if ``root`` is not a folder.
        ValueError: if it has fewer than two class folders, or a class folder holds no image.
    """
    if not root.is_dir():
        raise FileNotFoundError(f"data.root is not a folder: {root}")
    classes = sorted(entry.name for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    if len(classes) < 2:
        raise ValueError(f"data.root {root} must hold one folder per class (at least two), found {classes}")
    records = []
    for class_name in classes:
        folder = root / class_name
        images = sorted((path for path in folder.rglob("*") if is_image(path)), key=lambda path: path.as_posix())
        if not images:
            raise ValueError(f"class folder {folder} holds no image ({', '.join(IMAGE_SUFFIXES)})")
        records += [ImageRecord(path, class_name) for path in images]
    return records


def manifest_path(folder: Path, cell: str, line: int, manifest: Path) -> Path:
    """The image a manifest cell names, which must lie inside the manifest's folder and exist.

    Raises:
        ValueError: if the cell is empty or its path leads outside ``folder``.
        FileNotFoundError: if the file does not exist.
    """
    if not cell:
        raise ValueError(f"manifest {manifest}: line {line} has an empty path")
    path = folder / cell
    if not path.resolve().is_relative_to(folder.resolve()):
        raise ValueError(f"manifest {manifest}: line {line}: path {cell} leads outside the manifest's folder {folder}")
    if not path.is_file():
        raise FileNotFoundError(f"manifest {manifest}: line {line}: image not found: {path}")
    return path


def parse_split(cell: str, line: int, manifest: Path) -> str:
    """The split of a manifest row: ``train``, ``validation`` or ``test`` (any case)."""
    split = cell.strip().lower()
    if split not in SPLITS:
        raise ValueError(f"manifest {manifest}: line {line}: split must be one of {list(SPLITS)}, got {cell!r}")
    return split


def read_image_manifest(manifest: Path, group_column: str | None = None) -> list[ImageRecord]:
    """The images a manifest lists, in row order; every file must exist (nothing is decoded yet).

    Args:
        manifest: the CSV file (columns ``path``, ``label``, optionally ``split`` and ``group_column``).
        group_column: the column naming each image's group, or ``None``.

    Returns:
        One record per data row.

    Raises:
        FileNotFoundError: if the manifest or an image is missing.
        ValueError: for a missing column, an empty label or group, a bad split, or a path leaving the folder.
    """
    columns, rows = read_table(manifest)
    required = ["path", "label", *([group_column] if group_column else [])]
    missing = [name for name in required if name not in columns]
    if missing:
        raise ValueError(f"manifest {manifest} lacks the column(s) {missing}; it has {columns}")
    if not rows:
        raise ValueError(f"manifest {manifest} lists no image")
    folder = manifest.parent
    records = []
    for line, row in enumerate(rows, start=2):
        for name in ("label", *([group_column] if group_column else [])):
            if not row[name]:
                raise ValueError(f"manifest {manifest}: line {line} has an empty {name}")
        records.append(
            ImageRecord(
                path=manifest_path(folder, row["path"], line, manifest),
                class_name=row["label"],
                split=parse_split(row["split"], line, manifest) if "split" in columns else None,
                group=row[group_column] if group_column else None,
            )
        )
    return records


def class_ids(setting: str, names: Sequence[str], classes: Sequence[str]) -> tuple[int, ...]:
    """Class names of a ``data.<setting>`` list as ids into ``classes``.

    Args:
        setting: e.g. ``"positive_classes"``, as the error message names it.
        names: class names (a number is read as its text, so ``[8]`` names the folder ``8``).
        classes: the data set's class names, in id order.

    Raises:
        ValueError: if the list is empty, repeats a name, or names a class the data does not have.
    """
    names = [str(name) for name in names]
    if not names:
        raise ValueError(f"data.{setting} must name at least one class of {list(classes)}")
    unknown = [name for name in names if name not in classes]
    if unknown:
        raise ValueError(f"data.{setting} names unknown class(es) {unknown}; the classes are {list(classes)}")
    if len(set(names)) != len(names):
        raise ValueError(f"data.{setting} must not repeat a class, got {names}")
    return tuple(classes.index(name) for name in names)
