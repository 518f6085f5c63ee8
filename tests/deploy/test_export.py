"""``almlit.export``: the ONNX model against PyTorch on real batches, and preprocessing.json applied by hand."""

import json
import os

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from almlit.export import main as export_main
from tests.helpers.mri_files import build_cohort
from tests.helpers.network_runs import (
    MRI_RUN,
    read_network,
    write_network_ensemble,
    write_network_run,
    write_operating_points,
)

onnxruntime = pytest.importorskip("onnxruntime")


def run_onnx(path, inputs):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: inputs})[0]


@pytest.mark.slow  # the ONNX export takes 5-15 s
def test_ensemble_onnx_from_raw_digits_by_hand(tmp_path, capsys):
    folder = write_network_ensemble(tmp_path / "ensemble", members=2)
    write_operating_points(folder)
    export_main([str(folder), "--output", str(tmp_path / "export")])
    assert "largest difference" in capsys.readouterr().out
    preprocessing = json.loads((tmp_path / "export" / "preprocessing.json").read_text())
    points = json.loads((tmp_path / "export" / "operating_points.json").read_text())["operating_points"]
    # raw images as a program without almlit holds them: uint8, channels first, in the documented shape
    raw = np.round(load_digits().images * (255 / 16)).astype(np.uint8)[:, None]
    assert list(raw.shape[1:]) == preprocessing["input_shape"] and preprocessing["channels"] == ["gray"]
    mean = np.array(preprocessing["mean"], np.float32)[None, :, None, None]
    std = np.array(preprocessing["std"], np.float32)[None, :, None, None]
    inputs = ((raw.astype(np.float32) * preprocessing["scale"] - mean) / std).astype(np.float32)
    logits = run_onnx(tmp_path / "export" / preprocessing["model"], inputs)
    assert logits.shape == (len(raw),)
    with torch.no_grad():
        members = [read_network(folder / f"member{index}")(torch.from_numpy(inputs)).reshape(-1) for index in range(2)]
    expected = ((members[0] + members[1]) / 2).numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-4, rtol=0)
    for point in points:
        decisions = logits >= point["threshold"]
        assert 0 < decisions.sum() < len(raw)
        # the same decisions wherever the two computations are not within the tolerance of the threshold
        clear = np.abs(expected - point["threshold"]) > 1e-4
        assert np.array_equal(decisions[clear], (expected >= point["threshold"])[clear])
    assert len(run_onnx(tmp_path / "export" / "model.onnx", inputs[:1])) == 1  # any batch size
    umask = os.umask(0)
    os.umask(umask)
    for name in ("model.onnx", "preprocessing.json", "operating_points.json"):  # the umask's mode, as any result
        assert (tmp_path / "export" / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


@pytest.mark.slow
def test_mri_volumes_onnx(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    build_cohort(tmp_path / "cohort")
    run_dir = write_network_run(tmp_path / "run", MRI_RUN, input_shape=(2, 4, 6, 6))
    export_main([str(run_dir)])
    preprocessing = json.loads((run_dir / "export" / "preprocessing.json").read_text())
    assert preprocessing["input_shape"] == [2, 4, 6, 6] and preprocessing["channels"] == ["t2w", "adc"]
    volumes = torch.randn(5, 2, 4, 6, 6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = read_network(run_dir)(volumes).reshape(-1).numpy()
    np.testing.assert_allclose(run_onnx(run_dir / "export" / "model.onnx", volumes.numpy()), expected, atol=1e-4)
