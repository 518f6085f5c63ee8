"""``python -m almlit.bench``: its measuring functions on tiny models and data, its JSON, its error messages.

No timing is asserted: only that every number is there, that ratios are the quotients of the reported rates,
that FLOP counts equal hand-computed ones and that the synthetic data has the sizes of the real splits.
"""

import json
import statistics
import sys

import pytest
import torch
from torch import nn

from almlit.alm import BinaryConstraint
from almlit.bench import default_output, main, run_bench
from almlit.benchmark.measure import count_flops, interleaved_samples
from almlit.benchmark.pipelines import PILImageDataset, normalisation_of, per_sample_transform
from almlit.benchmark.results import format_table, write_json
from almlit.benchmark.settings import bench_settings
from almlit.benchmark.stacked import stacked_batches
from almlit.benchmark.synthetic import build_datamodule, wants_synthetic, write_random_cifar
from almlit.benchmark.training import training_step_flops
from almlit.data import BatchAugment, TensorImageDataset
from almlit.data.cifar import CIFAR_MEAN, CIFAR_STD
from almlit.losses import BCELoss
from almlit.module import ALMClassifier
from tests.helpers.configs import TINY_BENCH, compose_bench

SECTIONS = {
    "setting": {"model", "data", "loss", "alm", "imb", "synthetic", "device", "device_name", "threads", "precision"},
    "training": {"base_seconds_per_step", "alm_seconds_per_step", "base_images_per_s", "alm_images_per_s"},
    "validation": {"images_per_s"},
    "data": {"batched_images_per_s", "per_sample_images_per_s", "batched_over_per_sample"},
    "compute": {"gflop_per_step", "train_gflop_per_s", "matmul_gflop_per_s", "matmul_dtype", "matmul_fraction"},
    "memory": {"cpu_max_rss_mib", "cuda_max_allocated_mib"},
    "epoch": {"seconds", "train_batches"},
    "targets": {"alm_over_base", "batched_over_per_sample"},
}


