"""The GPU check (``python -m almlit.benchmark.gpu_check``): its parts, and its whole rehearsal on the CPU (slow).

The rehearsal runs every step at toy sizes (``--device cpu --tiny``), so the one command prepared for a GPU machine
cannot rot between GPU loans; the figures it reports are checked against the run folders and files behind them.
"""

import csv
import importlib
import json
import math
import shutil
import sys
import zipfile

import pytest
import torch

from almlit.benchmark import gpu_check
from almlit.benchmark.gpu_report import stacked_table
from almlit.benchmark.settings import bench_settings
from almlit.benchmark.synthetic import build_datamodule
from almlit.benchmark.training import bench_module, on_device, probe_batch_size
from almlit.benchmark.wheels import wheel_requirements
from almlit.report.experiments import load_experiment
from tests.helpers.commands import REPO_ROOT, run_module
from tests.helpers.configs import compose_bench

METADATA = """Metadata-Version: 2.1
Name: example
Version: 1.0
Requires-Dist: numpy>=1.25
Requires-Dist: importlib-resources>=5.12; python_version < '3.12'
Requires-Dist: typing-extensions>=4.6; python_version < '3.13'
Requires-Dist: h5py>=3.8; extra == 'all'
"""


def test_wheel_requirements_are_those_that_apply_on_the_gpu_python(tmp_path):
    wheel = tmp_path / "example-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("example-1.0.dist-info/METADATA", METADATA)
    # Python 3.12, no extras: numpy always, typing-extensions (< 3.13); not importlib-resources (< 3.12), not h5py
    assert [str(requirement) for requirement in wheel_requirements(wheel, "3.12")] == [
        "numpy>=1.25",
        'typing-extensions>=4.6; python_version < "3.13"',
    ]


def test_missing_packages_without_wheels_stop_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check, "NEEDED_MODULES", ("almlit_no_such_module",))
    with pytest.raises(SystemExit) as stop:
        gpu_check.ensure_packages(tmp_path)
    assert str(stop.value) == (
        f"gpu_check: ['almlit_no_such_module'] are not installed and {tmp_path} holds no wheels: run make gpu-wheels"
    )


def test_present_packages_install_nothing(tmp_path):
    assert gpu_check.ensure_packages(tmp_path) == ([], None)


