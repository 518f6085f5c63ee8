"""Distributed (DDP) training replays the single-process run with the same global batch.

References: ``numpy.array_split`` for the shares, plain chunking of the global order for the batches, a
single-process loop over the global batches for the multipliers and weights, and a single-process
``python -m almlit.train`` run for the end-to-end check.
"""

import csv
import functools
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from almlit.alm import BinaryConstraint
from almlit.alm.distributed import gather_batch, world_size
from almlit.data.distributed import GlobalBatchShard, RankBlockSampler, rank_shard, shard_bounds
from almlit.data.indexed import TensorImageDataset
from almlit.data.loaders import TensorDataModule
from almlit.data.samplers import DualSampler, EpochShuffleSampler
from almlit.losses import BCELoss
from almlit.module import ALMClassifier

WORLD_SIZE = 2


def chunks(order: list[int], size: int) -> list[list[int]]:
    return [order[start : start + size] for start in range(0, len(order), size)]


# --- one process: the helpers change nothing -------------------------------------------------------------------------


def test_gather_batch_with_one_process_returns_the_same_tensors():
    assert world_size() == 1
    outputs, targets = torch.randn(5, 1, requires_grad=True), torch.arange(5)
    gathered = gather_batch(outputs, targets)
    assert gathered[0] is outputs and gathered[1] is targets


def test_gather_batch_rejects_no_tensor_and_ragged_rows():
    with pytest.raises(ValueError, match="gather_batch needs at least one tensor, got none"):
        gather_batch()
    with pytest.raises(ValueError, match=r"the same number of rows, got \[3, 2\]"):
        gather_batch(torch.zeros(3), torch.zeros(2))


def test_one_process_trains_on_the_sampler_itself():
    sampler = EpochShuffleSampler(torch.zeros(10, dtype=torch.long), seed=0)
    assert rank_shard(sampler, 4, None) is sampler
    assert list(RankBlockSampler(7)) == list(range(7))


# --- the shares of a global batch ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "world"), [(10, 2), (11, 2), (7, 3), (2, 3), (0, 2), (5, 1)])
def test_shard_bounds_match_numpy_array_split(size, world):
    parts = np.array_split(np.arange(size), world)
    for rank, part in enumerate(parts):
        start, stop = shard_bounds(size, rank, world)
        assert list(range(start, stop)) == part.tolist()


def test_shard_bounds_reject_a_rank_outside_the_world():
    with pytest.raises(ValueError, match="rank must be in 0..1 for world_size 2, got 2"):
        shard_bounds(4, 2, 2)
    with pytest.raises(ValueError, match="world_size must be >= 1, got 0"):
        shard_bounds(4, 0, 0)


@pytest.mark.parametrize(("num_samples", "batch_size", "world"), [(23, 4, 2), (24, 4, 2), (31, 3, 3)])
def test_the_ranks_shares_form_the_global_batches_in_order(num_samples, batch_size, world):
    sampler = EpochShuffleSampler(torch.zeros(num_samples, dtype=torch.long), seed=3)
    sampler.set_epoch(2)
    global_batches = chunks(list(sampler), batch_size * world)
    per_rank = []
    for rank in range(world):
        shard = GlobalBatchShard(
            EpochShuffleSampler(torch.zeros(num_samples, dtype=torch.long), seed=3), batch_size, rank, world
        )
        shard.set_epoch(2)
        order = list(shard)
        assert len(order) == len(shard)
        per_rank.append(chunks(order, batch_size))  # what a DataLoader with batch_size makes of it
    assert all(len(batches) == len(global_batches) for batches in per_rank)
    for step, batch in enumerate(global_batches):
        assert sum((batches[step] for batches in per_rank), []) == batch


def test_a_last_global_batch_smaller_than_the_world_is_refused():
    sampler = EpochShuffleSampler(torch.zeros(9, dtype=torch.long), seed=0)  # batches of 2 x 4: the last holds 1
    with pytest.raises(ValueError, match="holds 1 samples, fewer than the 2 processes; change data.batch_size"):
        GlobalBatchShard(sampler, 4, rank=0, world_size=2)
    with pytest.raises(ValueError, match="data.batch_size must be >= 1, got 0"):
        GlobalBatchShard(sampler, 0)


def test_evaluation_blocks_cover_the_set_once_in_order():
    blocks = [list(RankBlockSampler(11, rank, 3)) for rank in range(3)]
    assert sum(blocks, []) == list(range(11))
    assert [len(block) for block in blocks] == [4, 4, 3]


