"""``python -m almlit.benchmark.gpu_check OUTDIR [--device cuda|cpu] [--tiny]`` (``make gpu-check``): almlit on a GPU.

One command for a GPU machine that starts bare and has no network (docs/gpu.md): it installs the carried wheels
(``make gpu-wheels``) into a temporary folder when Hydra, OmegaConf or nibabel are missing, then runs every step
below as subprocesses with their own time limits, records each step's status, time, figures and, when it fails,
its last lines of output, and goes on with the next. It writes ``gpu_check.md`` (the report), ``gpu_check.json``
(the device, driver, torch version, date, every figure and step) and ``gpu_check.log`` (every command's output)
into OUTDIR.

Steps:
    a. smoke: 2 epochs of binary CIFAR-shaped data (random pixels in CIFAR's file layout) with ResNet-10 in
       32-true, in bf16-mixed with channels-last, and with torch.compile; long-tailed ResNet-32 with alm=m2; the
       3D CNN on a generated MRI cohort. Each must finish with a complete run folder and finite test metrics, with
       the batch, the network, the multiplier bank and mu on the device (:class:`~almlit.callbacks.probes.DeviceProbe`).
    b. determinism: the same command twice with ``trainer.deterministic=true`` gives identical test metrics and
       scores, or the report names the operation without a deterministic implementation.
    c. preemption: SIGTERM in the middle of the second epoch, the same command again, and the result equals the
       uninterrupted run's.
    d. bench: ``almlit.bench`` in 32-true and in bf16-mixed with channels-last, at batch 64 and at the largest batch
       found by probing (``bench.batch_size=probe``).
    e. members: 1, 2, 4, 8 training processes at once on the device (:mod:`almlit.benchmark.members`), at the faster
       setting of d.
    f. cost: ``almlit.cost`` of Tables 1, 2 and 4 at the faster setting of d.
    g. stacked members: ``almlit.bench bench.stack=[1,10]`` in 32-true at batch 64, a stack of 10 networks as one
       batched model against one network alone (:mod:`almlit.stacking`; issue 18's target: at least 5x).

Steps a-c run side by side (they check behaviour); d-g run one at a time (they time). The whole stays within
``--budget`` seconds: a step gets at most what is left, and a step that cannot start in time is recorded as
skipped. ``--device cpu --tiny`` rehearses every step at toy sizes on a CPU (the slow test suite runs it).

Only the standard library is imported before the wheels are installed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import importlib
import importlib.util
import json
import math
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[2]  # src/: the package runs from the checkout, uninstalled
REPO = SRC.parent
NEEDED_MODULES = ("hydra", "omegaconf", "antlr4", "nibabel")  # what the GPU image lacks (almlit.benchmark.wheels)
TAIL_LINES = 25
NONDETERMINISTIC = re.compile(r"(\S+) does not have a deterministic implementation")


@dataclass(frozen=True)
class Scale:
    """The sizes of one check: the GPU's, or the CPU rehearsal's (``--tiny``)."""

    train_per_class: int = 1000  # random CIFAR10 images per class of the smoke, determinism and preemption runs
    test_per_class: int = 200
    val_per_class: int = 100  # binary CIFAR: validation images per class
    lt_val_per_class: int = 20  # long-tailed CIFAR
    imb: int = 10
    model: tuple[str, ...] = ()  # model overrides of the CIFAR runs
    batch: tuple[str, ...] = ()  # batch-size overrides of the binary CIFAR runs (c needs several batches an epoch)
    epochs: int = 2
    mri_cohort: tuple[str, ...] = ("subjects=48", "positives=0.25", "shape=[16,64,64]")
    mri_train: tuple[str, ...] = ()
    bench: tuple[str, ...] = ("bench.step_repeats=5", "bench.repeat_seconds=0.3", "bench.repeats=1")
    bench_setting: tuple[str, ...] = ("model=resnet10", "data=cifar10", "imb=100")  # Table 1's (random pixels)
    matmul_size: int = 8192
    probe_seconds: float = 30.0
    members: tuple[int, ...] = (1, 2, 4, 8)
    member_seconds: float = 6.0
    stack: tuple[int, ...] = (1, 10)  # g: stacked members (issue 18's target: a stack of 10 >= 5x one member alone)
    cost_experiments: tuple[str, ...] = (
        "experiments/table1_cifar10_imb100.yaml",
        "experiments/table1_cifar10_imb200.yaml",
        "experiments/table2_cifar100_imb100.yaml",
        "experiments/table2_cifar100_imb200.yaml",
        "experiments/table4_cifar10_lt_imb100.yaml",
        "experiments/table4_cifar10_lt_imb200.yaml",
    )
    cost_extra: tuple[str, ...] = ()
    timing_data_dir: str = "full"  # bench, members and cost: random-pixel CIFAR10 and CIFAR100 files of the real sizes
    jobs: int = 6  # steps a-c side by side
    compile_env: tuple[tuple[str, str], ...] = ()
    timeouts: dict[str, float] = field(
        default_factory=lambda: {"smoke": 150, "compile": 240, "mri": 150, "determinism": 150, "preemption": 150,
                                 "bench": 75, "members": 120, "cost": 200}
    )  # fmt: skip


GPU = Scale()
TINY = Scale(
    train_per_class=60,
    test_per_class=10,
    val_per_class=10,
    lt_val_per_class=5,
    imb=5,
    model=("model.width=4",),
    batch=("data.batch_size=16",),
    mri_cohort=("subjects=24", "positives=0.3", "shape=[8,24,24]"),
    mri_train=("data.shape=[8,24,24]", "model.widths=[4,8]"),
    bench=("bench.steps=1", "bench.warmup_steps=1", "bench.step_repeats=1", "bench.repeats=1"),
    bench_setting=("model=resnet10", "data=cifar10", "model.width=4", "imb=5", "data.val_per_class=10"),
    matmul_size=128,
    probe_seconds=1.0,
    members=(1, 2),
    member_seconds=1.0,
    stack=(1, 2),
    cost_experiments=("experiments/table1_cifar10_imb100.yaml",),
    cost_extra=("imb=5", "data.val_per_class=10", "model.width=4", "+trainer.limit_train_batches=1"),
    timing_data_dir="data",
    jobs=2,
    # compiling on a CPU takes minutes: the rehearsal runs the module.compile=true path with TorchDynamo disabled
    compile_env=(("TORCHDYNAMO_DISABLE", "1"),),
    timeouts={"smoke": 150, "compile": 150, "mri": 150, "determinism": 150, "preemption": 200, "bench": 120,
              "members": 120, "cost": 150},
)  # fmt: skip


class StepFailed(Exception):
    """A step's check did not hold; the message says which and how."""


