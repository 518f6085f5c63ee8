"""almlit.cost: a table's runs, epochs, time and FLOPs, checked against hand counts and an independent FLOP count."""

import json
import math

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch.utils.flop_counter import FlopCounterMode

from almlit.benchmark.cost_model import (
    EpochTiming,
    RowPlan,
    duration,
    markdown,
    representatives,
    table_costs,
    timing_key,
)
from almlit.config import CONFIG_DIR
from almlit.cost import main

EXPERIMENT = """\
table: tiny
setting: digits_imb10
title: Digits
members: 3
metrics: [auc]
common: [data=digits, imb=10, model.width=4]
rows:
  BCE: [loss=bce, alm=none]
  ALM + BCE: [loss=bce, alm=binary]
"""


def plan(row, group, members=2, max_epochs=10, table="t1", setting="s1", constrained=False):
    return RowPlan(table, setting, row, members, max_epochs, group, constrained)


def timing(seconds, batches=4, gflop=0.5, row="s1: A", stack=None, speedup=None):
    return EpochTiming(
        seconds=seconds,
        train_batches=batches,
        train_images=100,
        gflop_per_step=gflop,
        measured_row=row,
        stack=stack,
        stacked_speedup=speedup,
    )


def test_a_stacked_projection_divides_each_groups_epochs_by_its_speedup():
    plans = [plan("A", "g1"), plan("C", "g2", max_epochs=5)]  # 2 x 10 epochs at 3 s, 2 x 5 epochs at 7 s
    timings = {"g1": timing(3.0, stack=4, speedup=2.0), "g2": timing(7.0, stack=4, speedup=3.5)}
    (cost,) = table_costs(plans, timings)
    assert cost.seconds == pytest.approx(20 * 3 + 10 * 7)
    assert cost.stacked_seconds == pytest.approx(20 * 3 / 2.0 + 10 * 7 / 3.5)
    text = markdown([cost], timings, "a CPU")
    assert "| with ensemble.stack=4 (at most) |" in text and "| t1 | s1 | 2 | 4 | 30 | 2 min | 1 min |" in text
    assert "| s1: A | 100 | 4 | 0.5 | 3.0 s | 2.00x |" in text
    (unstacked,) = table_costs(plans, {"g1": timing(3.0, stack=4, speedup=2.0), "g2": timing(7.0)})
    assert unstacked.stacked_seconds is None  # a group without a stacked measurement: no projection


def test_table_costs_add_members_times_epochs_times_each_groups_epoch():
    plans = [
        plan("A", "g1"),  # 2 x 10 epochs at 3 s
        plan("B", "g1", members=1, setting="s2"),  # 1 x 10 epochs at 3 s
        plan("C", "g2", max_epochs=5),  # 2 x 5 epochs at 7 s
        plan("D", "g2", table="t2"),  # another table: 2 x 10 epochs at 7 s
    ]
    timings = {"g1": timing(3.0, batches=4, gflop=0.5), "g2": timing(7.0, batches=10, gflop=2.0)}
    first, second = table_costs(plans, timings)
    assert (first.table, first.settings, first.rows, first.runs, first.epochs) == ("t1", ("s1", "s2"), 3, 5, 40)
    assert first.seconds == pytest.approx(20 * 3 + 10 * 3 + 10 * 7)
    assert first.pflop == pytest.approx((30 * 4 * 0.5 + 10 * 10 * 2.0) / 1e6)
    assert (second.table, second.runs, second.epochs, second.seconds) == ("t2", 2, 20, pytest.approx(140.0))


def test_a_group_without_timing_is_an_error():
    with pytest.raises(KeyError):
        table_costs([plan("A", "g1")], {})


def test_the_constrained_row_of_a_group_is_timed():
    plans = [plan("BCE", "g1"), plan("ALM + BCE", "g1", constrained=True), plan("LDAM", "g2")]
    chosen = representatives(plans)
    assert {group: chosen[group].row for group in chosen} == {"g1": "ALM + BCE", "g2": "LDAM"}


def test_rows_differing_in_loss_or_constraint_share_a_timing_and_other_data_does_not():
    base = {"model": {"width": 64}, "data": {"batch_size": 64}, "imb": 100, "module": {}, "sampler": {}}
    config = {**base, "trainer": {"precision": "32-true", "max_epochs": 100}, "loss": {"name": "bce"}, "alm": None}
    same = {**config, "loss": {"name": "a_fl"}, "alm": {"constraint": {}}, "trainer": {"precision": "32-true"}}
    assert timing_key(config) == timing_key(same)
    for changed in ({"imb": 200}, {"data": {"batch_size": 32}}, {"trainer": {"precision": "bf16-mixed"}}):
        assert timing_key({**config, **changed}) != timing_key(config)


