"""``almlit.predict`` on a long-tailed CIFAR10 run: C logits per image and the Table 4 rule at frozen thresholds."""

import csv
import json
import pickle

import numpy as np
import pytest
import torch

from almlit.benchmark.synthetic import write_random_cifar
from almlit.decision import multiclass_operating_points
from almlit.decision.operating_points import operating_points_json
from almlit.predict import main as predict_main
from tests.helpers.network_runs import read_network, write_network_run

LONG_TAIL = ("experiment=cifar10_lt", "data.root=cifar", "data.download=false", "data.val_per_class=5", "imb=5")
LONG_TAIL = (*LONG_TAIL, "loss=ce", "alm=m1", "model.width=4")
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)


@pytest.mark.slow  # a ResNet-32 on 50 images, 10-30 s on 2 busy cores
def test_long_tailed_cifar_assigns_the_critical_class_at_its_threshold(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = write_random_cifar(tmp_path / "cifar", "cifar10", train_per_class=30, test_per_class=5)
    run_dir = write_network_run(tmp_path / "run", LONG_TAIL, input_shape=(3, 32, 32))
    with (root / "test_batch").open("rb") as stream:
        test = pickle.load(stream, encoding="bytes")
    raw = np.asarray(test[b"data"], np.uint8).reshape(-1, 3, 32, 32)
    mean, std = np.array(CIFAR_MEAN)[None, :, None, None], np.array(CIFAR_STD)[None, :, None, None]
    with torch.no_grad():
        expected = read_network(run_dir)(torch.from_numpy(((raw / 255 - mean) / std).astype(np.float32))).numpy()
    labels = np.asarray(test[b"labels"])
    document = multiclass_operating_points(expected, labels, [9], [0.8])
    (run_dir / "operating_points.json").write_text(operating_points_json(document))

    predict_main([str(run_dir), "--no-progress"])
    with (run_dir / "predictions" / "predictions.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 50 and [int(row["label"]) for row in rows] == labels.tolist()
    scores = np.array([[float(row[f"score_{c}"]) for c in range(10)] for row in rows])
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    threshold = document["classes"][0]["operating_points"][0]["threshold"]
    for row, logits in zip(rows, expected, strict=True):
        assigned = 9 if logits[9] >= threshold else int(np.argmax(logits[:9]))
        assert int(row["class@9@80tpr"]) == assigned
    summary = json.loads((run_dir / "predictions" / "prediction.json").read_text())
    frozen = summary["metrics"]["operating_points"][0]
    assert frozen["class"] == 9 and frozen["positives"] == 5 and frozen["negatives"] == 45
    assert frozen["tpr"] == np.mean(expected[labels == 9, 9] >= threshold)
