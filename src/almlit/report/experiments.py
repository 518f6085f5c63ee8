"""Experiment files (``experiments/*.yaml``): one paper table setting, its rows and their training overrides.

A file names the table (``table1``), the setting (``cifar10_imb100``, the key of the paper's numbers), the title
printed above the setting's columns, the number of ensemble members, the metric columns, the overrides common to
every row, and one entry per row, in the paper's order, with the overrides of that method (the authors' reported
hyper-parameters). A row ``"<ALM variant> + <baseline>"`` is the constrained version of the row ``<baseline>``.

A file may start from another one with ``extends: <file>`` (a path relative to it): it inherits every key, its own
keys replace the inherited ones, and its ``rows`` are appended to the inherited rows (the comparison zoo adds the
peer methods to Table 1 this way, sharing the paper rows' ensemble folders).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from almlit.runs.resume import DEFAULT_JOB_FOLDER, job_folder_name

REQUIRED = ("table", "setting", "title", "members", "metrics", "common", "rows")


@dataclass(frozen=True)
class Experiment:
    """One setting of one paper table (see the module docstring)."""

    path: Path
    table: str
    setting: str
    title: str
    members: int
    metrics: tuple[str, ...]
    common: tuple[str, ...]
    rows: dict[str, tuple[str, ...]]


def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a missing key, or rows that are not lists of overrides.
    """
    path = Path(path)
    content = read_content(path)
    missing = [key for key in REQUIRED if key not in content]
    if missing:
        raise ValueError(f"experiment file {path} lacks {', '.join(missing)} (it needs {', '.join(REQUIRED)})")
    rows = content["rows"]
    if not isinstance(rows, dict) or not rows or not all(isinstance(value, list) for value in rows.values()):
        raise ValueError(f"experiment file {path}: `rows` must map each method to a list of overrides")
    return Experiment(
        path=path,
        table=str(content["table"]),
        setting=str(content["setting"]),
        title=str(content["title"]),
        members=int(content["members"]),
        metrics=tuple(str(metric) for metric in content["metrics"]),
        common=tuple(str(override) for override in content["common"]),
        rows={str(name): tuple(str(override) for override in value) for name, value in rows.items()},
    )


def read_content(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """The keys of an experiment file, with those of the file it ``extends`` (recursively) underneath."""
    if not path.is_file():
        raise FileNotFoundError(f"experiment file {path} not found")
    if path.resolve() in seen:
        raise ValueError(f"experiment file {path} extends itself (through {' -> '.join(map(str, seen))})")
    content = OmegaConf.to_container(OmegaConf.load(path))
    if not isinstance(content, dict):
        raise ValueError(f"experiment file {path} must be a mapping of keys, got {type(content).__name__}")
    base = content.pop("extends", None)
    if base is None:
        return content
    inherited = read_content(path.parent / str(base), (*seen, path.resolve()))
    rows = content.pop("rows", {})
    repeated = [name for name in rows if name in inherited.get("rows", {})] if isinstance(rows, dict) else []
    if repeated:
        raise ValueError(f"experiment file {path} repeats the row {repeated[0]!r} of the file it extends ({base})")
    merged = {**inherited, **content}
    if isinstance(rows, dict) and isinstance(inherited.get("rows"), dict):
        merged["rows"] = {**inherited["rows"], **rows}
    return merged


def only_rows(experiment: Experiment, names: Sequence[str]) -> Experiment:
    """The experiment restricted to the named rows, kept in the file's order.

    Raises:
        ValueError: naming a row the file does not have.
    """
    unknown = [name for name in names if name not in experiment.rows]
    if unknown:
        raise ValueError(f"{experiment.path} has no row {unknown[0]!r}; its rows: {', '.join(experiment.rows)}")
    rows = {name: overrides for name, overrides in experiment.rows.items() if name in names}
    return Experiment(**{**experiment.__dict__, "rows": rows})


def row_folder(root: Path, experiment: Experiment, row: str, overrides: Sequence[str] = ()) -> Path:
    """``<root>/<table>/<setting>/<row slug>``: the ensemble folder of one row.

    Overrides given for every row (``--set``) that change what is trained or evaluated (e.g. ``data.root`` of
    another cohort) add a folder named after them, as a sweep job's (:func:`~almlit.runs.resume.job_folder_name`):
    ``<root>/<table>/<setting>/data.root=cohortB/<row slug>``, so the ensembles of two settings never share a folder.
    """
    slug = re.sub(r"[^a-z0-9]+", "_", row.lower()).strip("_")
    folder = Path(root) / experiment.table / experiment.setting
    named = job_folder_name(overrides)
    return (folder if named == DEFAULT_JOB_FOLDER else folder / named) / slug
