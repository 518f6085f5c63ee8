"""The benchmark's results: targets, the printed table and the JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from almlit.benchmark.end_to_end import end_to_end_line
from almlit.benchmark.stacked import STACKED_TITLE, stacked_lines
from almlit.runs.atomic_files import write_atomically

# (section, ratio, comparison, limit): the targets of issue 6, checked on ratios measured in one run. Training /
# matmul is shown without a target: it is no fraction of a ceiling (oneDNN's convolutions outrun the CPU's float32
# matmul, 172% on a 2-core EPYC), so it cannot say how close training runs to the hardware's limit.
TARGETS = (
    ("training", "alm_over_base", "<=", 1.03),
    ("data", "batched_over_per_sample", ">=", 5.0),
)

# (measure, section, key, value format, meaning); a meaning may name any field of the setting, compute or epoch
ROWS = (
    ("training, base loss alone", "training", "base_images_per_s", "{:.1f} img/s",
     "forward + {loss} + backward + optimiser step, on pre-augmented batches"),
    ("training, base loss + ALM", "training", "alm_images_per_s", "{:.1f} img/s",
     "the same + {alm}: violations q_j, lambda lookup and update, Eq. 5 terms"),
    ("  ALM step time / base", "training", "alm_over_base", "{:.3f}", "ratio of the two median step times"),
    ("validation", "validation", "images_per_s", "{:.1f} img/s",
     "module.evaluation_scores over the validation set, batches of {eval_batch_size}, no autograd"),
    ("data pipeline, batched", "data", "batched_images_per_s", "{:.0f} img/s",
     "almlit: uint8 tensors, EpochShuffleSampler, BatchAugment (crop, flip, normalise)"),
    ("data pipeline, per-sample", "data", "per_sample_images_per_s", "{:.0f} img/s",
     "torchvision: PIL, RandomCrop, RandomHorizontalFlip, ToTensor, Normalize, default collate"),
    ("  batched / per-sample", "data", "batched_over_per_sample", "{:.1f}x",
     "same images, one epoch each, ending on the training device"),
    ("training step FLOPs", "compute", "gflop_per_step", "{:.1f} GFLOP",
     "FlopCounterMode: forward + backward of one batch of {batch_size}"),
    ("training compute rate", "compute", "train_gflop_per_s", "{:.1f} GFLOP/s",
     "FLOPs per step / median step time of base loss + ALM"),
    ("matmul rate", "compute", "matmul_gflop_per_s", "{:.1f} GFLOP/s",
     "torch.mm, {matmul_dtype}, {matmul_size}x{matmul_size}: median, same device and threads"),
    ("  training / matmul", "compute", "matmul_fraction", "{:.0%}",
     "training FLOP/s over the matmul's: no target, convolutions can outrun the matmul"),
    ("peak memory, CPU", "memory", "cpu_max_rss_mib", "{:.0f} MiB", "max resident set size of the process"),
    ("peak memory, CUDA", "memory", "cuda_max_allocated_mib", "{:.0f} MiB", "torch.cuda.max_memory_allocated"),
    ("one epoch, train + validation", "epoch", "seconds", "{:.1f} s",
     "lightning.Trainer.fit: {train_batches} training batches + validation, no logger or checkpoints"),
)  # fmt: skip


def check_targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target's value, comparison, limit and whether it holds; the end-to-end stacking target when measured."""
    checked = {}
    for section, name, comparison, limit in TARGETS:
        value = results[section][name]
        holds = value <= limit if comparison == "<=" else value >= limit
        checked[name] = {"value": value, "comparison": comparison, "limit": limit, "holds": holds}
    end_to_end = results.get("end_to_end")
    if end_to_end is not None:
        checked["separate_over_stacked"] = {
            "value": end_to_end["separate_over_stacked"],
            "comparison": ">=",
            "limit": end_to_end["target"],
            "holds": end_to_end["holds"],
        }
    return checked


def _on_off(flag: bool) -> str:
    return "on" if flag else "off"


def header_lines(results: dict[str, Any]) -> list[str]:
    """What was measured, where, and how."""
    setting = results["setting"]
    data = f"{setting['data']} (imb={setting['imb']})"
    if setting["synthetic"]:
        data += ", SYNTHETIC images: the data files are absent, so random pixels in splits of the real sizes"
        data += " (throughput does not depend on pixel values)"
    load_start, load_end = setting["load_average"]
    return [
        f"almlit bench: {setting['model']} on {data}",
        f"{setting['device']} ({setting['device_name']}, {setting['threads']} threads), precision"
        f" {setting['precision']}, compile {_on_off(setting['compile'])}, channels_last"
        f" {_on_off(setting['channels_last'])}, batch {setting['batch_size']}, {setting['train_images']} training and"
        f" {setting['validation_images']} validation images",
        f"torch {setting['torch']}; training: medians of {setting['step_repeats']} interleaved repeats of"
        f" {setting['steps_per_repeat']} steps after {setting['warmup_steps']} warm-up steps; other rates: medians of"
        f" {setting['repeats']} passes; load average {load_start:.2f} at start, {load_end:.2f} at end",
    ]


def table_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """``(measure, value, target, meaning)`` for every line of the table."""
    fields = {**results["setting"], **results["compute"], **results["epoch"]}
    rows = []
    for measure, section, key, value_format, meaning in ROWS:
        value = results[section][key]
        target = results["targets"].get(key)
        verdict = ""
        if target is not None:
            limit = value_format.format(target["limit"]).removesuffix("x")
            verdict = f"{target['comparison']} {limit} {'ok' if target['holds'] else 'MISSED'}"
        shown = "-" if value is None else value_format.format(value)
        rows.append((measure, shown, verdict, meaning.format(**fields)))
    return rows


def format_table(results: dict[str, Any]) -> str:
    """The header and an aligned table of every measure, its value, its target and what it means."""
    rows = [("measure", "value", "target", "meaning"), *table_rows(results)]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    ]
    stacked = stacked_lines(results.get("stacking", []))
    end_to_end = results.get("end_to_end")
    if end_to_end is not None:
        stacked = (stacked or ["", STACKED_TITLE]) + [end_to_end_line(end_to_end)]
    return "\n".join([*header_lines(results), "", *lines, *stacked])


def write_json(results: dict[str, Any], path: Path) -> None:
    """Write ``results`` to ``path`` (:func:`~almlit.runs.atomic_files.write_atomically`), creating its folder."""
    write_atomically(path, json.dumps(results, indent=2) + "\n")
