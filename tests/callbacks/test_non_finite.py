"""NaN injection: a non-finite loss term stops training with one line, and no checkpoint of it is ever written."""

import functools
import math

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from almlit.alm import BinaryConstraint
from almlit.callbacks import NonFiniteLossCheck
from almlit.callbacks.non_finite import NOT_SEEN, empty_record, first_non_finite, record_first_non_finite
from almlit.errors import NonFiniteLossError, TrainingFailure, out_of_memory_advice
from almlit.losses import BCELoss
from almlit.module import ALMClassifier
from tests.helpers.commands import run_in_process

NAN, INF = math.nan, math.inf
BATCHES_PER_EPOCH = 4


class PoisonedLoss(nn.Module):
    """BCE, except that its ``poisoned_call``-th call (0-based) returns NaN; the weights are NaN from then on."""

    def __init__(self, poisoned_call: int) -> None:
        super().__init__()
        self.poisoned_call = poisoned_call
        self.calls = 0
        self.bce = BCELoss()

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        loss = self.bce(outputs, targets)
        self.calls += 1
        return loss * NAN if self.calls - 1 == self.poisoned_call else loss


class OutOfMemoryLoss(nn.Module):
    """A loss whose first call fails as a device out of memory would (torch raises the same error on CPU)."""

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")


def step_records(steps):
    """Feed ``steps`` = [(terms, (epoch, step, batch)), ...] through the recording, as training does."""
    positions, values = empty_record(len(steps[0][0]))
    for terms, position in steps:
        positions, values = record_first_non_finite(positions, values, torch.tensor(terms), position)
    return positions, values


def test_only_the_first_non_finite_value_of_each_term_is_kept():
    positions, values = step_records(
        [
            ([0.7, 0.0, 0.0], (0, 0, 0)),
            ([0.6, INF, 0.0], (0, 1, 1)),
            ([NAN, NAN, -INF], (1, 2, 0)),
            ([NAN, NAN, NAN], (1, 3, 1)),
        ]
    )
    assert positions.tolist() == [[1, 2, 0], [0, 1, 1], [1, 2, 0]]
    assert str(values.tolist()) == "[nan, inf, -inf]"


def test_a_finite_run_leaves_the_record_empty():
    positions, values = step_records([([0.7, 0.1], (0, 0, 0)), ([1e30, -3.0], (0, 1, 1))])
    assert (positions == NOT_SEEN).all() and values.tolist() == [0.0, 0.0]
    assert first_non_finite(positions, values, ("base_loss", "penalty_term")) is None


def test_the_earliest_terms_are_named_and_the_total_only_when_alone():
    names = ("loss", "base_loss", "penalty_term", "multiplier_term")
    positions, values = step_records([([INF, 0.5, INF, 0.0], (2, 40, 3)), ([NAN, NAN, NAN, NAN], (2, 41, 4))])
    assert first_non_finite(positions, values, names) == "at epoch 2, step 40 (batch 3 of the epoch): penalty_term=inf"
    positions, values = step_records([([INF, 1e38, 1e38, 0.0], (0, 5, 5))])
    assert first_non_finite(positions, values, names) == "at epoch 0, step 5 (batch 5 of the epoch): loss=inf"
    positions, values = step_records([([NAN, NAN, 0.0, NAN], (0, 7, 7))])
    where = first_non_finite(positions, values, names)
    assert where == "at epoch 0, step 7 (batch 7 of the epoch): base_loss=nan, multiplier_term=nan"


def tiny_loaders():
    """32 training samples in 4 batches of 8, each with 4 positives (so every batch has constraint pairs)."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(32, 3, generator=generator)
    labels = torch.arange(32) % 2
    train = TensorDataset(images, labels, torch.arange(32))
    val = TensorDataset(torch.randn(16, 3, generator=generator), torch.arange(16) % 2, torch.arange(16))
    return DataLoader(train, batch_size=32 // BATCHES_PER_EPOCH), DataLoader(val, batch_size=16)


def fit(module, tmp_path, validate, epochs=3, **checkpointing):
    """Fit with the run's callbacks (checkpoints as conf/callbacks/default.yaml); returns the error raised."""
    checkpoint = L.pytorch.callbacks.ModelCheckpoint(
        dirpath=tmp_path, monitor="val/auc" if validate else None, mode="max", save_last=True, **checkpointing
    )
    trainer = L.Trainer(
        max_epochs=epochs,
        callbacks=[NonFiniteLossCheck(), checkpoint],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=1.0 if validate else 0,
        num_sanity_val_steps=0,
    )
    train, val = tiny_loaders()
    with pytest.raises(NonFiniteLossError) as raised:
        trainer.fit(module, train, val)
    return str(raised.value)


def make_module(loss, constraint=None):
    torch.manual_seed(0)
    optimizer = functools.partial(torch.optim.SGD, lr=0.1)
    return ALMClassifier(nn.Linear(3, 1), loss, optimizer, constraint, num_train_samples=32, penalty_init=1e-3)


