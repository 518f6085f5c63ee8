"""``python -m almlit.report`` on folders that are not there yet, and on bad experiment files, in process."""

import pytest

from almlit.report.__main__ import main
from tests.conftest import REPO_ROOT

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
