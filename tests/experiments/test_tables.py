"""Table marks (the paper's bold and underline rule), renderings, and the transcribed published numbers."""

import math

from almlit.report.paper_results import paper_results
from almlit.report.tables import Cell, Column, Table, marks, metric_title, to_csv, to_latex, to_markdown

ROWS = ["CE", "FL", "MBAUC", "ALM-m1 + CE", "ALM-m2 + CE", "ALM + FL"]


def test_bold_marks_the_better_of_each_pair_and_underline_the_best_of_the_column():
    # lower is better (error): CE beats neither ALM version fully, FL beats its ALM version
    values = dict(zip(ROWS, [30.0, 32.0, 25.0, 28.9, 29.5, 33.0], strict=True))
    bold, underlined = marks(values, "error_noncritical@80tpr")
    assert bold == {"ALM-m1 + CE", "ALM-m2 + CE", "FL"}
    assert underlined == {"MBAUC"}  # the best of all rows, though it has no partner and is never bold


def test_baseline_bold_only_when_it_beats_every_alm_version():
    values = {"CE": 70.0, "ALM-m1 + CE": 69.0, "ALM-m2 + CE": 71.0}
    assert marks(values, "accuracy")[0] == {"ALM-m2 + CE"}
    values = {"CE": 72.0, "ALM-m1 + CE": 69.0, "ALM-m2 + CE": 71.0}
    assert marks(values, "accuracy") == ({"CE"}, {"CE"})


def test_marks_compare_the_displayed_values_and_ties_mark_both():
    bold, underlined = marks({"BCE": 91.24, "ALM + BCE": 91.16}, "auc")  # both shown as 91.2
    assert bold == underlined == {"BCE", "ALM + BCE"}


def test_missing_results_are_never_marked():
    bold, underlined = marks({"BCE": math.nan, "ALM + BCE": 50.0, "MBAUC": 60.0}, "fpr@98tpr")
    assert bold == set() and underlined == {"ALM + BCE"}


def test_metric_titles_follow_the_paper():
    assert metric_title("fpr@98tpr") == "FPR @ 98% TPR"
    assert metric_title("fpr@0fn") == "FPR @ 0 FN"
    assert metric_title("auc") == "Test AUC"
    assert metric_title("members:auc") == "Avg AUC"
    assert metric_title("error_noncritical@80tpr") == "Error @ 80% TPR"


def small_table():
    columns = [Column("s1", "Setting one", "fpr@95tpr"), Column("s1", "Setting one", "members:auc")]
    table = Table("tableX", ["BCE", "ALM + BCE"], columns)
    table.cells[("BCE", columns[0])] = Cell(40.0, interval=(35.0, 45.5), paper=45.0)
    table.cells[("ALM + BCE", columns[0])] = Cell(34.0, interval=(30.0, 38.0), difference=(-9.0, -1.5), paper=34.0)
    table.cells[("BCE", columns[1])] = Cell(65.4, std=9.0, paper=65.4, paper_std=9.0)
    return table


def test_renderings_carry_values_marks_intervals_and_the_paper_column():
    table = small_table()
    markdown = to_markdown(table, paper=True, show_interval=True)
    assert "| Method | Setting one<br>FPR @ 95% TPR | paper | Setting one<br>Avg AUC | paper |" in markdown
    # no partner value to beat: underlined (best of the column) but not bold
    assert "| BCE | 40.0 [35.0, 45.5] | 45.0 | <u>65.4±9.0</u> | 65.4±9.0 |" in markdown
    # the paired interval of ALM + BCE minus BCE excludes 0: the two rows differ
    assert "| ALM + BCE | **<u>34.0</u>**† [30.0, 38.0] | 34.0 | – | – |" in markdown
    assert "†: the ALM row differs from its baseline" in markdown
    latex = to_latex(table, paper=True)
    assert r"\multicolumn{4}{c}{Setting one}" in latex and r"\textbf{\underline{34.0}}" in latex
    assert r"65.4$\pm$9.0" in latex and r"$^\dagger$" not in latex  # intervals and marks only when asked
    assert r"\textbf{\underline{34.0}}$^\dagger$ {\scriptsize [30.0, 38.0]}" in to_latex(table, show_interval=True)
    lines = to_csv(table).splitlines()
    assert (
        lines[0] == "method,setting,metric,value,std,ci_low,ci_high,diff_low,diff_high,bold,underline,paper,paper_std"
    )
    assert lines[3] == "ALM + BCE,s1,fpr@95tpr,34.0,,30.0,38.0,-9.0,-1.5,1,1,34.0,"


def test_paper_numbers_are_transcribed_for_every_table():
    table1 = paper_results("table1")
    assert len(table1) == 17 * 8
    assert table1[("cifar10_imb100", "ALM + BCE", "fpr@95tpr")] == 34.0
    assert table1[("cifar10_imb200", "MBAUC", "auc")] == 67.9
    assert paper_results("table2")[("cifar100_imb200", "ALM + W-BCE", "fpr@98tpr")] == 79.0
    table3 = paper_results("table3")
    assert (
        table3[("mri", "ALM + BCE", "members:auc")] == 76.8 and table3[("mri", "ALM + BCE", "members:auc:std")] == 9.0
    )
    assert paper_results("table4")[("cifar10_lt_imb200", "ALM-m2 + LDAM", "accuracy")] == 67.41
