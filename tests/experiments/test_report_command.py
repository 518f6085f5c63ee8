"""``python -m almlit.report`` on folders that are not there yet, and on bad experiment files, in process."""

import pytest

from almlit.report.__main__ import main
from almlit.report.experiments import load_experiment, row_folder
from tests.helpers.commands import REPO_ROOT

EXPERIMENT = str(REPO_ROOT / "experiments" / "table1_cifar10_imb100.yaml")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([EXPERIMENT], "no row has all its members finished under"),
        ([EXPERIMENT, "--rows", "BCE", "Nope"], "has no row 'Nope'; its rows: BCE, S-ML,"),
        (
            [EXPERIMENT, str(REPO_ROOT / "experiments" / "table2_cifar100_imb100.yaml")],
            "different tables: table1, table2",
        ),
        (["missing.yaml"], "experiment file missing.yaml not found"),
        ([EXPERIMENT, "--members", "0"], "--members must be >= 1, got 0"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(tmp_path, capsys, arguments, message):
    with pytest.raises(SystemExit) as exit_info:
        main([*arguments, "--root", str(tmp_path / "tables"), "--output", str(tmp_path / "report")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("almlit: error: ") and message in error and "\n" not in error
    assert not (tmp_path / "report").exists()


def test_rows_of_another_cohort_get_folders_of_their_own(tmp_path):
    """``--set data.root=cohortB`` never reads cohort A's ensembles (issue 13, item 1); printing options do not."""
    experiment = load_experiment(REPO_ROOT / "experiments" / "table3_mri.yaml")
    root = tmp_path / "tables"
    assert row_folder(root, experiment, "ALM + BCE") == root / "table3" / "mri" / "alm_bce"
    quiet = ["trainer.enable_progress_bar=false"]
    assert row_folder(root, experiment, "ALM + BCE", quiet) == root / "table3" / "mri" / "alm_bce"
    cohort_b = row_folder(root, experiment, "ALM + BCE", ["data.root=cohortB", *quiet])
    assert cohort_b == root / "table3" / "mri" / "data.root=cohortB" / "alm_bce"
    assert row_folder(root, experiment, "ALM + BCE", ["data.root=cohortA"]) != cohort_b
