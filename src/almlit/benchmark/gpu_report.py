"""The Markdown report of ``python -m almlit.benchmark.gpu_check``, from its JSON summary (pure functions)."""

from __future__ import annotations

from typing import Any

SMOKE = ("smoke_resnet10_32", "smoke_resnet10_bf16_cl", "smoke_resnet10_compile", "smoke_resnet32_lt_m2",
         "smoke_cnn3d_mri")  # fmt: skip
BENCH = ("bench_32_b64", "bench_bf16_b64", "bench_bf16_nocl_b64", "bench_32_probe", "bench_bf16_probe")


def _number(value: Any, pattern: str = "{:.0f}") -> str:
    return "–" if value is None else pattern.format(value)


def header(summary: dict[str, Any]) -> list[str]:
    facts = summary["environment"]
    machine = facts.get("gpu") or facts.get("cpu")
    lines = [
        f"# almlit on {machine}" + (" (CPU rehearsal at toy sizes)" if summary["tiny"] else ""),
        "",
        f"- date: {facts['date']}; almlit commit {facts.get('almlit_commit') or 'unknown'}",
        f"- device: {summary['device']}, {machine}"
        + (f", {facts['gpu_memory_gib']} GiB, driver {facts.get('driver')}" if facts.get("gpu") else ""),
        f"- torch {facts['torch']} (CUDA {facts['torch_cuda']}), lightning {facts['lightning']}, torchmetrics"
        f" {facts['torchmetrics']}, hydra-core {facts['hydra-core']}, nibabel {facts['nibabel']}, Python"
        f" {facts['python']}, {facts['cpu_count']} CPU cores",
        f"- wall time {summary['wall_s']:.0f} s of a {summary['budget_s']:.0f} s budget ({summary['cpu_s']:.0f} CPU"
        f" seconds, all processes); wheels installed for"
        f" {summary['wheels_installed'] or 'nothing (all present)'}; faster bench setting: {summary['best_setting']}",
        "",
    ]
    return lines


def step_summary(name: str, record: dict[str, Any]) -> str:
    """One line of what a step found."""
    figures = record["figures"]
    if record["status"] != "ok":
        return record["error"] or ""
    if name.startswith("smoke"):
        metric = next(key for key in figures if key.startswith("test_"))
        return (
            f"{figures['epochs_trained']} epochs, {figures['train_seconds']:.1f} s training, {metric}"
            f" {figures[metric]:.3f}, all on {figures['devices']['bank (lambda)']}, weights {figures['weights_format']}"
        )
    if name == "determinism":
        return "identical test metrics and scores"
    if name == "preemption":
        return (
            f"SIGTERM after step {figures['signalled_at_step']} ({figures['steps_per_epoch']} batches an epoch),"
            " resumed: equal"
        )
    if name == "bench_stack":
        return "; ".join(stacked_row_summary(row, figures["stacking"]) for row in figures["stacking"])
    if name.startswith("bench"):
        return (
            f"batch {figures['batch_size']}: {figures['alm_images_per_s']:.0f} img/s with ALM, ALM/base"
            f" {figures['alm_over_base']:.3f}, {figures['train_tflop_per_s']:.3g} TFLOP/s"
        )
    if name == "members":
        rates = ", ".join(f"{count}: {rate:.0f}" for count, rate in figures["aggregate_images_per_s"].items())
        return f"aggregate img/s by processes: {rates}"
    if name == "cost":
        return ", ".join(f"{table} {values['hours']:.1f} h" for table, values in figures["tables"].items())
    return ""


def steps_table(summary: dict[str, Any]) -> list[str]:
    lines = ["| step | status | time | result |", "|---|---|---:|---|"]
    for name, record in summary["steps"].items():
        lines.append(
            f"| {record['title']} | {record['status']} | {record['seconds']:.0f} s | {step_summary(name, record)} |"
        )
    return [*lines, ""]


