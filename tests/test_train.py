"""``python -m almlit.train`` end to end on the embedded digits and on generated CIFAR files: its ``main`` in this
process, and in a subprocess where the command line itself is tested (exit status, the line on stderr)."""

import csv
import json

import pytest
import torch

from almlit.benchmark.synthetic import write_random_cifar

RUN_FILES = ("config.yaml", "metrics.json", "test_scores.csv", "roc.png", "checkpoints/last.ckpt", "COMPLETE")


def read_scores(path):
    with path.open() as stream:
        return list(csv.DictReader(stream))


def test_digits_run_folder_holds_everything(train, tmp_path):
    result = train("trainer.max_epochs=2", "hydra.run.dir=run")
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "run"
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["test"]) == {
        *("auc", "fpr@98tpr", "fpr@95tpr", "fpr@92tpr", "fpr@90tpr", "fpr@0fn", "fpr@1fn"),
        *("pauc@30fpr", "tpauc@50tpr30fpr"),
    }
    assert 0.0 <= metrics["test"]["auc"] <= 1.0
    assert metrics["input_shape"] == [1, 8, 8]  # one 8x8 gray image: what almlit.predict and almlit.export check
    rows = read_scores(run_dir / "test_scores.csv")
    # the digits test set is 50 images of each of the ten digits; digit 8 is the positive class
    assert len(rows) == 500
    assert sum(int(row["label"]) for row in rows) == 50
    assert len({row["sample_id"] for row in rows}) == 500
    assert "test: auc=" in result.stdout
    config = (run_dir / "config.yaml").read_text()
    assert "imbalance_ratio: 100" in config and "${" not in config


def test_cifar10_design_card_command_on_local_pickle_files(train, tmp_path):
    write_random_cifar(tmp_path / "cifar", "cifar10", train_per_class=120, test_per_class=20)
    result = train(
        "loss=a_fl",
        "alm=binary",
        "data=cifar10",
        "imb=10",
        "data.root=cifar",
        "data.download=false",
        "debug=smoke",
        "hydra.run.dir=run",
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    # 120 - 100 validation images of the negative class; positives 20 // 10 = 2
    assert metrics["class_counts"]["train"] == [20, 2]
    assert len(read_scores(tmp_path / "run" / "test_scores.csv")) == 40


def test_ldam_uses_a_two_output_normed_head(train, tmp_path):
    result = train("loss=ldam", "model.normed_head=true", "num_outputs=2", "trainer.max_epochs=1", "hydra.run.dir=run")
    assert result.returncode == 0, result.stderr
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    head = [value for key, value in state.items() if key.startswith("network.head")]
    assert [tuple(value.shape) for value in head] == [(64, 2)]


@pytest.mark.slow  # a subprocess; the catalogue (tests/catalogue) checks the same message in process in the fast suite
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["imb=0.5"], "imb must be >= 1"),
        (["imb=1000"], "leaves no positive training sample"),
        (["data=cifar10", "data.root=nowhere", "data.download=false"], "CIFAR10 not found under nowhere"),
    ],
)
def test_bad_input_gets_one_line_and_leaves_nothing(train_command, tmp_path, overrides, message):
    result = train_command(*overrides, "hydra.run.dir=run")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("almlit: error: ") and message in lines[-1], result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow  # a subprocess; the catalogue's cifar-* rows check these messages in process in the fast suite
def test_garbage_cifar_file_is_named(train_command, tmp_path):
    folder = write_random_cifar(tmp_path / "cifar", "cifar10", train_per_class=12, test_per_class=2)
    (folder / "data_batch_3").write_bytes(b"not a pickle")
    result = train_command("data=cifar10", "data.root=cifar", "data.download=false", "hydra.run.dir=run")
    assert result.returncode == 2
    assert "data_batch_3 is not a CIFAR python-pickle file" in result.stderr.strip().splitlines()[-1]


@pytest.mark.slow  # a subprocess; the catalogue (tests/catalogue) checks the same message in process in the fast suite
def test_unknown_choice_lists_the_available_ones(train_command):
    result = train_command("loss=nope")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("almlit: error: loss=nope is no option of the group loss; choose one of a_fl, ")
    assert "mbauc" in line


@pytest.mark.slow
def test_resume_after_epoch_one_equals_an_uninterrupted_run(train, tmp_path):
    common = ["trainer.deterministic=true", "imb=20", "callbacks.early_stopping=null"]
    assert train(*common, "trainer.max_epochs=3", "hydra.run.dir=whole").returncode == 0
    assert train(*common, "trainer.max_epochs=1", "hydra.run.dir=first").returncode == 0
    # a finished run is never overwritten: its continuation goes to a folder of its own
    resumed = train(*common, "trainer.max_epochs=3", "hydra.run.dir=split", "ckpt_path=first/checkpoints/last.ckpt")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from first/checkpoints/last.ckpt" in resumed.stdout
    whole = torch.load(tmp_path / "whole/checkpoints/last.ckpt", weights_only=False)
    split = torch.load(tmp_path / "split/checkpoints/last.ckpt", weights_only=False)
    assert whole["epoch"] == split["epoch"] == 2
    assert torch.count_nonzero(whole["state_dict"]["bank.multipliers"]) > 0
    for key in ("bank.multipliers", "penalty"):
        assert torch.equal(whole["state_dict"][key], split["state_dict"][key]), key
    for key, value in whole["state_dict"].items():
        torch.testing.assert_close(split["state_dict"][key], value, rtol=0, atol=0, msg=key)
