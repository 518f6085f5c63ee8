"""The training log, ``logs/metrics.csv``, continued across a resume instead of started again.

Lightning's :class:`~lightning.pytorch.loggers.CSVLogger` deletes an existing ``metrics.csv`` when it opens its log
folder, so a run resumed from ``checkpoints/last.ckpt`` would keep only the epochs trained after the restart.
:class:`ResumableCSVLogger` keeps the rows logged before the checkpoint and drops those the resumed run logs again.

Which rows are kept: those whose ``step`` is below the first step the resumed run logs. Every row has a ``step`` (the
writer adds it), and the step counter (``_batches_that_stepped``) is restored from the checkpoint: the rows logged up
to the checkpoint have steps below it, the rows of the replayed epoch and after it have steps at or above it, and the
replayed epoch logs its rows at the same steps again. The ``epoch`` column would not be exact: rows logged without it
(``LearningRateMonitor``'s, or a metric logged with its own ``step``) would be kept twice, and after a checkpoint
inside an epoch the rows of that epoch up to the checkpoint would be lost.
"""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path
from typing import Any

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities.rank_zero import rank_zero_only

from almlit.runs.atomic_files import write_atomically

METRICS_FILE = "metrics.csv"
# Lightning's warning that it will delete the old log: not what this logger does.
DELETION_WARNING = r"Experiment logs directory .* exists and is not empty"


def read_rows(text: str) -> list[dict[str, str]]:
    """The rows of a ``metrics.csv``, each without its empty cells.

    A row of another length than the header or without a whole-number ``step`` (a line a kill cut short) is left out.
    """
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        if None in row or None in row.values() or not row.get("step", "").isdigit():
            continue
        rows.append({key: value for key, value in row.items() if value})
    return rows


def rows_before(rows: list[dict[str, str]], first_step: int) -> list[dict[str, str]]:
    """The rows logged before ``first_step``, the first step the resumed run logs (see the module docstring)."""
    return [row for row in rows if int(row["step"]) < first_step]


class ResumableCSVLogger(CSVLogger):
    """A :class:`~lightning.pytorch.loggers.CSVLogger` whose ``metrics.csv`` continues the one already in its folder.

    When the log folder is opened, the rows of an existing ``metrics.csv`` are read, and the file is written back at
    once (Lightning's writer deletes it): until the resumed run logs its first row, the old log stays on disk, so a
    run killed again before that loses nothing. With its first row (its ``step``), the rows logged before it are
    kept, the others dropped (:func:`rows_before`), and the file is replaced atomically by the kept rows; the new rows
    follow as Lightning writes them, under a header that is the union of the columns. A fresh run (no
    ``metrics.csv``) is logged exactly as by Lightning's logger.

    Relies on Lightning's ``ExperimentWriter`` (its base class ``lightning.fabric.loggers.csv_logs._ExperimentWriter``
    is private): its ``log_metrics(metrics, step)`` and ``save()``, its attributes ``metrics_file_path`` and
    ``metrics_keys`` (the header it appends under, the sorted union of the columns), and its
    deleting ``metrics.csv`` when it is created. The metrics file must be on the local file system.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._opened = False
        self._earlier_rows: list[dict[str, str]] | None = None  # read when opened, until the first new row

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """Lightning's writer; the first call reads the existing ``metrics.csv`` and keeps it on disk."""
        if self._opened:
            return super().experiment
        self._opened = True
        path = Path(self.log_dir) / METRICS_FILE
        earlier = path.read_bytes() if path.is_file() else None
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=DELETION_WARNING)
            writer = super().experiment  # deletes metrics.csv
        rows = read_rows(earlier.decode()) if earlier is not None else []
        if rows and earlier is not None:  # rows come from the earlier file only
            self._earlier_rows = rows
            write_atomically(path, earlier)
        return writer

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        writer = self.experiment
        if self._earlier_rows is not None:
            earlier, self._earlier_rows = self._earlier_rows, None
            self._continue_file(writer, rows_before(earlier, 0 if step is None else step))
        super().log_metrics(metrics, step)

    def _continue_file(self, writer: Any, kept: list[dict[str, str]]) -> None:
        """Replace ``metrics.csv`` by the ``kept`` rows, under the header ``writer`` then appends the next rows to.

        The header is what Lightning's writer would give these rows: the sorted union of their columns.
        """
        path = Path(writer.metrics_file_path)
        if not kept:
            path.unlink(missing_ok=True)
            return
        writer.metrics_keys = sorted(set().union(*kept))
        text = io.StringIO(newline="")
        table = csv.DictWriter(text, fieldnames=writer.metrics_keys)
        table.writeheader()
        table.writerows(kept)
        write_atomically(path, text.getvalue())