class Positives(TensorDataModule):
    """30 training samples, 6 positives, ids unrelated to positions; 13 test samples."""

    critical_classes = (1,)

    def __init__(self, batch_size: int, world: int = 1, rank: int = 0) -> None:
        sampler = functools.partial(DualSampler, positive_rate=0.25)
        super().__init__(batch_size=batch_size, eval_batch_size=4, seed=7, sampler=sampler)
        labels = (torch.arange(30) % 5 == 0).long()
        images = torch.zeros(30, 1, 1, 1, dtype=torch.uint8)
        self.train_dataset = TensorImageDataset(images, labels, 1000 - torch.arange(30))
        self.test_dataset = TensorImageDataset(images[:13], labels[:13], torch.arange(13) + 500)
        self.trainer = SimpleNamespace(global_rank=rank, world_size=world)


def test_the_data_module_serves_each_rank_its_share_of_the_single_process_batches():
    single = Positives(batch_size=8)
    single_batches = [ids.tolist() for _, _, ids in single.train_dataloader()]
    assert all(sum(labels.tolist()) == 2 for _, labels, _ in single.train_dataloader())  # 0.25 x the global batch
    rank_batches = [[ids.tolist() for _, _, ids in Positives(4, 2, rank).train_dataloader()] for rank in (0, 1)]
    assert [first + second for first, second in zip(*rank_batches, strict=True)] == single_batches
    test_ids = [torch.cat([ids for _, _, ids in Positives(4, 2, rank).test_dataloader()]) for rank in (0, 1)]
    assert torch.cat(test_ids).tolist() == list(range(500, 513))


# --- two processes (gloo): gathers, gradients, multipliers ------------------------------------------------------------


def _global_batches() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(21, 1, 2, 2, generator=generator)
    labels = (torch.arange(21) % 4 == 1).long()
    return images, labels, 300 - 10 * torch.arange(21)


def _module() -> ALMClassifier:
    torch.manual_seed(0)
    network = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
    optimizer = functools.partial(torch.optim.SGD, lr=0.5)
    return ALMClassifier(network, BCELoss(), optimizer, BinaryConstraint(margin=1.0), 301, penalty_init=0.5)


def _train(module: ALMClassifier, batches: list[tuple[torch.Tensor, ...]], world: int) -> None:
    """Plain SGD steps; with several processes the gradients are averaged, as DDP does."""
    optimizer = module.configure_optimizers()
    for batch in batches:
        optimizer.zero_grad()
        loss, _ = module.training_loss(batch)
        loss.backward()
        for parameter in module.parameters():
            if parameter.grad is not None and world > 1:
                dist.all_reduce(parameter.grad)
                parameter.grad /= world
        optimizer.step()


def _worker(rank: int, folder: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=WORLD_SIZE)
    # gather: 3 rows on rank 0, 2 on rank 1; loss = sum_k weight_k * row_k over the 5 gathered rows
    rows = torch.arange(5.0).reshape(5, 1) ** 2
    start, stop = (0, 3) if rank == 0 else (3, 5)
    local = rows[start:stop].clone().requires_grad_(True)
    gathered, ids = gather_batch(local, torch.arange(start, stop) + 10)
    (gathered.squeeze(1) * (torch.arange(5.0) + 1)).sum().backward()
    # training: each rank its share of the global batches of 8
    images, labels, sample_ids = _global_batches()
    shares = []
    for begin in range(0, 21, 8):
        share_start, share_stop = shard_bounds(min(8, 21 - begin), rank, WORLD_SIZE)
        positions = slice(begin + share_start, begin + share_stop)
        shares.append((images[positions], labels[positions], sample_ids[positions]))
    module = _module()
    _train(module, shares, WORLD_SIZE)
    torch.save(
        {"gathered": gathered.detach(), "ids": ids, "grad": local.grad, "state": module.state_dict()},
        f"{folder}/rank{rank}.pt",
    )
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_processes_equal_one_process_with_the_global_batch(tmp_path):
    mp.spawn(_worker, args=(str(tmp_path),), nprocs=WORLD_SIZE, join=True)
    results = [torch.load(tmp_path / f"rank{rank}.pt") for rank in range(WORLD_SIZE)]
    rows = torch.arange(5.0).reshape(5, 1) ** 2
    weights = torch.arange(5.0) + 1
    for rank, result in enumerate(results):
        assert torch.equal(result["gathered"], rows) and result["ids"].tolist() == [10, 11, 12, 13, 14]
        own = slice(0, 3) if rank == 0 else slice(3, 5)
        # every rank's loss reaches this rank's rows: the gradient is W x the single-process one
        assert torch.equal(result["grad"].squeeze(1), WORLD_SIZE * weights[own])
    images, labels, sample_ids = _global_batches()
    reference = _module()
    _train(reference, [(images[b : b + 8], labels[b : b + 8], sample_ids[b : b + 8]) for b in range(0, 21, 8)], 1)
    assert reference.bank.multipliers.count_nonzero() > 0  # the steps did update lambda
    assert torch.equal(results[0]["state"]["bank.multipliers"], results[1]["state"]["bank.multipliers"])
    for name, expected in reference.state_dict().items():
        for result in results:
            torch.testing.assert_close(result["state"][name], expected, rtol=1e-6, atol=1e-7)


