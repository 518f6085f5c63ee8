"""``almlit.report --deployed``: test TPR and FPR at the calibration-chosen thresholds beside the oracle columns."""

from pathlib import Path

import numpy as np
import pytest

from almlit.report.experiments import Experiment
from almlit.report.paper_table import RowResult, make_table
from almlit.report.tables import metric_title, to_markdown
from almlit.runs.reader import RunScores


def _result(tpr, fpr, with_points=True):
    scores = RunScores(np.arange(3), np.array([0, 1, 0]), np.zeros(3))
    point = {"target_tpr": 0.98, "test": {"tpr": tpr, "tpr_ci": [tpr - 0.1, 1.0], "fpr": fpr, "fpr_ci": [0.1, 0.3]}}
    summary = {"ensemble": {"fpr@98tpr": 0.15}}
    return RowResult(summary, scores, {"operating_points": [point]} if with_points else None)


def test_deployed_columns_follow_each_fpr_at_tpr_column_with_exact_intervals():
    experiment = Experiment(Path("x.yaml"), "table1", "s", "S", 1, ("fpr@98tpr",), (), {"BCE": (), "ALM + BCE": ()})
    results = {("s", "BCE"): _result(0.9, 0.2), ("s", "ALM + BCE"): _result(0.95, 0.25, with_points=False)}
    table = make_table([experiment], results, {}, deployed=True)
    assert [column.metric for column in table.columns] == ["fpr@98tpr", "tpr@98tpr:deployed", "fpr@98tpr:deployed"]
    tpr_cell = table.cells[("BCE", table.columns[1])]
    assert tpr_cell.value == pytest.approx(90.0) and tpr_cell.interval == pytest.approx((80.0, 100.0))
    assert np.isnan(table.cells[("ALM + BCE", table.columns[2])].value)
    markdown = to_markdown(table)
    assert "TPR deployed @ 98% TPR" in markdown and "<u>90.0</u> [80.0, 100.0]" in markdown
    assert "Clopper-Pearson" in markdown and "no operating points" in markdown and "s/ALM + BCE" in markdown
    assert metric_title("fpr@95tpr:deployed") == "FPR deployed @ 95% TPR"


def test_without_deployed_the_table_is_unchanged():
    experiment = Experiment(Path("x.yaml"), "table1", "s", "S", 1, ("fpr@98tpr",), (), {"BCE": ()})
    table = make_table([experiment], {("s", "BCE"): _result(0.9, 0.2)}, {})
    assert [column.metric for column in table.columns] == ["fpr@98tpr"] and not table.notes
