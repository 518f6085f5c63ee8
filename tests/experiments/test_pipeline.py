"""The smoke pipeline end to end: Table 1's rows BCE and ALM + BCE, 2 members each, on generated CIFAR10 files."""

import csv
import re

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from almlit.benchmark.synthetic import write_random_cifar
from tests.helpers.commands import REPO_ROOT, run_module

pytestmark = pytest.mark.slow  # trains 2 methods x 2 members end to end (about a minute and a half)

EXPERIMENT = REPO_ROOT / "experiments" / "table1_cifar10_imb100.yaml"
ROWS = {"BCE": "bce", "ALM + BCE": "alm_bce"}
SMOKE = ["data.root=cifar", "data.download=false", "debug=smoke"]


def report(cwd):
    arguments = [str(EXPERIMENT), "--rows", *ROWS, "--members", "2", "--train", "--root", "tables"]
    arguments += ["--output", "report", "--paper", "--ci", "--replicates", "200", "--set", *SMOKE]
    return run_module("almlit.report", *arguments, cwd=cwd)


def expected_metrics(ensemble_dir):
    """Recomputed from the members' saved scores with numpy and scikit-learn: average the logits, rank."""
    members = [
        np.loadtxt(ensemble_dir / f"member{index}" / "test_scores.csv", delimiter=",", skiprows=1) for index in (0, 1)
    ]
    members = [member[np.argsort(member[:, 0])] for member in members]
    labels, average = members[0][:, 1], np.mean([member[:, 2] for member in members], axis=0)
    fpr, tpr, _ = roc_curve(labels, average)
    values = {f"fpr@{level}tpr": 100 * fpr[tpr >= level / 100].min() for level in (98, 95, 92)}
    return {**values, "auc": 100 * roc_auc_score(labels, average)}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    folder = tmp_path_factory.mktemp("smoke")
    # 300 images per class: 200 negatives train after 100 validation images, 2 positives at 1:100
    write_random_cifar(folder / "cifar", "cifar10", train_per_class=300, test_per_class=30)
    return folder, report(folder)


def test_table_numbers_equal_the_members_saved_scores(smoke):
    folder, result = smoke
    assert result.returncode == 0, result.stderr[-3000:]
    with (folder / "report" / "table1.csv").open() as stream:
        lines = list(csv.DictReader(stream))
    assert len(lines) == 2 * 4
    for row, slug in ROWS.items():
        # the --set overrides that change training name a folder of their own (run identity)
        setting = folder / "tables" / "table1" / "cifar10_imb100" / "data.root=cifar,debug=smoke"
        expected = expected_metrics(setting / slug)
        for line in (line for line in lines if line["method"] == row):
            assert float(line["value"]) == pytest.approx(expected[line["metric"]], abs=1e-9)
            assert float(line["ci_low"]) <= float(line["value"]) + 1e-9 <= float(line["ci_high"]) + 2e-9
            assert float(line["paper"]) > 0  # the published number sits beside ours
            # ALM + BCE carries the paired bootstrap interval of its difference to BCE
            assert (line["diff_low"] != "") == (row == "ALM + BCE")
    for name in ("table1.md", "table1.tex", "roc_cifar10_imb100.png"):
        assert (folder / "report" / name).stat().st_size > 0


def test_bold_and_underline_follow_the_papers_rule(smoke):
    folder, _ = smoke
    with (folder / "report" / "table1.csv").open() as stream:
        lines = list(csv.DictReader(stream))
    for metric in ("fpr@98tpr", "fpr@95tpr", "fpr@92tpr", "auc"):
        base, alm = (next(line for line in lines if line["method"] == row and line["metric"] == metric) for row in ROWS)
        sign = 1 if metric == "auc" else -1
        base_value, alm_value = (sign * round(float(line["value"]), 1) for line in (base, alm))
        # two rows: the better is bold and, being the best of the column, underlined; a tie marks both
        assert base["bold"] == base["underline"] == str(int(base_value >= alm_value))
        assert alm["bold"] == alm["underline"] == str(int(alm_value >= base_value))
    markdown = (folder / "report" / "table1.md").read_text()
    assert "**<u>" in markdown and "| ALM + BCE |" in markdown


def test_rerun_trains_nothing_and_gives_the_same_table(smoke):
    folder, _ = smoke
    metrics_files = sorted((folder / "tables").rglob("member*/metrics.json"))
    assert len(metrics_files) == 4
    stamps = [path.stat().st_mtime_ns for path in metrics_files]
    before = (folder / "report" / "table1.csv").read_text()
    result = report(folder)
    assert result.returncode == 0, result.stderr[-3000:]
    # no "training <n> of <m> members ..." line (almlit.ensemble's announcement of members still to train)
    assert not re.search(r"^training \d+ of \d+ members", result.stdout, flags=re.M), result.stdout
    assert [path.stat().st_mtime_ns for path in metrics_files] == stamps
    assert (folder / "report" / "table1.csv").read_text() == before
