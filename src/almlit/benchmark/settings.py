"""The ``bench:`` node of conf/bench.yaml, checked: one clear message per bad option."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from almlit.stacking.forward import STACK_MODES

AUTOCAST_DTYPES = {"32-true": None, "bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}
DEVICES = ("auto", "cpu", "cuda")
SYNTHETIC = {"auto": "auto", True: "true", False: "false", "true": "true", "false": "false"}


@dataclass(frozen=True)
class BenchSettings:
    """How to measure.

    Attributes:
        device: where the model runs (``auto`` already resolved).
        precision: Lightning precision string: ``32-true``, ``bf16-mixed`` or ``16-mixed``.
        compile: ``torch.compile`` the network.
        channels_last: run the network in channels-last memory format.
        threads: intra-op CPU threads (``torch.set_num_threads``); ``None`` keeps torch's default.
        steps: timed training steps per repeat; ``None`` chooses enough to fill ``repeat_seconds``.
        repeat_seconds: target duration of one repeat when ``steps`` is ``None``.
        warmup_steps: untimed steps per variant first, >= 1 (they absorb compilation and allocator warm-up).
        step_repeats: interleaved repeats of the base and ALM training steps; medians are reported.
        repeats: repeats of the other throughput measurements (validation, data pipelines); medians are reported.
        batch_size: training batch size; ``None`` keeps the data config's; ``"probe"``: the largest that
            :func:`almlit.benchmark.training.probe_batch_size` finds within ``probe_seconds``.
        probe_seconds: how long to probe for the largest batch size.
        matmul_size: side of the square ``torch.mm`` that measures the reference GFLOP/s.
        synthetic: ``auto`` (random pixels when the data files are absent), ``true`` or ``false``.
        stack: the stack sizes K of the stacked rows (:mod:`almlit.benchmark.stacked`); empty: none.
        stack_mode: the stack's forward pass (:class:`~almlit.stacking.forward.StackedForward`'s ``mode``).
        end_to_end: also time ``python -m almlit.demo`` as one stack against separate processes
            (:mod:`almlit.benchmark.end_to_end`).
        end_to_end_repeats: interleaved repeats of each of the two; medians are reported.
        end_to_end_seeds: the demo's ``--seeds`` (it trains two runs per seed).
        end_to_end_epochs: the demo's ``--max-epochs``.
    """

    device: torch.device
    precision: str
    compile: bool
    channels_last: bool
    threads: int | None
    steps: int | None
    repeat_seconds: float
    warmup_steps: int
    step_repeats: int
    repeats: int
    batch_size: int | str | None
    probe_seconds: float
    matmul_size: int
    synthetic: str
    stack: tuple[int, ...] = ()
    stack_mode: str = "auto"
    end_to_end: bool = False
    end_to_end_repeats: int = 1
    end_to_end_seeds: int = 3
    end_to_end_epochs: int = 40

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        """The lower-precision type of a mixed-precision run, ``None`` for full precision."""
        return AUTOCAST_DTYPES[self.precision]


def resolve_device(requested: str) -> torch.device:
    """``cpu`` | ``cuda`` | ``auto`` (CUDA when available) as a device.

    Raises:
        ValueError: for another name, or ``cuda`` on a machine without a usable CUDA device.
    """
    if requested not in DEVICES:
        raise ValueError(f"bench.device must be one of {list(DEVICES)}, got {requested!r}")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"bench.device=cuda, but torch {torch.__version__} sees no CUDA device here; use bench.device=cpu or auto"
        )
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def _positive_number(name: str, node: Mapping[str, Any]) -> float:
    value = node[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"bench.{name} must be a number > 0, got {value!r}")
    return float(value)


def _optional_positive_int(name: str, value: Any) -> int | None:
    if value is None:
        return None
    return _positive_int(name, value)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"bench.{name} must be an int >= 1, got {value!r}")
    return value


def bench_settings(node: Mapping[str, Any]) -> BenchSettings:
    """Check the ``bench:`` config node and resolve the device.

    Raises:
        ValueError: naming the ``bench.*`` option, its value and what is allowed.
    """
    device = resolve_device(node["device"])
    precision = node["precision"]
    if precision not in AUTOCAST_DTYPES:
        raise ValueError(f"bench.precision must be one of {list(AUTOCAST_DTYPES)}, got {precision!r}")
    if precision == "16-mixed" and device.type != "cuda":
        raise ValueError("bench.precision=16-mixed needs bench.device=cuda; on the CPU use 32-true or bf16-mixed")
    synthetic = node["synthetic"]
    if not isinstance(synthetic, str | bool) or synthetic not in SYNTHETIC:
        raise ValueError(f"bench.synthetic must be auto, true or false, got {synthetic!r}")
    repeat_seconds, probe_seconds = _positive_number("repeat_seconds", node), _positive_number("probe_seconds", node)
    batch_size = node["batch_size"]
    if batch_size not in (None, "probe") and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(f"bench.batch_size must be an int >= 1, probe or null, got {batch_size!r}")
    stack_mode = node.get("stack_mode", "auto")
    if stack_mode not in STACK_MODES:
        raise ValueError(f"bench.stack_mode must be one of {', '.join(STACK_MODES)}, got {stack_mode!r}")
    end_to_end = node.get("end_to_end", False)
    if not isinstance(end_to_end, bool):
        raise ValueError(f"bench.end_to_end must be true or false, got {end_to_end!r}")
    return BenchSettings(
        device=device,
        precision=precision,
        compile=bool(node["compile"]),
        channels_last=bool(node["channels_last"]),
        threads=_optional_positive_int("threads", node["threads"]),
        steps=_optional_positive_int("steps", node["steps"]),
        repeat_seconds=repeat_seconds,
        warmup_steps=_positive_int("warmup_steps", node["warmup_steps"]),
        step_repeats=_positive_int("step_repeats", node["step_repeats"]),
        repeats=_positive_int("repeats", node["repeats"]),
        batch_size=batch_size,
        probe_seconds=probe_seconds,
        matmul_size=_positive_int("matmul_size", node["matmul_size"]),
        synthetic=SYNTHETIC[synthetic],
        stack=stack_sizes(node.get("stack") or ()),
        stack_mode=stack_mode,
        end_to_end=end_to_end,
        end_to_end_repeats=_positive_int("end_to_end_repeats", node.get("end_to_end_repeats", 1)),
        end_to_end_seeds=_positive_int("end_to_end_seeds", node.get("end_to_end_seeds", 3)),
        end_to_end_epochs=_positive_int("end_to_end_epochs", node.get("end_to_end_epochs", 40)),
    )


def stack_sizes(values: Any) -> tuple[int, ...]:
    """``bench.stack``: a list of stack sizes, each an int >= 1.

    Raises:
        ValueError: naming the option and the value.
    """
    if isinstance(values, (str, int)) or not hasattr(values, "__iter__"):
        raise ValueError(f"bench.stack must be a list of stack sizes >= 1, e.g. [1,2,4], got {values!r}")
    return tuple(_positive_int("stack", value) for value in values)
