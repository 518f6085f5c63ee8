"""``python -m almlit.export <run or ensemble folder> [--output DIR]``: the model for a program without almlit.

Writes into ``--output`` (default ``<folder>/export``):

* ``model.onnx``: preprocessed float32 batch ``input [N, *input_shape]`` (N free) -> ``logit [N]`` (multi-class:
  ``[N, C]``); an ensemble's members and the mean of their logits in one graph (:mod:`almlit.deploy.onnx_model`);
* ``preprocessing.json``: how raw data becomes ``input`` (shape, channel order, raw dtype and scale, mean and std),
  the output, and the decision rule;
* ``operating_points.json``: the folder's frozen thresholds (:mod:`almlit.decision.operating_points`), when it has one.

The graph is checked with onnxruntime against PyTorch (largest difference <= 1e-4) before the command returns.

Example:
    python -m almlit.export outputs/runs/digits_bce_binary_imb100_seed0
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from almlit.deploy.data import prediction_data
from almlit.deploy.onnx_model import INPUT_NAME, OUTPUT_NAME, check_onnx, export_onnx
from almlit.deploy.trained import TrainedModel, load_mean_logit, read_trained_model
from almlit.errors import one_line_errors
from almlit.runs.atomic_files import write_atomically
from almlit.runs.folder import OPERATING_POINTS_FILE

MODEL_FILE = "model.onnx"
PREPROCESSING_FILE = "preprocessing.json"


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m almlit.export", description="Export a run or ensemble to ONNX.")
    parser.add_argument("folder", type=Path, help="a finished run folder or an ensemble folder")
    parser.add_argument("--output", type=Path, default=None, help="folder for the outputs (default <folder>/export)")
    return parser.parse_args(argv)


def input_shape(model: TrainedModel) -> tuple[int, ...]:
    """One sample's shape: from ``metrics.json``, or for runs trained before it was recorded, from their data."""
    if model.input_shape is not None:
        return model.input_shape
    return tuple(prediction_data(model.config).inference_dataset.images.shape[1:])


def preprocessing_document(model: TrainedModel, shape: Sequence[int]) -> dict[str, Any]:
    """``preprocessing.json``: the DataModule's description of its input, the model's output, the decision rule."""
    datamodule = instantiate(OmegaConf.create(model.config["data"]))
    members = len(model.members)
    output = "the critical class's logit" if model.is_binary else "one logit per class"
    return {
        "model": MODEL_FILE,
        "input_name": INPUT_NAME,
        **datamodule.preprocessing(shape),
        "output_name": OUTPUT_NAME,
        "output_shape": ["N"] if model.is_binary else ["N", int(model.config["num_classes"])],
        "output": f"{output}" + (f", the mean of {members} members' logits" if members > 1 else ""),
        "decision": f"logit >= threshold, a threshold of {OPERATING_POINTS_FILE}",
    }


def export(folder: Path, output: Path | None = None) -> dict[str, Any]:
    """Export the model of ``folder`` into ``output`` and check it with onnxruntime.

    Returns:
        ``{"files": [...], "largest_difference": float}``.

    Raises:
        FileNotFoundError: no finished run or ensemble at ``folder``.
        ValueError: the ONNX model does not reproduce PyTorch within 1e-4.
    """
    model = read_trained_model(folder)
    shape = input_shape(model)
    network = load_mean_logit(model)
    output = Path(output) if output is not None else folder / "export"
    output.mkdir(parents=True, exist_ok=True)
    export_onnx(network, shape, output / MODEL_FILE)
    generator = torch.Generator().manual_seed(0)
    difference = check_onnx(network, output / MODEL_FILE, torch.randn(8, *shape, generator=generator))
    document = preprocessing_document(model, shape)
    write_atomically(output / PREPROCESSING_FILE, json.dumps(document, indent=2) + "\n")
    files = [output / MODEL_FILE, output / PREPROCESSING_FILE]
    if (folder / OPERATING_POINTS_FILE).is_file():
        write_atomically(output / OPERATING_POINTS_FILE, (folder / OPERATING_POINTS_FILE).read_text())
        files.append(output / OPERATING_POINTS_FILE)
    return {"files": [str(path) for path in files], "largest_difference": difference}


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    with one_line_errors():
        result = export(arguments.folder, arguments.output)
    print(f"onnxruntime vs PyTorch on 8 random inputs: largest difference {result['largest_difference']:.2g}")
    print("\n".join(result["files"]))


if __name__ == "__main__":
    main()