@pytest.mark.parametrize(
    ("seconds", "text"), [(59, "1 min"), (42 * 60, "42 min"), (7.5 * 3600, "7.5 h"), (3.1 * 86400, "3.1 d")]
)
def test_durations_read_in_minutes_hours_or_days(seconds, text):
    assert duration(seconds) == text


def test_markdown_lists_each_table_and_each_timed_epoch():
    text = markdown(table_costs([plan("A", "g1")], {"g1": timing(3.0)}), {"g1": timing(3.0)}, "a CPU")
    assert "| t1 | s1 | 1 | 2 | 20 | 1 min | 0.0 |" in text
    assert "| s1: A | 100 | 4 | 0.5 | 3.0 s |" in text


def digits_batch_shape_and_model():
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        config = compose("train", overrides=["data=digits", "imb=10", "model.width=4", "seed=0"])
    datamodule = instantiate(config.data)
    datamodule.setup("fit")
    return config, datamodule


def test_the_command_counts_runs_epochs_and_flops_of_a_real_experiment(tmp_path, capsys):
    experiment = tmp_path / "tiny.yaml"
    experiment.write_text(EXPERIMENT)
    main([str(experiment), "--set", "trainer.max_epochs=7", "bench.device=cpu", "--output", str(tmp_path / "out")])
    numbers = json.loads((tmp_path / "out" / "cost.json").read_text())
    printed = capsys.readouterr().out
    assert printed.startswith((tmp_path / "out" / "cost.md").read_text())

    # one group (the rows differ only by loss and constraint), timed with the ALM row
    (epoch,) = numbers["epochs"]
    assert epoch["measured_row"] == "digits_imb10: ALM + BCE"
    config, datamodule = digits_batch_shape_and_model()
    train_images = len(datamodule.train_dataset)
    assert epoch["train_images"] == train_images
    assert epoch["train_batches"] == math.ceil(train_images / config.data.batch_size)

    # 2 rows x 3 members x 7 epochs, each at the timed epoch
    (table,) = numbers["tables"]
    assert (table["rows"], table["runs"], table["epochs"]) == (2, 6, 42)
    assert table["seconds"] == pytest.approx(42 * epoch["seconds"])
    assert table["pflop"] == pytest.approx(42 * epoch["train_batches"] * epoch["gflop_per_step"] / 1e6)

    # FLOPs of a batch: an independent count of the plain network's forward + backward on a real batch
    images = torch.randn(config.data.batch_size, *datamodule.train_dataset[0][0].shape)
    network = instantiate(config.model)
    with FlopCounterMode(display=False) as counter:
        network(images).sum().backward()
    assert epoch["gflop_per_step"] * 1e9 == pytest.approx(counter.get_total_flops(), rel=0.01)


def test_the_command_projects_the_cost_with_stacks_from_a_measured_stacked_step(tmp_path, capsys):
    experiment = tmp_path / "tiny.yaml"
    experiment.write_text(EXPERIMENT)
    settings = ["trainer.max_epochs=7", "bench.device=cpu", "bench.step_repeats=2", "bench.steps=1"]
    main([str(experiment), "--set", *settings, "--stack", "2", "--output", str(tmp_path / "out")])
    numbers = json.loads((tmp_path / "out" / "cost.json").read_text())
    (epoch,) = numbers["epochs"]
    (table,) = numbers["tables"]
    assert epoch["stack"] == 2 and epoch["stacked_speedup"] > 0
    assert table["stacked_seconds"] == pytest.approx(42 * epoch["seconds"] / epoch["stacked_speedup"])
    assert "with ensemble.stack=2 (at most)" in capsys.readouterr().out


def test_a_bad_override_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    # (more bad inputs of almlit.cost are in the catalogue, tests/catalogue/cases.py)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(EXPERIMENT)
    with pytest.raises(SystemExit) as exit_info:
        main(["tiny.yaml", "--set", "loss=nope", "--output", "out"])
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("almlit: error: ") and "loss=nope is no option of the group loss" in line, line
    assert not (tmp_path / "out").exists()
