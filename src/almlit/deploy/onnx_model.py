"""A :class:`~almlit.deploy.trained.MeanLogit` as an ONNX graph, checked with onnxruntime.

The graph maps a preprocessed float32 batch ``[N, *input_shape]`` (N free) to the model's logit ``[N]`` (binary) or
logits ``[N, C]``: an ensemble's members and the mean of their logits are one graph. It is exported with PyTorch's
``torch.export``-based exporter (``torch.onnx.export(..., dynamo=True)``, which needs ``onnxscript``), the one PyTorch
maintains; it runs offline.
"""

from __future__ import annotations

import contextlib
import copy
import io
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from almlit.deploy.trained import MeanLogit
from almlit.runs.atomic_files import write_atomically

INPUT_NAME = "input"
OUTPUT_NAME = "logit"
# onnxruntime and PyTorch compute the same float32 graph in different orders: they agree to this (absolute) tolerance.
TOLERANCE = 1e-4


def export_onnx(model: MeanLogit, input_shape: Sequence[int], path: Path) -> None:
    """Write ``model`` as ONNX to ``path`` (through a temporary file: never half a model), batch axis dynamic.

    Args:
        model: the networks, in evaluation mode.
        input_shape: one sample's shape, ``(C, H, W)`` or ``(C, D, H, W)``.
        path: the ``.onnx`` file.

    Raises:
        ImportError: ``onnx`` or ``onnxscript`` is not installed (``pip install 'almlit[export]'``).
    """
    model = copy.deepcopy(model).eval().cpu()
    model.channels_last = False  # the memory layout changes nothing in the graph's results
    example = torch.zeros(2, *input_shape)
    batch = torch.export.Dim("batch", min=1)
    # the exporter writes to a path of its own: a scratch folder, then the one atomic write (the umask's mode)
    with tempfile.TemporaryDirectory() as scratch, contextlib.redirect_stdout(io.StringIO()):
        exported = Path(scratch) / path.name  # the exporter reports its steps on stdout
        torch.onnx.export(
            model,
            (example,),
            str(exported),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes={"inputs": {0: batch}},
            external_data=False,
            verbose=False,
        )
        write_atomically(path, exported.read_bytes())


def onnx_logits(path: Path, inputs: np.ndarray) -> np.ndarray:
    """The ONNX model's output on a preprocessed float32 batch, computed by onnxruntime on the CPU."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(inputs, dtype=np.float32)})[0]


def check_onnx(model: MeanLogit, path: Path, inputs: torch.Tensor) -> float:
    """The largest absolute difference between onnxruntime's and PyTorch's logits on ``inputs``.

    Raises:
        ValueError: it exceeds :data:`TOLERANCE`.
    """
    with torch.inference_mode():
        expected = model.cpu()(inputs.cpu()).numpy()
    found = onnx_logits(path, inputs.numpy())
    difference = float(np.max(np.abs(found - expected))) if expected.size else 0.0
    if found.shape != expected.shape or not difference <= TOLERANCE:
        raise ValueError(
            f"the ONNX model {path} does not reproduce PyTorch: shape {found.shape} vs {expected.shape}, largest "
            f"difference {difference:.3g} > {TOLERANCE}"
        )
    return difference
