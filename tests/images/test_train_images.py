"""``python -m almlit.train data=images`` end to end on a folder of real digit images written to PNG."""

import csv
import json

import pytest
from sklearn.metrics import roc_auc_score

from tests.helpers.image_folders import DIGIT_FOLDER_RUN, write_digit_folder


@pytest.mark.slow
def test_training_on_an_image_folder_writes_a_run_folder(train, tmp_path):
    files = write_digit_folder(tmp_path / "digits", {"eight": 174, "other": 400}, {"eight": 8, "other": 3})
    result = train(
        *DIGIT_FOLDER_RUN,
        "trainer.max_epochs=4",
        "hydra.run.dir=run",
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    with (tmp_path / "run" / "test_scores.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:  # every test score belongs to the file of its sample id, with that file's label
        assert int(row["label"]) == (files[int(row["sample_id"])].parent.name == "eight")
    labels = [int(row["label"]) for row in rows]
    negatives = sum(path.parent.name == "other" for path in files)  # scikit-learn ships 183 threes
    assert sum(labels) == 174 // 5 + 1 and len(labels) - sum(labels) in (negatives // 5, negatives // 5 + 1)
    auc = roc_auc_score(labels, [float(row["score"]) for row in rows])
    assert metrics["test"]["auc"] == pytest.approx(auc, abs=1e-6)
    assert auc > 0.85  # eights against threes are easy after 4 epochs
    assert any((tmp_path / "data" / "image_cache").rglob("*.npy"))  # the decoded images were cached
