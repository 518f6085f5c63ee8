"""Finished run and ensemble folders with untrained networks, written in a second: what almlit.train and
almlit.ensemble leave behind that predict and export read (config.yaml, metrics.json, the best checkpoint, COMPLETE)."""

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

from almlit.decision import binary_operating_points
from almlit.decision.operating_points import operating_points_json
from almlit.report.ensemble_members import compose_member, resolve_member

# The embedded digits as almlit.data.BinaryDigits documents them: 0..16 scaled to uint8 0..255, normalised with
# the mean and standard deviation of all 1797 images (scaled to [0, 1]).
DIGITS_MEAN, DIGITS_STD = 0.3053, 0.3759
MRI_RUN = (
    "data=mri",
    "data.root=cohort",
    "data.sequences=[t2w,adc]",
    "model.in_channels=2",
    "model.widths=[2,4]",
    "data.shape=[4,6,6]",
    "data.cache_dir=null",
)


def write_network_run(run_dir: Path, overrides: Sequence[str] = (), seed: int = 0, input_shape=(1, 8, 8)) -> Path:
    """A finished run folder of ``python -m almlit.train <overrides> seed=<seed>`` whose best checkpoint holds the
    network's random initial weights, with BatchNorm statistics set away from 0 and 1 so they matter."""
    run_dir = Path(run_dir)
    config = resolve_member(compose_member(list(overrides)), run_dir)
    config["seed"] = seed
    torch.manual_seed(seed)
    network = instantiate(OmegaConf.create(config["model"]))
    for module in network.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    state = {f"network.{key}": value for key, value in network.state_dict().items()}
    torch.save({"state_dict": state}, run_dir / "checkpoints" / "best.ckpt")
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(config)))
    metrics = {
        "best_checkpoint": "checkpoints/best.ckpt",
        "input_shape": list(input_shape),
        "test": {},
        "best_val": {config["monitor"]: 0.5},
        "critical_classes": [1],
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    (run_dir / "COMPLETE").write_text("2026-01-01T00:00:00+00:00\n")
    return run_dir


def write_network_ensemble(folder: Path, members: int, overrides: Sequence[str] = (), input_shape=(1, 8, 8)) -> Path:
    """An ensemble folder: ``member<i>`` runs (seed i) and the ``ensemble.json`` that lists them."""
    for index in range(members):
        write_network_run(folder / f"member{index}", overrides, seed=index, input_shape=input_shape)
    summary = {"member_folders": [f"member{index}" for index in range(members)]}
    (folder / "ensemble.json").write_text(json.dumps(summary))
    return folder


def write_operating_points(folder: Path, tpr_levels=(0.98, 0.9)) -> dict:
    """An ``operating_points.json`` chosen on the run's (ensemble's mean) logits of the first 300 digits images
    (which overlap the test set: only the document's use is tested here), so its thresholds split the test images."""
    from sklearn.datasets import load_digits

    sample_ids = np.arange(300)
    members = sorted(Path(folder).glob("member*")) or [Path(folder)]
    scores = np.mean([digits_logits(read_network(member), sample_ids) for member in members], axis=0)
    document = binary_operating_points(scores, (load_digits().target[sample_ids] == 8).astype(np.int64), tpr_levels)
    (Path(folder) / "operating_points.json").write_text(operating_points_json(document))
    return document


def digits_logits(network: nn.Module, sample_ids: np.ndarray) -> np.ndarray:
    """The logit of each digits image, normalised by hand with numpy (the reference)."""
    from sklearn.datasets import load_digits

    raw = np.round(load_digits().images[sample_ids] * (255 / 16)).astype(np.uint8)
    images = ((raw.astype(np.float32) / 255 - DIGITS_MEAN) / DIGITS_STD).astype(np.float32)[:, None]
    with torch.no_grad():
        return network(torch.from_numpy(images)).reshape(-1).double().numpy()


def read_network(run_dir: Path) -> nn.Module:
    """The network saved by :func:`write_network_run`, read back with torch alone."""
    config = OmegaConf.load(Path(run_dir) / "config.yaml")
    network = instantiate(config.model)
    state = torch.load(Path(run_dir) / "checkpoints" / "best.ckpt")["state_dict"]
    network.load_state_dict({key.removeprefix("network."): value for key, value in state.items()})
    return network.eval()