@pytest.mark.parametrize("validate", [True, False], ids=["checkpoint after validation", "checkpoint at epoch end"])
def test_nan_in_the_second_epoch_keeps_the_first_epochs_checkpoint(tmp_path, validate):
    poisoned_call = BATCHES_PER_EPOCH + 2  # epoch 1, its third batch
    message = fit(make_module(PoisonedLoss(poisoned_call)), tmp_path, validate)
    assert message.startswith(
        "the training loss became NaN or inf at epoch 1, step 6 (batch 2 of the epoch): base_loss=nan; training "
        f"stopped and the last good checkpoint is {tmp_path / 'last.ckpt'}"
    ), message
    saved = torch.load(tmp_path / "last.ckpt", weights_only=False)
    assert saved["epoch"] == 0 and saved["global_step"] == BATCHES_PER_EPOCH
    assert all(torch.isfinite(value).all() for value in saved["state_dict"].values())
    assert len(list(tmp_path.iterdir())) == 2  # last.ckpt and epoch 0's own checkpoint, nothing of epoch 1


def test_a_checkpoint_every_step_stops_at_the_first_broken_one(tmp_path):
    message = fit(make_module(PoisonedLoss(2)), tmp_path, validate=False, every_n_train_steps=1)
    assert message.startswith("the training loss became NaN or inf at epoch 0, step 2 (batch 2 of the epoch): ")
    saved = torch.load(tmp_path / "last.ckpt", weights_only=False)
    assert saved["global_step"] == 2  # written after step 1, the last whose loss was finite
    assert all(torch.isfinite(value).all() for value in saved["state_dict"].values())


def test_infinite_penalty_is_named_before_any_checkpoint(tmp_path):
    module = make_module(BCELoss(), BinaryConstraint(margin=1.0))
    module.penalty.fill_(INF)
    message = fit(module, tmp_path, validate=True)
    # step 0: F and the multiplier term (lambda = 0) are finite, mu * sum q^2 is not
    assert message.startswith("the training loss became NaN or inf at epoch 0, step 0 (batch 0 of the epoch): ")
    assert "penalty_term=" in message and "base_loss" not in message and "multiplier_term" not in message
    assert "no checkpoint was written before it" in message
    assert not list(tmp_path.iterdir())


def test_train_stops_with_one_line_and_keeps_the_run_folder(tmp_path, monkeypatch):
    # lr x inf from epoch 1 (MultiStepLR, milestone 1): epoch 1's first step is computed with finite weights and
    # makes them non-finite, so its second step is the first whose loss is not finite
    scheduler = "scheduler={_target_:torch.optim.lr_scheduler.MultiStepLR,_partial_:true,milestones:[1],gamma:inf}"
    outcome = run_in_process("almlit.train", ["trainer.max_epochs=3", scheduler], tmp_path, monkeypatch)
    assert outcome.returncode == 2
    run = tmp_path / "run"
    saved = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    steps_per_epoch = saved["global_step"]
    assert saved["epoch"] == 0 and steps_per_epoch > 1
    assert all(torch.isfinite(value).all() for value in saved["state_dict"].values())
    assert outcome.stderr.strip().splitlines()[-1] == (
        f"almlit: error: the training loss became NaN or inf at epoch 1, step {steps_per_epoch + 1} (batch 1 of the "
        f"epoch): base_loss=nan; training stopped and the last good checkpoint is {run / 'checkpoints' / 'last.ckpt'}"
        "; lower optim.lr or alm.penalty_init"
    )
    assert sorted(path.name for path in (run / "checkpoints").iterdir()) == ["best-epoch000.ckpt", "last.ckpt"]
    assert not (run / "metrics.json").exists()


def test_out_of_memory_names_the_batch_sizes_and_halves_them(tmp_path, monkeypatch):
    loss = f"loss._target_={__name__}.OutOfMemoryLoss"
    outcome = run_in_process("almlit.train", [loss, "data.batch_size=48"], tmp_path, monkeypatch)
    assert outcome.returncode == 2
    assert outcome.stderr.strip().splitlines()[-1] == (
        "almlit: error: out of memory during fit with data.batch_size=48, data.eval_batch_size=1024; "
        "try data.batch_size=24, data.eval_batch_size=512 or trainer.precision=bf16-mixed"
    )
    assert (tmp_path / "run").is_dir()  # kept, as after any training failure


def test_out_of_memory_advice_passes_other_errors_through():
    with pytest.raises(TrainingFailure, match=r"^out of memory during test with data.eval_batch_size=1; try data.eval"):
        with out_of_memory_advice("test", {"eval_batch_size": 1}):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
    with pytest.raises(RuntimeError, match="^not memory$"):
        with out_of_memory_advice("fit", {"batch_size": 8}):
            raise RuntimeError("not memory")
