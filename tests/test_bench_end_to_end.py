"""The bench's end-to-end stacked row: the demo as one stack against separate processes (bench.end_to_end)."""

import json
import statistics
import sys

import pytest

from almlit.bench import run_bench
from almlit.benchmark.end_to_end import (
    demo_command,
    end_to_end_line,
    end_to_end_row,
    measure_end_to_end,
    run_timed,
)
from almlit.benchmark.results import check_targets, format_table
from almlit.benchmark.settings import bench_settings
from tests.helpers.configs import TINY_BENCH, compose_bench


def test_the_two_commands_are_the_demo_as_one_stack_and_with_a_process_per_run(tmp_path):
    stacked = demo_command("stacked", tmp_path / "a", seeds=3, max_epochs=40)
    separate = demo_command("separate", tmp_path / "b", seeds=2, max_epochs=5)
    assert stacked == [
        sys.executable, "-m", "almlit.demo", "--output-root", str(tmp_path / "a"),
        "--stack", "6", "--seeds", "3", "--max-epochs", "40",
    ]  # fmt: skip
    assert separate[3:] == ["--output-root", str(tmp_path / "b"), "--stack", "1", "--seeds", "2", "--max-epochs", "5"]


def test_the_row_holds_the_medians_their_quotient_and_the_target():
    samples = {"stacked": [20.0, 30.0, 25.0], "separate": [70.0, 90.0, 80.0]}
    row = end_to_end_row(samples, seeds=3, max_epochs=40, load_average=(1.5, 2.25))
    assert row["runs"] == 6 and row["arguments"] == ["--seeds", "3", "--max-epochs", "40"]
    assert row["stacked_seconds"] == 25.0 and row["separate_seconds"] == 80.0
    assert row["separate_over_stacked"] == pytest.approx(3.2) and row["target"] == 3.0 and row["holds"] is True
    assert row["stacked_seconds_by_repeat"] == [20.0, 30.0, 25.0] and row["load_average"] == [1.5, 2.25]
    line = end_to_end_line(row)
    assert "python -m almlit.demo --seeds 3 --max-epochs 40 (6 runs)" in line
    assert "one stack 25.0 s" in line and "separate processes 80.0 s" in line
    assert "separate / stack 3.20x   target >= 3x ok" in line and "median of 3, interleaved" in line
    assert "load average 1.50 to 2.25" in line


def test_a_ratio_below_three_is_reported_as_missed():
    row = end_to_end_row({"stacked": [30.0], "separate": [85.0]}, seeds=3, max_epochs=40, load_average=(0, 0))
    assert row["holds"] is False
    assert "separate / stack 2.83x   target >= 3x MISSED" in end_to_end_line(row)
    checked = check_targets(
        {"training": {"alm_over_base": 1.0}, "data": {"batched_over_per_sample": 9.0}, "end_to_end": row}
    )
    assert checked["separate_over_stacked"] == {
        "value": pytest.approx(85.0 / 30.0),
        "comparison": ">=",
        "limit": 3.0,
        "holds": False,
    }


def test_the_measurement_interleaves_the_two_commands_into_fresh_folders():
    calls = []

    def run(command):
        calls.append(command)
        return float(len(calls))

    row = measure_end_to_end(3, seeds=1, max_epochs=2, run=run)
    variants = ["separate" if "1" == command[command.index("--stack") + 1] else "stacked" for command in calls]
    assert variants == ["stacked", "separate", "separate", "stacked", "stacked", "separate"]
    folders = [command[command.index("--output-root") + 1] for command in calls]
    assert len(set(folders)) == 6  # a finished run folder would be skipped by the next demo
    assert row["stacked_seconds_by_repeat"] == [1.0, 4.0, 5.0] and row["separate_seconds_by_repeat"] == [2.0, 3.0, 6.0]
    assert row["stacked_seconds"] == statistics.median([1.0, 4.0, 5.0]) and row["runs"] == 2


def test_a_failing_command_names_itself_and_its_last_error_line():
    command = [sys.executable, "-c", "import sys; print('first', file=sys.stderr); sys.exit('the last line')"]
    with pytest.raises(RuntimeError, match=r"^-c import sys; .* failed with exit status 1: the last line$"):
        run_timed(command)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("bench.end_to_end=sometimes", "bench.end_to_end must be true or false, got 'sometimes'"),
        ("bench.end_to_end_repeats=0", "bench.end_to_end_repeats must be an int >= 1, got 0"),
        ("bench.end_to_end_seeds=0", "bench.end_to_end_seeds must be an int >= 1, got 0"),
        ("bench.end_to_end_epochs=-1", "bench.end_to_end_epochs must be an int >= 1, got -1"),
    ],
)
def test_bad_end_to_end_options_are_named(option, message):
    with pytest.raises(ValueError, match="^" + message + "$"):
        bench_settings(compose_bench(option).bench)


def test_the_end_to_end_row_is_off_by_default():
    assert bench_settings(compose_bench().bench).end_to_end is False


@pytest.mark.slow
def test_the_bench_times_both_demo_commands_and_prints_the_row(tmp_path):
    options = ["bench.stack=[]", "bench.end_to_end=true", "bench.end_to_end_seeds=1", "bench.end_to_end_epochs=1"]
    results = run_bench(compose_bench(*TINY_BENCH, *options), "small_cnn", "digits")
    row = results["end_to_end"]
    assert row["runs"] == 2 and row["arguments"] == ["--seeds", "1", "--max-epochs", "1"]
    assert row["stacked_seconds"] > 0 and row["separate_seconds"] > 0
    assert row["separate_over_stacked"] == row["separate_seconds"] / row["stacked_seconds"]
    assert results["targets"]["separate_over_stacked"]["value"] == row["separate_over_stacked"]
    table = format_table(results)
    assert "stacked members (ensemble.stack=K)" in table and end_to_end_line(row) in table
    json.dumps(results)  # the JSON holds the row as it is