def test_unknown_step_is_refused_with_the_list_of_steps(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        gpu_check.main([str(tmp_path), "--steps", "smoke_resnet10_32", "warp_drive"])
    assert stop.value.code == 2
    names = [step.name for step in (*gpu_check.FUNCTIONAL, *gpu_check.TIMED)]
    assert f"error: unknown steps ['warp_drive']; the steps are {names}" in capsys.readouterr().err.replace("\n", "")
    assert not (tmp_path / "gpu_check.json").exists()


def test_batch_size_probe_doubles_up_to_the_training_set(monkeypatch):
    config = compose_bench("data=digits", "model.width=4", "bench.device=cpu", "bench.probe_seconds=1000")
    settings = bench_settings(config.bench)
    datamodule = build_datamodule(config.data, synthetic=False)
    module = on_device(bench_module(config, datamodule, constrained=True), torch.device("cpu"))
    largest, trials = probe_batch_size(module, datamodule, settings)
    size, expected = datamodule.batch_size, []
    while size <= len(datamodule.train_dataset):
        expected.append(size)
        size *= 2
    assert [trial["batch_size"] for trial in trials] == expected
    assert largest == expected[-1]
    assert all(trial["seconds_per_step"] > 0 for trial in trials)


def test_batch_size_probe_stops_at_the_first_size_out_of_memory(monkeypatch):
    config = compose_bench("data=digits", "model.width=4", "bench.device=cpu", "bench.probe_seconds=1000")
    datamodule = build_datamodule(config.data, synthetic=False)
    module = on_device(bench_module(config, datamodule, constrained=True), torch.device("cpu"))
    forward = module.forward

    def limited(images):  # a device that holds at most 2 x the first batch
        if len(images) > 2 * datamodule.batch_size:
            raise torch.OutOfMemoryError("out of memory (simulated)")
        return forward(images)

    monkeypatch.setattr(module, "forward", limited)
    largest, trials = probe_batch_size(module, datamodule, bench_settings(config.bench))
    first = datamodule.batch_size
    assert largest == 2 * first
    assert [(trial["batch_size"], trial.get("out_of_memory", False)) for trial in trials] == [
        (first, False),
        (2 * first, False),
        (4 * first, True),
    ]


# ---------------------------------------------------------------- the rehearsal (slow)


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpu_check")
    arguments = [str(folder / "out"), "--device", "cpu", "--tiny", "--work", str(folder / "work"), "--budget", "1500"]
    result = run_module("almlit.benchmark.gpu_check", *arguments, cwd=folder, timeout=1800)
    summary = json.loads((folder / "out" / "gpu_check.json").read_text())
    return result, summary, folder


def runs(folder):
    return folder / "work" / "outputs" / "runs"


@pytest.mark.slow
def test_rehearsal_runs_every_step_and_writes_its_report(rehearsal):
    result, summary, folder = rehearsal
    failed = {
        name: (step["status"], step["error"]) for name, step in summary["steps"].items() if step["status"] != "ok"
    }
    assert result.returncode == 0 and not failed, (failed, result.stdout[-3000:])
    assert list(summary["steps"]) == [step.name for step in (*gpu_check.FUNCTIONAL, *gpu_check.TIMED)]
    assert summary["environment"]["torch"] == torch.__version__
    assert summary["environment"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert summary["wall_s"] < summary["budget_s"]
    report = (folder / "out" / "gpu_check.md").read_text()
    for step in summary["steps"].values():
        assert f"| {step['title']} | ok |" in report
    log = (folder / "out" / "gpu_check.log").read_text()
    assert log.count("===== [smoke_resnet10_32] ") == 2


@pytest.mark.slow
def test_rehearsal_smoke_figures_are_those_of_the_run_folders(rehearsal):
    _, summary, folder = rehearsal
    for name in ("smoke_resnet10_32", "smoke_resnet10_bf16_cl", "smoke_resnet10_compile", "smoke_resnet32_lt_m2",
                 "smoke_cnn3d_mri"):  # fmt: skip
        figures = summary["steps"][name]["figures"]
        metrics = json.loads((runs(folder) / name / "metrics.json").read_text())
        assert (runs(folder) / name / "COMPLETE").is_file()
        assert figures["epochs_trained"] == metrics["epochs_trained"] == 2
        assert all(math.isfinite(value) for value in metrics["test"].values())
        assert set(figures["devices"].values()) == {"cpu"}
    assert summary["steps"]["smoke_resnet10_bf16_cl"]["figures"]["weights_format"] == "channels_last"
    assert summary["steps"]["smoke_resnet10_32"]["figures"]["weights_format"] == "contiguous"
    assert summary["steps"]["smoke_resnet10_bf16_cl"]["figures"]["precision"] == "bf16-mixed"


@pytest.mark.slow
def test_rehearsal_determinism_and_preemption_compare_real_runs(rehearsal):
    _, summary, folder = rehearsal
    assert summary["steps"]["determinism"]["figures"]["identical"]
    preemption = summary["steps"]["preemption"]["figures"]
    assert preemption["returncodes"] == [128 + 15, 0]  # stopped by SIGTERM, then resumed to the end
    assert preemption["steps_per_epoch"] < preemption["signalled_at_step"] < 2 * preemption["steps_per_epoch"]
    scores = [(runs(folder) / name / "test_scores.csv").read_text() for name in ("deterministic_a", "preempted")]
    assert scores[0] == scores[1] and len(list(csv.reader(scores[0].splitlines()))) > 1


@pytest.mark.slow
def test_rehearsal_timings_are_read_from_the_bench_members_and_cost_outputs(rehearsal):
    _, summary, folder = rehearsal
    steps = summary["steps"]
    for name in ("bench_32_b64", "bench_bf16_b64", "bench_bf16_nocl_b64", "bench_32_probe", "bench_bf16_probe"):
        figures = steps[name]["figures"]
        assert figures["alm_over_base"] == pytest.approx(figures["base_images_per_s"] / figures["alm_images_per_s"])
    assert (
        steps["bench_bf16_probe"]["figures"]["batch_size_probe"][-1]["batch_size"]
        == (steps["bench_bf16_probe"]["figures"]["batch_size"])
    )
    rates = {"32-true": steps["bench_32_b64"]["figures"]["alm_images_per_s"],
             "bf16-mixed+channels_last": steps["bench_bf16_b64"]["figures"]["alm_images_per_s"]}  # fmt: skip
    assert summary["best_setting"] == max(rates, key=rates.get) == steps["cost"]["figures"]["setting"]
    members = steps["members"]["figures"]
    assert list(members["aggregate_images_per_s"]) == ["1", "2"]  # JSON keys
    for count, each in members["images_per_s_each"].items():
        assert len(each) == int(count)
        assert members["aggregate_images_per_s"][count] == pytest.approx(sum(each))
    stacking = steps["bench_stack"]["figures"]["stacking"]
    assert [row["members"] for row in stacking] == list(gpu_check.TINY.stack)
    for row in stacking:
        assert row["stacked_over_separate"] == pytest.approx(row["stacked_images_per_s"] / row["separate_images_per_s"])
    assert steps["bench_32_b64"]["figures"]["stacking"] == []  # the other bench steps time no stack
    experiment = load_experiment(REPO_ROOT / "experiments" / "table1_cifar10_imb100.yaml")
    table1 = steps["cost"]["figures"]["tables"]["table1"]
    assert table1["runs"] == len(experiment.rows) * experiment.members


def stack_row(members, stacked, separate):
    return {"members": members, "stacked_images_per_s": stacked, "separate_images_per_s": separate,
            "stacked_over_separate": stacked / separate}  # fmt: skip


def test_stacked_table_compares_a_stack_of_ten_with_one_member_alone():
    rows = [stack_row(1, 900.0, 1000.0), stack_row(10, 6000.0, 1100.0)]
    summary = {"steps": {"bench_stack": {"status": "ok", "error": None, "figures": {"stacking": rows}}}}
    table = stacked_table(summary)
    # by hand: 6000 / 1000 = 6.00 >= 5 (ok); 900 / 1000 = 0.90; 6000 / 1100 = 5.45 stacked over 10 separate runs
    assert "| 10 | 6000 | 1100 | 5.45 | 6.00 ok |" in table
    assert "| 1 | 900 | 1000 | 0.90 | 0.90 |" in table
    rows[1]["stacked_images_per_s"] = 4000.0
    assert "| 10 | 4000 | 1100 | 5.45 | 4.00 MISSED |" in stacked_table(summary)
    failed = {"steps": {"bench_stack": {"status": "timeout", "error": "75 s", "figures": {}}}}
    assert "not measured: 75 s" in stacked_table(failed)
    assert stacked_table({"steps": {}}) == []


def test_missing_packages_are_installed_from_the_wheels_into_a_temporary_folder(tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    info = "almlit_carried-1.0.dist-info"
    files = {
        "almlit_carried/__init__.py": "ANSWER = 42\n",
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: almlit-carried\nVersion: 1.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(wheels / "almlit_carried-1.0-py3-none-any.whl", "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    monkeypatch.setattr(gpu_check, "NEEDED_MODULES", ("almlit_carried",))
    monkeypatch.setattr(sys, "path", list(sys.path))
    missing, site = gpu_check.ensure_packages(wheels)
    assert missing == ["almlit_carried"] and site is not None and sys.path[0] == site
    assert importlib.import_module("almlit_carried").ANSWER == 42
    sys.modules.pop("almlit_carried")
    shutil.rmtree(site)