# --- end to end: python -m almlit.train with trainer.strategy=ddp ----------------------------------------------------

LINEAR_PROBE = """\
_target_: torch.nn.Sequential
_args_:
  - _target_: torch.nn.Flatten
  - _target_: torch.nn.Linear
    in_features: 64
    out_features: ${num_outputs}
"""


def _test_scores(run_folder) -> dict[int, float]:
    with (run_folder / "test_scores.csv").open() as file:
        rows = list(csv.DictReader(file))
    scores = {int(row["sample_id"]): float(row["score"]) for row in rows}
    assert len(scores) == len(rows)  # every test sample once
    return scores


@pytest.mark.slow
def test_ddp_training_run_equals_the_single_process_run_with_the_doubled_batch(train_command, tmp_path):
    """Two CPU processes with data.batch_size=32 against one with 64: weights, lambda, mu and test scores.

    A rank whose mu or lambda drifted from rank 0's would pull the averaged gradients, and so rank 0's weights,
    away from the single-process run.

    BatchNorm statistics are per process unless trainer.sync_batchnorm=true, which needs GPUs, so the network
    here is a linear probe without BatchNorm; the random crop is off (augmentation is drawn per process).
    """
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "linear_probe.yaml").write_text(LINEAR_PROBE)
    common = (
        f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
        "model=linear_probe",
        "data.crop_padding=0",
        "trainer.max_epochs=3",
        "trainer.accelerator=cpu",
    )
    ddp = train_command(*common, "trainer.devices=2", "trainer.strategy=ddp", "data.batch_size=32", "run_name=ddp")
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = train_command(*common, "data.batch_size=64", "run_name=single")
    assert single.returncode == 0, single.stderr[-3000:]
    assert ddp.stdout.count("run folder:") == 1  # only rank 0 reports
    folders = {name: tmp_path / "outputs" / "runs" / name for name in ("ddp", "single")}
    checkpoints = {
        name: torch.load(folder / "checkpoints" / "last.ckpt", weights_only=False) for name, folder in folders.items()
    }
    # 15 steps an epoch (ceil(957 / 64)), the last global batch of 61 split 31 + 30; the third epoch has the best
    # validation AUC, so last.ckpt holds the end of training, after mu grew (after the second epoch) on both ranks
    assert checkpoints["ddp"]["global_step"] == checkpoints["single"]["global_step"] == 3 * 15
    expected = checkpoints["single"]["state_dict"]
    assert expected["bank.multipliers"].count_nonzero() > 0
    for name, value in checkpoints["ddp"]["state_dict"].items():
        torch.testing.assert_close(value, expected[name], rtol=1e-5, atol=1e-6)
    scores = {name: _test_scores(folder) for name, folder in folders.items()}
    assert scores["ddp"].keys() == scores["single"].keys()
    for sample_id, score in scores["single"].items():
        assert scores["ddp"][sample_id] == pytest.approx(score, rel=1e-5, abs=1e-6)
    metrics = {name: json.loads((folder / "metrics.json").read_text()) for name, folder in folders.items()}
    assert metrics["ddp"]["final_penalty"] == metrics["single"]["final_penalty"] == pytest.approx(2e-3)
    assert metrics["ddp"]["test"]["auc"] == pytest.approx(metrics["single"]["test"]["auc"], abs=1e-6)


@pytest.mark.slow
def test_strategies_that_train_in_child_processes_are_refused(train_command):
    result = train_command("trainer.strategy=ddp_spawn", "trainer.devices=2", "trainer.accelerator=cpu")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "almlit: error: trainer.strategy=ddp_spawn is not supported: the test scores stay in its child processes; "
        "use trainer.strategy=ddp (or auto)"
    )
