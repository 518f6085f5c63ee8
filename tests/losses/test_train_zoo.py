"""The comparison losses and PESG through ``python -m almlit.train``, with the ALM constraint on (alm=binary)."""

import csv
import json
import math

import pytest
import torch

from almlit.benchmark.synthetic import write_random_cifar

ONE_EPOCH = ("trainer.max_epochs=1", "hydra.run.dir=run")


def last_epoch_terms(run_dir):
    """The training terms logged for the last epoch (base loss and, with ALM, its penalty and multiplier terms)."""
    with (run_dir / "logs" / "metrics.csv").open() as stream:
        rows = [row for row in csv.DictReader(stream) if row.get("train/loss")]
    return {key: float(value) for key, value in rows[-1].items() if key.startswith("train/") and value}


def assert_trained_with_the_constraint(result, run_dir):
    assert result.returncode == 0, result.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["test"]["auc"] <= 1.0
    terms = last_epoch_terms(run_dir)
    assert {"train/base_loss", "train/penalty_term", "train/multiplier_term"} <= set(terms)
    assert all(math.isfinite(value) for value in terms.values()), terms


def test_aucm_with_pesg_trains_and_checkpoints_its_variables(train, tmp_path):
    result = train("loss=aucm", "optim=pesg", "callbacks=pesg_stages", *ONE_EPOCH)
    assert_trained_with_the_constraint(result, tmp_path / "run")
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    state = checkpoint["state_dict"]
    assert {"loss.a", "loss.b", "loss.alpha"} <= set(state) and state["loss.alpha"].item() >= 0
    groups = checkpoint["optimizer_states"][0]["param_groups"]
    assert [group["dual"] for group in groups] == [False, True] and groups[1]["params"] == [len(groups[0]["params"])]
    config = (tmp_path / "run" / "config.yaml").read_text()
    assert "almlit.optim.PESGStages" in config and "epoch_decay: 0.002" in config


@pytest.mark.slow  # a subprocess; the catalogue (tests/catalogue) checks the same message in process in the fast suite
def test_aucm_with_sgd_fails_with_one_line_pointing_to_pesg(train_command, tmp_path):
    result = train_command("loss=aucm", "optim=sgd", *ONE_EPOCH)
    assert result.returncode == 2
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        "almlit: error: loss AUCMLoss is a min-max objective whose dual variables need gradient ascent, "
        "which SGD cannot do; use optim=pesg callbacks=pesg_stages (PESG with its stages)"
    )
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides",
    [
        ["loss=pauc_oneway", "loss.max_fpr=0.3"],
        ["loss=pauc_twoway", "loss.max_fpr=0.5", "loss.min_tpr=0.5"],
        ["loss=balanced_softmax"],
        ["loss=logit_adjusted", "loss.tau=0.5"],
        ["loss=vs", "loss.gamma=0.3"],
        ["loss=bce", "optim=pesg", "callbacks=pesg_stages"],
    ],
    ids=lambda overrides: overrides[0].removeprefix("loss=") + ("_pesg" if "optim=pesg" in overrides else ""),
)
def test_comparison_loss_trains_one_epoch_on_digits_under_the_constraint(train, tmp_path, overrides):
    result = train(*overrides, *ONE_EPOCH)
    assert_trained_with_the_constraint(result, tmp_path / "run")
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    head = [value for key, value in state.items() if key.startswith("network.head")]
    assert head[0].shape[0] == 1  # one logit: the binary form of the prior-aware losses


@pytest.mark.slow
def test_balanced_softmax_on_long_tailed_cifar10_with_alm_m1(train, tmp_path):
    write_random_cifar(tmp_path / "cifar", "cifar10", train_per_class=30, test_per_class=4)
    result = train(
        "experiment=cifar10_lt",
        "imb=10",
        "loss=balanced_softmax",
        "alm=m1",
        "data.root=cifar",
        "data.download=false",
        "data.val_per_class=4",
        "debug=smoke",
        "hydra.run.dir=run",
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    # n_max = 30 - 4 validation images; n_c = floor(26 * 10^(-c/9))
    assert metrics["class_counts"]["train"] == [math.floor(26 * 10 ** (-c / 9) + 1e-9) for c in range(10)]
    assert "accuracy" in metrics["test"]
    terms = last_epoch_terms(tmp_path / "run")
    assert "train/penalty_term" in terms and all(math.isfinite(value) for value in terms.values())


@pytest.mark.slow
def test_libauc_aucm_trains_to_the_same_test_metrics_as_ours(train, tmp_path):
    pytest.importorskip("libauc")
    results = {}
    for loss in ("aucm", "aucm_libauc"):
        pesg = ("optim=pesg", "callbacks=pesg_stages")
        result = train(f"loss={loss}", *pesg, "trainer.max_epochs=2", f"hydra.run.dir={loss}")
        assert result.returncode == 0, result.stderr
        results[loss] = json.loads((tmp_path / loss / "metrics.json").read_text())["test"]
    assert results["aucm_libauc"] == pytest.approx(results["aucm"], abs=1e-6)
