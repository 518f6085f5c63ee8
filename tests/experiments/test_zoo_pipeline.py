"""The comparison zoo's table end to end: peer methods of table1-zoo, one member each, on generated CIFAR10 files."""

import csv

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from almlit.benchmark.synthetic import write_random_cifar
from tests.helpers.commands import REPO_ROOT, run_module

pytestmark = pytest.mark.slow  # trains 4 methods x 1 member end to end (about a minute)

EXPERIMENT = REPO_ROOT / "experiments" / "table1_zoo_cifar10_imb100.yaml"
ROWS = {"AUCM": "aucm", "pAUC-1W": "pauc_1w", "Balanced Softmax": "balanced_softmax", "ALM + VS": "alm_vs"}
SMOKE = ["data.root=cifar", "data.download=false", "debug=smoke"]


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zoo")
    write_random_cifar(folder / "cifar", "cifar10", train_per_class=300, test_per_class=30)
    arguments = [str(EXPERIMENT), "--rows", *ROWS, "--members", "1", "--train", "--root", "tables"]
    arguments += ["--output", "report", "--paper", "--set", *SMOKE]
    return folder, run_module("almlit.report", *arguments, cwd=folder)


def member_folder(folder, slug):
    # the --set overrides that change training name a folder of their own (run identity)
    setting = folder / "tables" / "table1" / "cifar10_imb100" / "data.root=cifar,debug=smoke"
    return setting / slug / "member0"


def member_scores(folder, slug):
    table = np.loadtxt(member_folder(folder, slug) / "test_scores.csv", delimiter=",", skiprows=1)
    return table[:, 1], table[:, 2]


def test_zoo_rows_are_reported_with_the_partial_aucs(zoo):
    folder, result = zoo
    assert result.returncode == 0, result.stderr[-3000:]
    with (folder / "report" / "table1.csv").open() as stream:
        lines = list(csv.DictReader(stream))
    assert {line["method"] for line in lines} == set(ROWS)
    assert {line["metric"] for line in lines} == {
        "fpr@98tpr",
        "fpr@95tpr",
        "fpr@92tpr",
        "auc",
        "pauc@30fpr",
        "tpauc@50tpr30fpr",
    }
    for line in lines:
        labels, scores = member_scores(folder, ROWS[line["method"]])
        expected = {
            "auc": 100 * roc_auc_score(labels, scores),
            "pauc@30fpr": 100 * roc_auc_score(labels, scores, max_fpr=0.3),
        }
        if line["metric"] in expected:
            assert float(line["value"]) == pytest.approx(expected[line["metric"]], abs=1e-9), line
        assert line["paper"] == ""  # the paper has none of these rows


def test_each_method_trained_with_its_own_loss_optimiser_and_sampler(zoo):
    folder, _ = zoo
    configs = {slug: (member_folder(folder, slug) / "config.yaml").read_text() for slug in ROWS.values()}
    assert "almlit.optim.PESG" in configs["aucm"] and "almlit.losses.AUCMLoss" in configs["aucm"]
    assert "DualSampler" in configs["pauc_1w"] and "positive_rate: 0.2" in configs["pauc_1w"]
    assert "BalancedSoftmaxLoss" in configs["balanced_softmax"]
    assert "VSLoss" in configs["alm_vs"] and "BinaryConstraint" in configs["alm_vs"]
    for slug in ROWS.values():
        assert (member_folder(folder, slug) / "COMPLETE").is_file()
