"""predict and export on folders that almlit.train and almlit.ensemble really trained (subprocesses, slow)."""

import csv

import numpy as np
import pytest

from tests.helpers.commands import QUIET, run_module

TINY = (*QUIET, "trainer.max_epochs=2", "model.width=8")


def read_table(path, score_column):
    """``{sample_id: (label, score)}`` of a scores or predictions CSV, the score as written (exact text)."""
    with path.open() as stream:
        return {row["sample_id"]: (row["label"], row[score_column]) for row in csv.DictReader(stream)}


@pytest.mark.slow
def test_predict_reproduces_a_runs_test_scores_and_export_matches(tmp_path):
    trained = run_module("almlit.train", *TINY, "hydra.run.dir=run", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    predicted = run_module("almlit.predict", "run", "--no-progress", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert "predicted 500 samples with run (1 network(s))" in predicted.stdout
    expected = read_table(tmp_path / "run" / "test_scores.csv", "score")
    assert read_table(tmp_path / "run" / "predictions" / "predictions.csv", "logit") == expected
    exported = run_module("almlit.export", "run", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "run" / "export" / "model.onnx").is_file()


@pytest.mark.slow
def test_predict_on_an_ensemble_gives_the_reports_logits(tmp_path):
    trained = run_module("almlit.ensemble", "members=2", "dir=ensemble", *TINY, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    predicted = run_module("almlit.predict", "ensemble", "--no-progress", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    expected = read_table(tmp_path / "ensemble" / "ensemble_scores.csv", "score")
    found = read_table(tmp_path / "ensemble" / "predictions" / "predictions.csv", "logit")
    assert found.keys() == expected.keys()
    assert [found[key][0] for key in found] == [expected[key][0] for key in found]
    np.testing.assert_array_equal([float(found[key][1]) for key in found], [float(expected[key][1]) for key in found])