def test_results_hold_every_field_and_ratios_are_quotients_of_the_rates(tmp_path):
    threads = torch.get_num_threads()
    try:
        results = run_bench(compose_bench(*TINY_BENCH, "bench.threads=1"), "small_cnn", "digits")
    finally:
        torch.set_num_threads(threads)
    write_json(results, tmp_path / "deep" / "bench.json")
    results = json.loads((tmp_path / "deep" / "bench.json").read_text())
    for section, fields in SECTIONS.items():
        assert fields <= set(results[section]), section
    training, data, compute = results["training"], results["data"], results["compute"]
    assert training["alm_over_base"] == pytest.approx(training["base_images_per_s"] / training["alm_images_per_s"])
    assert data["batched_over_per_sample"] == pytest.approx(
        data["batched_images_per_s"] / data["per_sample_images_per_s"]
    )
    assert compute["matmul_fraction"] == pytest.approx(compute["train_gflop_per_s"] / compute["matmul_gflop_per_s"])
    assert compute["train_gflop_per_s"] == pytest.approx(compute["gflop_per_step"] / training["alm_seconds_per_step"])
    assert training["base_images_per_s"] == pytest.approx(64 / training["base_seconds_per_step"])
    assert training["alm_seconds_per_step"] == statistics.median(training["alm_seconds_per_step_by_repeat"])
    for name, target in results["targets"].items():
        assert target["holds"] == (
            target["value"] <= target["limit"] if target["comparison"] == "<=" else target["value"] >= target["limit"]
        ), name
    setting = results["setting"]
    assert setting["synthetic"] is False and setting["device"] == "cpu" and setting["threads"] == 1
    assert setting["steps_per_repeat"] == 1 and len(training["base_seconds_per_step_by_repeat"]) == 3
    assert results["memory"]["cuda_max_allocated_mib"] is None and results["memory"]["cpu_max_rss_mib"] > 0
    # digits: 25 validation images of each of the ten digits (nine negative, one positive)
    assert setting["validation_images"] == 10 * 25
    assert results["epoch"]["train_batches"] == -(-setting["train_images"] // 64)
    assert [row["members"] for row in results["stacking"]] == [1, 3]
    for row in results["stacking"]:
        assert row["stacked_images_per_s"] == pytest.approx(row["members"] * 64 / row["stacked_seconds_per_step"])
        assert row["separate_images_per_s"] == pytest.approx(row["members"] * 64 / row["separate_seconds_per_step"])
        assert row["stacked_over_separate"] == pytest.approx(row["stacked_images_per_s"] / row["separate_images_per_s"])
    table = format_table(results)
    assert "ALM step time / base" in table and "SYNTHETIC" not in table
    assert "stacked members (ensemble.stack=K)" in table and "K=3 " in table


def test_each_member_of_a_stacked_bench_step_gets_its_own_batch():
    batches = [
        (torch.full((2, 1), float(index)), torch.full((2,), index), torch.full((2,), 10 * index)) for index in range(3)
    ]
    stacked = stacked_batches(batches, 2)
    assert len(stacked) == 3
    for position, (images, targets, ids) in enumerate(stacked):
        for member in range(2):  # the naive choice: the batch `member` places after the position, cycling
            chosen = (position + member) % 3
            assert torch.equal(images[member], batches[chosen][0])
            assert torch.equal(targets[member], batches[chosen][1]) and torch.equal(ids[member], batches[chosen][2])


def test_default_output_path():
    assert str(default_output("outputs", "resnet10", "cifar100", "cpu")) == "outputs/bench/resnet10-cifar100-cpu.json"


def test_flops_of_a_linear_layer_are_counted_by_hand():
    batch, inputs, outputs = 8, 5, 3
    layer = nn.Linear(inputs, outputs)
    x = torch.randn(batch, inputs)
    assert count_flops(lambda: layer(x)) == 2 * batch * inputs * outputs
    # backward: the weight gradient (another product of the same size); x needs no gradient
    assert count_flops(lambda: layer(x).sum().backward()) == 4 * batch * inputs * outputs
    x.requires_grad_(True)
    assert count_flops(lambda: layer(x).sum().backward()) == 6 * batch * inputs * outputs


def test_training_step_flops_of_a_linear_network_with_the_constraint():
    batch, channels, side = 6, 2, 3
    network = nn.Sequential(nn.Flatten(), nn.Linear(channels * side * side, 1))
    module = ALMClassifier(
        network, BCELoss(), torch.optim.SGD, constraint=BinaryConstraint(0.25), num_train_samples=batch, penalty_init=1
    )
    images = torch.randn(batch, channels, side, side)
    labels = torch.tensor([0, 1, 0, 0, 1, 0])
    before = [parameter.clone() for parameter in network.parameters()]
    flops = training_step_flops(module, (images, labels, torch.arange(batch)))
    # forward 2 * B * in * 1; backward: only the weight gradient; the constraint adds no matrix product
    assert flops == 4 * batch * channels * side * side
    assert all(torch.equal(a, b) for a, b in zip(before, network.parameters(), strict=True))
    assert next(network.parameters()).device.type == "cpu"


@pytest.mark.parametrize(
    ("overrides", "sizes"),
    [
        # 5 negative classes x floor(0.9 x (500 - 50)) = 2025, floor(2025 / 100) = 20 positives; 6 x 50 validation
        (["data=cifar100", "imb=100"], (2025, 20, 300, 600)),
        # 5000 - 100 negatives, floor(4900 / 200) = 24 positives; 2 x 100 validation, 2 x 1000 test
        (["data=cifar10", "imb=200"], (4900, 24, 200, 2000)),
    ],
)
def test_synthetic_cifar_has_the_sizes_of_the_real_splits(overrides, sizes):
    cfg = compose_bench(*overrides, "data.root=/nonexistent")
    assert wants_synthetic(cfg.data, "auto")
    datamodule = build_datamodule(cfg.data, synthetic=True)
    negatives, positives, validation, test = sizes
    assert datamodule.class_counts == (negatives, positives)
    assert len(datamodule.val_dataset) == validation and len(datamodule.test_dataset) == test
    assert datamodule.num_train_samples == 50000
    assert datamodule.train_dataset.images.shape[1:] == (3, 32, 32)
    assert datamodule.train_dataset.images.dtype == torch.uint8
    assert datamodule.train_dataset.images.float().std() > 50  # random pixels, not blanks
    train_ids, validation_ids = datamodule.train_dataset.sample_ids, datamodule.val_dataset.sample_ids
    assert int(train_ids.max()) < 50000 and not set(train_ids.tolist()) & set(validation_ids.tolist())
    assert int(datamodule.test_dataset.sample_ids.min()) >= 50000


def test_synthetic_long_tailed_cifar_has_the_real_class_sizes():
    cfg = compose_bench("data=cifar10_lt", "imb=100", "data.root=/nonexistent")
    counts = build_datamodule(cfg.data, synthetic=wants_synthetic(cfg.data, "auto")).class_counts
    # n_max = 5000 - 100 validation images; the smallest class keeps floor(4900 / 100)
    assert (counts[0], counts[-1], len(counts)) == (4900, 49, 10)


def test_real_files_are_used_when_present(tmp_path):
    write_random_cifar(tmp_path, "cifar10", train_per_class=120, test_per_class=2)
    cfg = compose_bench("data=cifar10", f"data.root={tmp_path}", "imb=10")
    assert not wants_synthetic(cfg.data, "auto")
    assert wants_synthetic(cfg.data, "true")
    assert build_datamodule(cfg.data, synthetic=False).class_counts == (20, 2)


def test_synthetic_true_needs_cifar():
    cfg = compose_bench("data=digits")
    assert not wants_synthetic(cfg.data, "auto")
    with pytest.raises(ValueError, match="bench.synthetic=true replaces the CIFAR files"):
        wants_synthetic(cfg.data, "true")


def test_per_sample_pipeline_normalises_like_the_batched_one():
    augment = BatchAugment(CIFAR_MEAN, CIFAR_STD, crop_padding=0, hflip=False)
    mean, std = normalisation_of(augment)
    assert mean == pytest.approx(CIFAR_MEAN) and std == pytest.approx(CIFAR_STD)
    images = torch.randint(0, 256, (4, 3, 6, 6), dtype=torch.uint8)
    dataset = TensorImageDataset(images, torch.zeros(4, dtype=torch.long), torch.arange(4))
    per_sample = PILImageDataset(dataset, per_sample_transform(augment, 6))
    image, label, sample_id = per_sample[2]
    torch.testing.assert_close(image, augment(images, train=False)[2])
    assert (label, sample_id) == (0, 2)


def test_interleaved_samples_alternate_the_order():
    calls = []

    def run(name, values):
        values = iter(values)
        return lambda: calls.append(name) or next(values)

    samples = interleaved_samples({"a": run("a", [3.0, 1.0, 2.0]), "b": run("b", [5.0, 9.0, 7.0])}, repeats=3)
    assert samples == {"a": [3.0, 1.0, 2.0], "b": [5.0, 9.0, 7.0]}
    assert calls == ["a", "b", "b", "a", "a", "b"]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("bench.device=tpu", "bench.device must be one of ['auto', 'cpu', 'cuda'], got 'tpu'"),
        ("bench.precision=64-true", "bench.precision must be one of ['32-true', 'bf16-mixed', '16-mixed']"),
        ("bench.repeats=0", "bench.repeats must be an int >= 1, got 0"),
        ("bench.synthetic=maybe", "bench.synthetic must be auto, true or false, got 'maybe'"),
        ("bench.stack=4", "bench.stack must be a list of stack sizes >= 1, e.g. [1,2,4], got 4"),
        ("bench.stack=[2,0]", "bench.stack must be an int >= 1, got 0"),
        ("bench.stack_mode=batched", "bench.stack_mode must be one of auto, vmap, sequential, got 'batched'"),
    ],
)
def test_bad_options_are_named(option, message):
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        bench_settings(compose_bench(option).bench)


def test_bench_needs_a_constraint():
    with pytest.raises(ValueError, match="alm=none has no constraint"):
        run_bench(compose_bench(*TINY_BENCH, "alm=none"), "small_cnn", "digits")


def test_command_line_error_is_one_line(tmp_path, monkeypatch, capsys):
    if torch.cuda.is_available():
        options, message = ["bench.precision=16-mixed", "bench.device=cpu"], "16-mixed needs bench.device=cuda"
    else:
        options, message = ["bench.device=cuda", "bench.precision=32-true"], "bench.device=cuda, but torch"
    monkeypatch.chdir(tmp_path)
    # hydra/job_logging=none: leave the logging of the test process as it is
    monkeypatch.setattr(sys, "argv", ["almlit.bench", *options, "hydra/job_logging=none"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("almlit: error: ") and message in lines[-1], lines
    assert not list(tmp_path.iterdir())
