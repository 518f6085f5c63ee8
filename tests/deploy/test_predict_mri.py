"""``almlit.predict`` on MRI cohorts: the test cohort of a labelled manifest, every subject of a manifest without
labels or cohorts, and data whose channels do not fit the network."""

import csv

import numpy as np
import pytest
import torch

from almlit.data.mri import PreprocessSettings, preprocess_subject, read_manifest
from almlit.predict import main as predict_main
from tests.helpers.mri_files import build_cohort, write_manifest
from tests.helpers.network_runs import MRI_RUN, read_network, write_network_run


def read_rows(path):
    with path.open() as stream:
        return list(csv.DictReader(stream))


@pytest.fixture
def mri_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = build_cohort(tmp_path / "cohort")
    return write_network_run(tmp_path / "run", MRI_RUN, input_shape=(2, 4, 6, 6)), rows


def reference_logits(run_dir, manifest, subject_ids):
    """Each subject preprocessed on its own and scored by the network."""
    settings = PreprocessSettings(("t2w", "adc"), (4, 6, 6))
    subjects = {
        subject.subject_id: subject for subject in read_manifest(manifest, ("t2w", "adc"), "{subject_id}/{sequence}")
    }
    volumes = np.stack([preprocess_subject(subjects[name], settings) for name in subject_ids])
    with torch.no_grad():
        return read_network(run_dir)(torch.from_numpy(volumes)).reshape(-1).numpy()


def test_labelled_cohort_predicts_its_test_cohort(mri_run):
    run_dir, rows = mri_run
    predict_main([str(run_dir), "--no-progress"])
    predicted = read_rows(run_dir / "predictions" / "predictions.csv")
    assert [row["subject_id"] for row in predicted] == ["S07", "S08"]  # the two subjects of the test cohort
    assert [row["label"] for row in predicted] == ["0", "1"]
    expected = reference_logits(run_dir, run_dir.parent / "cohort" / "manifest.csv", ["S07", "S08"])
    np.testing.assert_allclose([float(row["logit"]) for row in predicted], expected, atol=1e-5)


def test_manifest_without_labels_predicts_every_subject(mri_run, tmp_path):
    run_dir, rows = mri_run
    write_manifest(tmp_path / "cohort" / "unlabelled.csv", [{"subject_id": row["subject_id"]} for row in rows])
    predict_main([str(run_dir), "data.manifest=unlabelled.csv", "--no-progress", "--output", "new"])
    predicted = read_rows(tmp_path / "new" / "predictions.csv")
    assert list(predicted[0]) == ["sample_id", "subject_id", "logit"]
    assert [row["subject_id"] for row in predicted] == [f"S{index:02d}" for index in range(1, 9)]
    names = [row["subject_id"] for row in predicted]
    expected = reference_logits(run_dir, tmp_path / "cohort" / "manifest.csv", names)
    np.testing.assert_allclose([float(row["logit"]) for row in predicted], expected, atol=1e-5)


def test_channels_that_do_not_fit_are_refused(mri_run, capsys):
    run_dir, _ = mri_run
    with pytest.raises(SystemExit) as stop:
        predict_main([str(run_dir), "data.sequences=[t2w]", "--no-progress"])
    assert stop.value.code == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "the data's samples have shape [1, 4, 6, 6] (channels, depth, height, width) but the model was trained on "
            "[2, 4, 6, 6]: predict needs data of the shape and channels the model was trained on"
        )
    )
    assert not (run_dir / "predictions").exists()