@dataclass
class StepRecord:
    """What one step did: status (ok, failed, timeout, skipped), seconds, figures, and the error with its tail."""

    name: str
    title: str
    status: str = "pending"
    seconds: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    tail: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


class Check:
    """The shared state of one check: where it writes, which device, the time left, the log."""

    def __init__(self, out: Path, work: Path, device: str, scale: Scale, budget: float, environment: dict) -> None:
        self.out, self.work, self.device, self.scale = out, work, device, scale
        self.deadline = time.monotonic() + budget
        self.environment = environment
        self.log_lock = threading.Lock()
        self.log = (out / "gpu_check.log").open("w")
        self.results: dict[str, StepRecord] = {}
        self.bench_rates: dict[str, float] = {}  # ALM images/s by setting at batch 64: the faster one is used

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def run(self, record: StepRecord, argv: Sequence[str], timeout: float, env: dict | None = None) -> str:
        """Run ``argv`` (a ``python -m`` command) in the work folder; returns its output.

        Raises:
            subprocess.TimeoutExpired: it ran past ``timeout`` or the budget (its process group is killed).
            StepFailed: it exited with a non-zero status (the message names the status).
        """
        command = [sys.executable, *argv]
        record.commands.append(" ".join(argv))
        limit = max(1.0, min(timeout, self.remaining()))
        process = subprocess.Popen(
            command,
            cwd=self.work,
            env={**self.environment, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            self.write_log(record.name, command, output, "timeout")
            record.tail = output.splitlines()[-TAIL_LINES:]
            raise
        self.write_log(record.name, command, output, process.returncode)
        record.tail = output.splitlines()[-TAIL_LINES:]
        record.figures.setdefault("returncodes", []).append(process.returncode)
        return output

    def run_ok(self, record: StepRecord, argv: Sequence[str], timeout: float, env: dict | None = None) -> str:
        output = self.run(record, argv, timeout, env)
        if record.figures["returncodes"][-1] != 0:
            raise StepFailed(f"exit status {record.figures['returncodes'][-1]}: {argv[1]} {' '.join(argv[2:4])} ...")
        return output

    def write_log(self, name: str, command: Sequence[str], output: str, status: Any) -> None:
        with self.log_lock:
            self.log.write(f"===== [{name}] {' '.join(command)}\n{output}\n===== [{name}] status {status}\n\n")
            self.log.flush()


# ------------------------------------------------------------------------------------------------ the runs


def train_overrides(check: Check, run_name: str, *extra: str) -> list[str]:
    """``almlit.train`` overrides shared by every run of the check, then ``extra``."""
    accelerator = "gpu" if check.device == "cuda" else "cpu"
    return [
        "almlit.train",
        f"trainer.accelerator={accelerator}",
        f"trainer.max_epochs={check.scale.epochs}",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "callbacks.early_stopping=null",
        f"paths.output_root={check.work / 'outputs'}",
        f"paths.data_dir={check.work / 'data'}",
        f"run_name={run_name}",
        "+callbacks.device_probe._target_=almlit.callbacks.probes.DeviceProbe",
        f"+callbacks.device_probe.path={check.work / 'probes' / run_name}.json",
        *extra,
    ]


def cifar_overrides(check: Check) -> list[str]:
    """The binary CIFAR10 runs: random-pixel files in the work folder, the check's class ratio and model size."""
    scale = check.scale
    return ["data=cifar10", "data.download=false", f"data.val_per_class={scale.val_per_class}", f"imb={scale.imb}",
            *scale.model, *scale.batch]  # fmt: skip


def train(check: Check, record: StepRecord, run_name: str, extra: Sequence[str], timeout: float, **kw: Any) -> str:
    return check.run_ok(record, ["-m", *train_overrides(check, run_name, *extra)], timeout, **kw)


def run_folder(check: Check, run_name: str) -> Path:
    return check.work / "outputs" / "runs" / run_name


def finished_run(check: Check, run_name: str, formats: str | None = None) -> dict[str, Any]:
    """The figures of a finished run, after checking its folder, its metrics and where its tensors were.

    Raises:
        StepFailed: no COMPLETE file, a test metric that is not finite, a tensor not on the check's device, or
            (``formats``) a batch or weight not in that memory format.
    """
    folder = run_folder(check, run_name)
    if not (folder / "COMPLETE").is_file():
        raise StepFailed(f"{folder} has no COMPLETE file: the run folder is incomplete")
    metrics = json.loads((folder / "metrics.json").read_text())
    bad = {key: value for key, value in metrics["test"].items() if not math.isfinite(value)}
    if bad:
        raise StepFailed(f"test metrics not finite: {bad}")
    probe = json.loads((check.work / "probes" / f"{run_name}.json").read_text())
    devices = {
        "images": probe["images"]["device"],
        "targets": probe["targets"],
        "sample_ids": probe["sample_ids"],
        "weights": probe["weights"]["device"],
        "bank (lambda)": probe["bank"],
        "penalty (mu)": probe["penalty"],
    }
    elsewhere = {
        name: device for name, device in devices.items() if device is None or device.split(":")[0] != check.device
    }
    if elsewhere:
        raise StepFailed(f"not on {check.device}: {elsewhere}")
    if formats is not None and probe["weights"]["format"] != formats:  # batches are converted in forward()
        raise StepFailed(f"the network's weights are {probe['weights']['format']}, not {formats}")
    headline = "auc" if "auc" in metrics["test"] else "accuracy"
    return {
        "train_seconds": metrics["train_seconds"],
        "epochs_trained": metrics["epochs_trained"],
        f"test_{headline}": metrics["test"][headline],
        "devices": devices,
        "weights_format": probe["weights"]["format"],
        "precision": probe["precision"],
        "training_batches_per_epoch": probe.get("training_batches"),
    }


# ------------------------------------------------------------------------------------------------ the steps


def smoke_step(run_name: str, *extra: str, formats: str | None = None, kind: str = "smoke") -> Callable:
    def step(check: Check, record: StepRecord) -> None:
        env = dict(check.scale.compile_env) if kind == "compile" else None
        train(check, record, run_name, [*cifar_overrides(check), *extra], check.scale.timeouts[kind], env=env)
        record.figures.update(finished_run(check, run_name, formats))
        if env:
            record.figures["note"] = f"run with {env}: the module.compile=true path without compiling"

    return step


def smoke_long_tail(check: Check, record: StepRecord) -> None:
    scale = check.scale
    extra = ["experiment=cifar10_lt", "data.download=false", f"data.val_per_class={scale.lt_val_per_class}", "loss=ce",
             "alm=m2", f"imb={scale.imb}", *scale.model]  # fmt: skip
    train(check, record, "smoke_resnet32_lt_m2", extra, scale.timeouts["smoke"])
    record.figures.update(finished_run(check, "smoke_resnet32_lt_m2"))


def smoke_mri(check: Check, record: StepRecord) -> None:
    scale = check.scale
    cohort = check.work / "data" / "mri-demo"
    check.run_ok(record, ["-m", "almlit.make_mri_cohort", f"out={cohort}", *scale.mri_cohort], scale.timeouts["mri"])
    extra = ["data=mri", f"data.root={cohort}", "model=cnn3d", *scale.mri_train]
    train(check, record, "smoke_cnn3d_mri", extra, scale.timeouts["mri"])
    record.figures.update(finished_run(check, "smoke_cnn3d_mri"))


DETERMINISTIC = ("trainer.deterministic=true", "trainer.precision=bf16-mixed", "module.channels_last=true")


def same_results(check: Check, reference: str, other: str) -> list[str]:
    """What differs between two finished runs: test metrics, scores file, final mu, epochs (empty: identical)."""
    first, second = run_folder(check, reference), run_folder(check, other)
    metrics = [json.loads((folder / "metrics.json").read_text()) for folder in (first, second)]
    differences = [
        f"{key}: {metrics[0][key]} vs {metrics[1][key]}"
        for key in ("test", "final_penalty", "epochs_trained", "best_val")
        if metrics[0][key] != metrics[1][key]
    ]
    if (first / "test_scores.csv").read_bytes() != (second / "test_scores.csv").read_bytes():
        differences.append("test_scores.csv differs")
    return differences


def determinism(check: Check, record: StepRecord) -> None:
    extra = [*cifar_overrides(check), *DETERMINISTIC]
    for name in ("deterministic_a", "deterministic_b"):
        output = train_or_name_op(check, record, name, extra)
        if output is not None:
            raise StepFailed(output)
    differences = same_results(check, "deterministic_a", "deterministic_b")
    record.figures["identical"] = not differences
    record.figures["test_auc"] = finished_run(check, "deterministic_a")["test_auc"]
    if differences:
        raise StepFailed("two runs of the same command differ: " + "; ".join(differences))


def train_or_name_op(check: Check, record: StepRecord, name: str, extra: Sequence[str]) -> str | None:
    """Train; ``None`` when it finished, else why not (naming the non-deterministic operation if that was it)."""
    output = check.run(record, ["-m", *train_overrides(check, name, *extra)], check.scale.timeouts["determinism"])
    if record.figures["returncodes"][-1] == 0:
        return None
    operation = NONDETERMINISTIC.search(output)
    if operation:
        record.figures["nondeterministic_operation"] = operation.group(1)
        return f"{operation.group(1)} has no deterministic implementation on {check.device}"
    return f"exit status {record.figures['returncodes'][-1]}"


def preemption(check: Check, record: StepRecord) -> None:
    deterministic = list(DETERMINISTIC)
    reference = "deterministic_a"
    if not (run_folder(check, reference) / "COMPLETE").is_file():
        # b could not finish with trainer.deterministic=true: compare with a reference that only warns
        deterministic[0], reference = "trainer.deterministic=warn", "reference_warn"
        record.figures["reference"] = "trainer.deterministic=warn (b did not finish)"
        train(check, record, reference, [*cifar_overrides(check), *deterministic], check.scale.timeouts["preemption"])
    per_epoch = json.loads((check.work / "probes" / f"{reference}.json").read_text())["training_batches"]
    step = per_epoch + max(1, per_epoch // 2)  # the middle of the second epoch
    extra = [
        *cifar_overrides(check),
        *deterministic,
        "+callbacks.preempt._target_=almlit.callbacks.probes.SignalAtStep",
        f"+callbacks.preempt.step={step}",
        "+callbacks.preempt.name=SIGTERM",
        f"+callbacks.preempt.marker={check.work / 'preempted.marker'}",
    ]
    timeout = check.scale.timeouts["preemption"]
    check.run(record, ["-m", *train_overrides(check, "preempted", *extra)], timeout)
    stopped = record.figures["returncodes"][-1]
    if stopped != 128 + signal.SIGTERM:
        raise StepFailed(f"the run signalled at step {step} exited with {stopped}, not {128 + signal.SIGTERM}")
    record.figures["signalled_at_step"] = step
    record.figures["steps_per_epoch"] = per_epoch
    output = train(check, record, "preempted", extra, timeout)
    if "resuming the interrupted run" not in output:
        raise StepFailed("the second run did not resume from the checkpoint")
    differences = same_results(check, reference, "preempted")
    record.figures["equal_to_uninterrupted"] = not differences
    if differences:
        raise StepFailed("resumed run differs from the uninterrupted one: " + "; ".join(differences))


SETTINGS = {"32-true": ("trainer.precision=32-true", "module.channels_last=false"),
            "bf16-mixed+channels_last": ("trainer.precision=bf16-mixed", "module.channels_last=true")}  # fmt: skip
# bf16 without channels-last: what channels-last alone gains on the GPU (not a candidate for members and cost)
ALONE = {"bf16-mixed": ("trainer.precision=bf16-mixed", "module.channels_last=false")}


def bench_step(setting: str, probe: bool, stacked: bool = False) -> Callable:
    """Step d (or g with ``stacked``: the stacked rows of ``scale.stack``) of one precision setting."""

    def step(check: Check, record: StepRecord) -> None:
        scale = check.scale
        output = check.work / "bench" / f"{setting}{'-probe' if probe else ''}{'-stacked' if stacked else ''}.json"
        stack = list(scale.stack) if stacked else []  # the stacked rows: step g only
        argv = ["-m", "almlit.bench", *scale.bench_setting, *{**SETTINGS, **ALONE}[setting], *scale.bench,
                f"bench.device={check.device}", f"bench.matmul_size={scale.matmul_size}", f"bench.output={output}",
                f"paths.data_dir={check.work / scale.timing_data_dir}", f"bench.stack={stack}"]  # fmt: skip
        if probe:
            argv += ["bench.batch_size=probe", f"bench.probe_seconds={scale.probe_seconds}"]
        check.run_ok(record, argv, scale.timeouts["bench"])
        results = json.loads(output.read_text())
        record.figures.update(
            {
                "batch_size": results["setting"]["batch_size"],
                "base_images_per_s": results["training"]["base_images_per_s"],
                "alm_images_per_s": results["training"]["alm_images_per_s"],
                "alm_over_base": results["training"]["alm_over_base"],
                "alm_overhead_target_met": results["training"]["alm_over_base"] <= 1.03,
                "train_tflop_per_s": results["compute"]["train_gflop_per_s"] / 1e3,
                "matmul_tflop_per_s": results["compute"]["matmul_gflop_per_s"] / 1e3,
                "matmul_dtype": results["compute"]["matmul_dtype"],
                "epoch_seconds": results["epoch"]["seconds"],
                "validation_images_per_s": results["validation"]["images_per_s"],
                "peak_memory_mib": results["memory"]["cuda_max_allocated_mib"] or results["memory"]["cpu_max_rss_mib"],
                "batch_size_probe": results["setting"].get("batch_size_probe", []),
                "stacking": results["stacking"],
            }
        )
        if not probe and not stacked and setting in SETTINGS:
            check.bench_rates[setting] = results["training"]["alm_images_per_s"]

    return step


def best_setting(check: Check) -> tuple[str, list[str]]:
    """The faster of the bench settings at batch 64 (32-true when the bench did not run)."""
    rates = check.bench_rates
    name = max(rates, key=lambda setting: rates[setting]) if rates else "32-true"
    return name, list(SETTINGS[name])


def members(check: Check, record: StepRecord) -> None:
    scale = check.scale
    name, setting = best_setting(check)
    output = check.work / "members.json"
    argv = ["-m", "almlit.benchmark.members", str(output), "--processes", *map(str, scale.members), "--seconds",
            str(scale.member_seconds), "--set", *scale.bench_setting, *setting, f"bench.device={check.device}",
            f"paths.data_dir={check.work / scale.timing_data_dir}"]  # fmt: skip
    record.figures["setting"] = name
    try:
        check.run_ok(record, argv, scale.timeouts["members"])
    finally:
        if output.is_file():
            counts = json.loads(output.read_text())["counts"]
            record.figures["aggregate_images_per_s"] = {c["processes"]: c["aggregate_images_per_s"] for c in counts}
            record.figures["images_per_s_each"] = {c["processes"]: c["images_per_s"] for c in counts}


def cost(check: Check, record: StepRecord) -> None:
    scale = check.scale
    name, setting = best_setting(check)
    output = check.work / "cost"
    argv = ["-m", "almlit.cost", *(str(REPO / path) for path in scale.cost_experiments), "--output", str(output),
            "--set", *setting, f"bench.device={check.device}", f"paths.data_dir={check.work / scale.timing_data_dir}",
            *scale.cost_extra]  # fmt: skip
    record.figures["setting"] = name
    check.run_ok(record, argv, scale.timeouts["cost"])
    numbers = json.loads((output / "cost.json").read_text())
    record.figures["tables"] = {
        table["table"]: {"runs": table["runs"], "epochs": table["epochs"], "hours": table["seconds"] / 3600}
        for table in numbers["tables"]
    }
    record.figures["epochs"] = {epoch["measured_row"]: epoch["seconds"] for epoch in numbers["epochs"]}
    record.figures["markdown"] = (output / "cost.md").read_text()


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    run: Callable[[Check, StepRecord], None]
    after: str | None = None


FUNCTIONAL = (  # the longest first: they run side by side
    Step("smoke_resnet10_compile", "a. ResNet-10, bf16-mixed, channels-last, torch.compile",
         smoke_step("smoke_resnet10_compile", "trainer.precision=bf16-mixed", "module.channels_last=true",
                    "module.compile=true", kind="compile")),
    Step("determinism", "b. determinism (trainer.deterministic=true, twice)", determinism),
    Step("smoke_resnet10_32", "a. ResNet-10, 32-true", smoke_step("smoke_resnet10_32", "trainer.precision=32-true")),
    Step("smoke_resnet10_bf16_cl", "a. ResNet-10, bf16-mixed, channels-last",
         smoke_step("smoke_resnet10_bf16_cl", "trainer.precision=bf16-mixed", "module.channels_last=true",
                    formats="channels_last")),
    Step("smoke_resnet32_lt_m2", "a. long-tailed ResNet-32, alm=m2", smoke_long_tail),
    Step("smoke_cnn3d_mri", "a. 3D CNN, generated MRI cohort", smoke_mri),
    Step("preemption", "c. SIGTERM mid-epoch, rerun = uninterrupted", preemption, after="determinism"),
)  # fmt: skip
TIMED = (  # what matters most first, should the budget run out: the faster setting, then the tables' cost
    Step("bench_32_b64", "d. bench, 32-true, batch 64", bench_step("32-true", probe=False)),
    Step("bench_bf16_b64", "d. bench, bf16-mixed + channels-last, batch 64",
         bench_step("bf16-mixed+channels_last", probe=False)),
    Step("cost", "f. almlit.cost, Tables 1, 2 and 4", cost),
    Step("members", "e. concurrent members on one device", members),
    Step("bench_bf16_nocl_b64", "d. bench, bf16-mixed without channels-last, batch 64",
         bench_step("bf16-mixed", probe=False)),
    Step("bench_stack", "g. stacked members (ensemble.stack=K), 32-true, batch 64",
         bench_step("32-true", probe=False, stacked=True)),
    Step("bench_32_probe", "d. bench, 32-true, largest batch", bench_step("32-true", probe=True)),
    Step("bench_bf16_probe", "d. bench, bf16-mixed + channels-last, largest batch",
         bench_step("bf16-mixed+channels_last", probe=True)),
)  # fmt: skip


# ------------------------------------------------------------------------------------------------ running the steps


def run_step(check: Check, step: Step, record: StepRecord, started: float) -> None:
    """Run one step, recording its status, time and failure; never raises."""
    if check.remaining() < 5:
        record.status, record.error = "skipped", f"{max(0.0, check.remaining()):.0f} s of the budget left"
    else:
        record.status = "running"
        begin = time.monotonic()
        try:
            step.run(check, record)
            record.status = "ok"
        except subprocess.TimeoutExpired as error:
            record.status, record.error = "timeout", f"ran past its limit ({error.timeout:.0f} s)"
        except StepFailed as error:
            record.status, record.error = "failed", str(error)
        except Exception as error:  # a step's own fault must not stop the others
            record.status, record.error = "failed", f"{type(error).__name__}: {error}"
        record.seconds = time.monotonic() - begin
    message = f" -- {record.error}" if record.error else ""
    print(
        f"[{time.monotonic() - started:5.0f} s] {step.name}: {record.status} ({record.seconds:.0f} s){message}",
        flush=True,
    )


def run_side_by_side(check: Check, steps: Sequence[Step], jobs: int, started: float) -> None:
    """Run ``steps`` on ``jobs`` threads; a step with ``after`` starts once that step has ended."""
    pending = list(steps)
    running: dict[concurrent.futures.Future, Step] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending or running:
            for step in list(pending):
                before = check.results.get(step.after) if step.after else None
                waiting = before is not None and before.status in ("pending", "running")
                if len(running) < jobs and not waiting:
                    pending.remove(step)
                    check.results[step.name].status = "running"
                    running[pool.submit(run_step, check, step, check.results[step.name], started)] = step
            done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                running.pop(future)


def ensure_packages(wheels: Path) -> tuple[list[str], str | None]:
    """Install the carried wheels into a temporary folder when a module of :data:`NEEDED_MODULES` is missing.

    Returns:
        ``(the missing modules, the folder they were installed into or None)``.

    Raises:
        SystemExit: a module is missing and ``wheels`` holds no wheel, or pip failed.
    """
    missing = [name for name in NEEDED_MODULES if importlib.util.find_spec(name) is None]
    if not missing:
        return [], None
    files = sorted(wheels.glob("*.whl"))
    if not files:
        raise SystemExit(f"gpu_check: {missing} are not installed and {wheels} holds no wheels: run make gpu-wheels")
    target = tempfile.mkdtemp(prefix="almlit-wheels-")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-compile", "--target"]
    subprocess.run([*pip, target, *map(str, files)], check=True)
    sys.path.insert(0, target)
    importlib.invalidate_caches()
    return missing, target


def command_output(*command: str) -> str | None:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def environment_facts(device: str) -> dict[str, Any]:
    """The machine, driver, versions and date of the check."""
    from importlib.metadata import PackageNotFoundError, version

    import torch

    facts: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "almlit_commit": command_output("git", "-C", str(REPO), "rev-parse", "--short", "HEAD"),
    }
    for package in ("lightning", "torchmetrics", "torchvision", "hydra-core", "omegaconf", "nibabel", "numpy"):
        try:
            facts[package] = version(package)
        except PackageNotFoundError:
            facts[package] = None
    if device == "cuda" and torch.cuda.is_available():
        properties = torch.cuda.get_device_properties(0)
        facts["gpu"] = properties.name
        facts["gpu_memory_gib"] = round(properties.total_memory / 2**30, 1)
        facts["gpu_count"] = torch.cuda.device_count()
        facts["driver"] = command_output("nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader")
    else:
        from almlit.benchmark.measure import device_name

        facts["gpu"] = None
        facts["cpu"] = device_name(torch.device("cpu"))
    return facts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m almlit.benchmark.gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where gpu_check.md, gpu_check.json and gpu_check.log go")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--tiny", action="store_true", help="toy sizes: the CPU rehearsal of every step")
    parser.add_argument("--wheels", type=Path, default=REPO / "gpu_wheels", help="the carried wheels (make gpu-wheels)")
    parser.add_argument("--budget", type=float, default=450.0, help="seconds for all steps together")
    parser.add_argument("--work", type=Path, help="folder for run folders and data (default: a temporary one)")
    parser.add_argument("--steps", nargs="+", metavar="STEP", help="only these steps (default: all)")
    args = parser.parse_args(argv)
    names = [step.name for step in (*FUNCTIONAL, *TIMED)]
    if set(args.steps or names) - set(names):
        parser.error(f"unknown steps {sorted(set(args.steps) - set(names))}; the steps are {names}")
    steps = [step for step in (*FUNCTIONAL, *TIMED) if step.name in (args.steps or names)]
    started = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    installed, site = ensure_packages(args.wheels)
    if installed:
        print(f"gpu_check: installed {installed} from {args.wheels} into {site}", flush=True)
    from almlit.benchmark.gpu_report import markdown_report
    from almlit.benchmark.synthetic import write_random_cifar

    scale = TINY if args.tiny else GPU
    work = args.work or Path(tempfile.mkdtemp(prefix="almlit-gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join(filter(None, [site, str(SRC), os.environ.get("PYTHONPATH")]))
    # NVML's device count: asking whether CUDA is there does not initialise it, so members can fork afterwards
    environment = {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", "PYTORCH_NVML_BASED_CUDA_CHECK": "1"}
    facts = environment_facts(args.device)
    check = Check(args.out, work, args.device, scale, args.budget, environment)
    check.results = {step.name: StepRecord(step.name, step.title) for step in steps}
    if args.device == "cuda" and not facts["cuda_available"]:
        for record in check.results.values():
            record.status, record.error = "skipped", f"torch {facts['torch']} sees no CUDA device"
    else:
        write_random_cifar(work / "data", "cifar10", scale.train_per_class, scale.test_per_class)
        if scale.timing_data_dir == "full":  # written once here, not once per bench run, member or timed epoch
            for variant in ("cifar10", "cifar100"):
                write_random_cifar(work / "full", variant)
        print(f"gpu_check: {args.device}{' (tiny)' if args.tiny else ''}, work folder {work}", flush=True)
        run_side_by_side(check, [step for step in FUNCTIONAL if step in steps], scale.jobs, started)
        for step in TIMED:
            if step in steps:
                run_step(check, step, check.results[step.name], started)
    check.log.close()
    summary = {
        "environment": facts,
        "device": args.device,
        "tiny": args.tiny,
        "wheels_installed": installed,
        "budget_s": args.budget,
        "wall_s": time.monotonic() - started,
        "cpu_s": sum(
            getattr(resource.getrusage(who), field)
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
            for field in ("ru_utime", "ru_stime")
        ),  # fmt: skip
        "best_setting": best_setting(check)[0],
        "steps": {name: asdict(record) for name, record in check.results.items()},
    }
    (args.out / "gpu_check.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (args.out / "gpu_check.md").write_text(markdown_report(summary))
    failed = [name for name, record in check.results.items() if record.status != "ok"]
    print(f"gpu_check: {len(steps) - len(failed)} of {len(steps)} steps ok in {summary['wall_s']:.0f} s; {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
