"""The benchmark's results: ratios, targets, the printed table and the JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# (section, ratio, comparison, limit): the targets of issue 6, checked on the ratios measured in one run
TARGETS = (
    ("training", "alm_over_base", "<=", 1.03),
    ("data", "batched_over_per_sample", ">=", 5.0),
    ("compute", "matmul_fraction", ">=", 0.60),
)


def check_targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target's value, limit and whether it holds."""
    checked = {}
    for section, name, comparison, limit in TARGETS:
        value = results[section][name]
        holds = value <= limit if comparison == "<=" else value >= limit
        checked[name] = {"value": value, "comparison": comparison, "limit": limit, "holds": holds}
    return checked


def _target(results: dict[str, Any], name: str, unit: str = "", scale: float = 1.0) -> str:
    target = results["targets"][name]
    verdict = "ok" if target["holds"] else "MISSED"
    return f"{target['comparison']} {target['limit'] * scale:g}{unit} {verdict}"


def _on_off(flag: bool) -> str:
    return "on" if flag else "off"


def header_lines(results: dict[str, Any]) -> list[str]:
    setting = results["setting"]
    data = f"{setting['data']} (imb={setting['imb']})"
    if setting["synthetic"]:
        data += "  SYNTHETIC images: data files absent, random pixels of the real split sizes (throughput does not depend on pixel values)"
    return [
        f"almlit bench: {setting['model']} on {data}",
        f"{setting['device']}: {setting['device_name']}, {setting['threads']} threads | precision {setting['precision']}"
        f" | compile {_on_off(setting['compile'])} | channels_last {_on_off(setting['channels_last'])}"
        f" | batch {setting['batch_size']} | {setting['train_images']} training, {setting['validation_images']}"
        " validation images",
        f"torch {setting['torch']} | medians of {setting['repeats']} repeats ({setting['steps_per_repeat']} timed steps"
        f" each, after {setting['warmup_steps']} warm-up steps) | load average {setting['load_average'][0]:.2f}"
        f" at start, {setting['load_average'][1]:.2f} at end",
    ]


def table_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """``(measure, value, target, meaning)`` for every line of the table."""
    setting, training, data, compute = (results[key] for key in ("setting", "training", "data", "compute"))
    memory, epoch = results["memory"], results["epoch"]
    cuda_memory = memory["cuda_max_allocated_mib"]
    return [
        ("training, base loss alone", f"{training['base_images_per_s']:.1f} img/s", "",
         f"forward + {setting['loss']} + backward + optimiser step, on pre-augmented batches"),
        ("training, base loss + ALM", f"{training['alm_images_per_s']:.1f} img/s", "",
         f"the same + alm={setting['alm']}: violations q_j, lambda lookup and update, Eq. 5 terms"),
        ("  ALM step time / base", f"{training['alm_over_base']:.3f}", _target(results, "alm_over_base"),
         "ratio of the two median step times"),
        ("validation", f"{results['validation']['images_per_s']:.1f} img/s", "",
         f"module.evaluation_scores over the validation set, batches of {setting['eval_batch_size']}, no autograd"),
        ("data pipeline, batched", f"{data['batched_images_per_s']:.0f} img/s", "",
         "almlit: uint8 tensors, EpochShuffleSampler, BatchAugment (crop, flip, normalise)"),
        ("data pipeline, per-sample", f"{data['per_sample_images_per_s']:.0f} img/s", "",
         "torchvision: PIL, RandomCrop, RandomHorizontalFlip, ToTensor, Normalize, default collate"),
        ("  batched / per-sample", f"{data['batched_over_per_sample']:.1f}x", _target(results, "batched_over_per_sample"),
         "same images, one epoch each, on the training device"),
        ("training step FLOPs", f"{compute['gflop_per_step']:.1f} GFLOP", "",
         f"FlopCounterMode: forward + backward, batch {setting['batch_size']}"),
        ("training compute rate", f"{compute['train_gflop_per_s']:.1f} GFLOP/s", "",
         "FLOPs per step / median step time of base loss + ALM"),
        (f"matmul rate ({compute['matmul_dtype']})", f"{compute['matmul_gflop_per_s']:.1f} GFLOP/s", "",
         f"torch.mm of two {compute['matmul_size']}x{compute['matmul_size']} matrices, median, same device and threads"),
        ("  training / matmul", f"{100 * compute['matmul_fraction']:.0f} %", _target(results, "matmul_fraction", " %", 100),
         "how close the training loop runs to the measured hardware limit"),
        ("peak memory, CPU", f"{memory['cpu_max_rss_mib']:.0f} MiB", "", "max resident set size of the process"),
        ("peak memory, CUDA", "-" if cuda_memory is None else f"{cuda_memory:.0f} MiB", "",
         "torch.cuda.max_memory_allocated over the benchmark"),
        ("one epoch, train + validation", f"{epoch['seconds']:.1f} s", "",
         f"lightning.Trainer.fit, {epoch['train_batches']} training batches + validation, no logger/checkpoints"),
    ]


def format_table(results: dict[str, Any]) -> str:
    """The header and an aligned table of every measure, its value, its target and what it means."""
    rows = [("measure", "value", "target", "meaning"), *table_rows(results)]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    ]
    return "\n".join([*header_lines(results), "", *lines])


def write_json(results: dict[str, Any], path: Path) -> None:
    """Write ``results`` to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