def bench_table(summary: dict[str, Any]) -> list[str]:
    lines = [
        "## d. Throughput (almlit.bench, Table 1's setting: ResNet-10, binary CIFAR10 1:100, random pixels)",
        "",
        "| setting | batch | base img/s | ALM img/s | ALM / base (<= 1.03) | training TFLOP/s | matmul TFLOP/s"
        " | epoch (s) | peak MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in (name for name in BENCH if name in summary["steps"]):
        record = summary["steps"][name]
        figures = record["figures"]
        if record["status"] != "ok":
            lines.append(f"| {record['title']} | {record['status']} | | | | | | | |")
            continue
        lines.append(
            f"| {record['title'].removeprefix('d. bench, ')} | {figures['batch_size']}"
            f" | {figures['base_images_per_s']:.0f} | {figures['alm_images_per_s']:.0f}"
            f" | {figures['alm_over_base']:.3f} {'ok' if figures['alm_overhead_target_met'] else 'MISSED'}"
            f" | {figures['train_tflop_per_s']:.3g} | {figures['matmul_tflop_per_s']:.3g} ({figures['matmul_dtype']})"
            f" | {figures['epoch_seconds']:.2f} | {_number(figures['peak_memory_mib'])} |"
        )
    return [*lines, ""]


STACK_TARGET = 5.0  # issue 18: a stack of 10 ResNet-10 (width 64, batch 64) >= 5x the throughput of one member


def over_one_member(row: dict[str, Any], rows: list[dict[str, Any]]) -> float | None:
    """Members x images/s of the stack of ``row`` over the images/s of one member trained alone (the K = 1 row's
    separate run); ``None`` without a K = 1 row."""
    alone = next((other["separate_images_per_s"] for other in rows if other["members"] == 1), None)
    return None if alone is None else row["stacked_images_per_s"] / alone


def stacked_row_summary(row: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    ratio = over_one_member(row, rows)
    shown = "" if ratio is None else f", {ratio:.2f}x one member"
    return f"K={row['members']}: {row['stacked_images_per_s']:.0f} img/s{shown}"


def stacked_table(summary: dict[str, Any]) -> list[str]:
    """Section g: stacked members' throughput against one member alone and K members trained in turn."""
    record = summary["steps"].get("bench_stack")
    if record is None:
        return []
    lines = ["## g. Stacked members (ensemble.stack=K; ResNet-10, 32-true, batch 64)", ""]
    if record["status"] != "ok":
        return [*lines, f"not measured: {record['error']}", ""]
    lines += [
        f"| K | stacked: members x img/s | K separate runs in turn: img/s | stacked / separate"
        f" | stacked / one member (>= {STACK_TARGET:g} at K = 10) |",
        "|---:|---:|---:|---:|---:|",
    ]
    rows = record["figures"]["stacking"]
    for row in rows:
        ratio = over_one_member(row, rows)
        verdict = "" if row["members"] != 10 or ratio is None else (" ok" if ratio >= STACK_TARGET else " MISSED")
        lines.append(
            f"| {row['members']} | {row['stacked_images_per_s']:.0f} | {row['separate_images_per_s']:.0f}"
            f" | {row['stacked_over_separate']:.2f} | {'' if ratio is None else f'{ratio:.2f}'}{verdict} |"
        )
    return [*lines, ""]


def members_table(summary: dict[str, Any]) -> list[str]:
    if "members" not in summary["steps"]:
        return []
    record = summary["steps"]["members"]
    figures = record["figures"]
    lines = [f"## e. Concurrent members ({figures.get('setting', '–')}, batch 64)", ""]
    if "aggregate_images_per_s" not in figures:
        return [*lines, f"not measured: {record['error']}", ""]
    lines += ["| processes | aggregate img/s | img/s of each |", "|---:|---:|---|"]
    for count, rate in figures["aggregate_images_per_s"].items():
        each = ", ".join(f"{value:.0f}" for value in figures["images_per_s_each"][count])
        lines.append(f"| {count} | {rate:.0f} | {each} |")
    return [*lines, ""]


def cost_section(summary: dict[str, Any]) -> list[str]:
    if "cost" not in summary["steps"]:
        return []
    record = summary["steps"]["cost"]
    lines = [f"## f. Cost of the paper's tables ({record['figures'].get('setting', '–')})", ""]
    if record["status"] != "ok":
        return [*lines, f"not measured: {record['error']}", ""]
    return [*lines, record["figures"]["markdown"], ""]


def failures(summary: dict[str, Any]) -> list[str]:
    lines = []
    for record in summary["steps"].values():
        if record["status"] in ("failed", "timeout") and record["tail"]:
            lines += [f"### {record['title']}: {record['error']}", "", "```", *record["tail"], "```", ""]
    return ["## Failures (last lines of output)", "", *lines] if lines else []


def markdown_report(summary: dict[str, Any]) -> str:
    """The whole report: header, one line per step, the throughput, members and cost tables, the failures."""
    lines = [
        *header(summary),
        "## Steps",
        "",
        *steps_table(summary),
        *bench_table(summary),
        *members_table(summary),
        *cost_section(summary),
        *stacked_table(summary),
        *failures(summary),
    ]
    return "\n".join(lines).rstrip() + "\n"
