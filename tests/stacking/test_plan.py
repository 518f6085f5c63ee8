"""Planning a stacked run: stack sizes, which members stack together, what a stack refuses, the checkpoint rule."""

import math

import pytest
import torch

from almlit.data.indexed import TensorImageDataset
from almlit.stacking.data import shared_images
from almlit.stacking.decisions import as_logged, checkpoint_improves
from almlit.stacking.plan import check_stack_size, check_stackable, stack_groups, unsupported_settings


def test_members_are_cut_into_stacks_in_order():
    assert stack_groups([0, 1, 2, 3, 4], 2) == [[0, 1], [2, 3], [4]]
    assert stack_groups([3, 7], 10) == [[3, 7]]
    assert stack_groups([], 4) == []


@pytest.mark.parametrize("bad", [0, "0", "-1", "two", True, 1.5])
def test_a_stack_size_below_one_or_not_an_integer_is_refused(bad):
    with pytest.raises(ValueError, match=r"ensemble.stack must be an integer >= 1 \(members trained as one model\)"):
        check_stack_size(bad)


def config(**changes):
    base = {
        "model": {"_target_": "almlit.models.SmallCNN", "width": 8},
        "num_outputs": 1,
        "num_classes": 2,
        "data": {"_target_": "almlit.data.BinaryDigits", "batch_size": 64, "eval_batch_size": 1024},
        "trainer": {"max_epochs": 5, "precision": "32-true", "devices": 1, "val_check_interval": 1.0},
        "callbacks": {"early_stopping": {}, "model_checkpoint": {}, "pair_coverage": {}},
        "ckpt_path": None,
        "module": {"compile": False},
    }
    for key, value in changes.items():
        node = base
        *parents, last = key.split(".")
        for parent in parents:
            node = node[parent]
        node[last] = value
    return base


def test_members_of_one_architecture_with_other_hyper_parameters_stack():
    check_stackable([config(), config(**{"trainer.max_epochs": 9})], ["a", "b"])  # each stops at its own
    assert unsupported_settings(config()) == []


def test_members_of_another_architecture_are_refused_naming_the_setting():
    with pytest.raises(ValueError, match=r"^stacked members must share one .* from a in model; stack them separately$"):
        check_stackable([config(), config(**{"model.width": 16})], ["a", "b"])
    with pytest.raises(ValueError, match=r"b differs from a in data.batch_size; stack them separately"):
        check_stackable([config(), config(**{"data.batch_size": 32})], ["a", "b"])
    with pytest.raises(ValueError, match=r"b differs from a in trainer.accelerator; stack them separately"):
        check_stackable([config(**{"trainer.accelerator": "cpu"}), config(**{"trainer.accelerator": "gpu"})], "ab")


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("callbacks.deferred_reweighting", {"start_epoch": 3}, "callbacks.deferred_reweighting"),
        ("trainer.precision", "bf16-mixed", "trainer.precision=bf16-mixed"),
        ("trainer.accumulate_grad_batches", 2, "trainer.accumulate_grad_batches=2"),
        ("ckpt_path", "old/last.ckpt", "ckpt_path=old/last.ckpt"),
        ("module.compile", True, "module.compile=true"),
        ("trainer.max_epochs", -1, "trainer.max_epochs=-1"),
        ("trainer.max_epochs", None, "trainer.max_epochs=None"),
    ],
)
def test_settings_a_stack_cannot_reproduce_are_refused(key, value, named):
    with pytest.raises(ValueError, match=rf"a stacked run cannot reproduce {named} of b; train it without"):
        check_stackable([config(), config(**{key: value})], ["a", "b"])


def test_the_best_checkpoint_rule_is_lightnings_strict_improvement():
    assert checkpoint_improves(0.5, None, "max")  # the first epoch is always kept
    assert checkpoint_improves(0.6, 0.5, "max") and not checkpoint_improves(0.5, 0.5, "max")  # a tie keeps the old
    assert not checkpoint_improves(math.nan, 0.1, "max") and not checkpoint_improves(math.nan, 0.1, "min")
    assert checkpoint_improves(0.4, 0.5, "min") and not checkpoint_improves(0.6, 0.5, "min")
    with pytest.raises(ValueError, match="mode must be max or min, got 'best'"):
        checkpoint_improves(0.4, 0.5, "best")


def test_decisions_see_the_metric_rounded_to_float32_as_lightning_logs_it():
    value = 0.1 + 1e-12  # differs from 0.1 only below float32's resolution
    assert as_logged(value) == as_logged(0.1) == float(torch.tensor(0.1, dtype=torch.float32))


def dataset(ids, images):
    ids = torch.tensor(ids)
    return TensorImageDataset(images, torch.zeros(len(ids), dtype=torch.long), ids)


def test_the_shared_images_hold_each_sample_once_at_its_id():
    source = torch.randint(0, 256, (6, 1, 2, 2), dtype=torch.uint8)
    member_a, member_b = dataset([0, 2, 3], source[[0, 2, 3]]), dataset([3, 5], source[[3, 5]])
    shared = shared_images([member_a, member_b], 6)
    for row in (0, 2, 3, 5):
        assert torch.equal(shared[row], source[row])
    assert not shared[[1, 4]].any()  # no member holds ids 1 and 4


def test_two_images_under_one_sample_id_are_refused():
    images = torch.zeros((1, 1, 2, 2), dtype=torch.uint8)
    with pytest.raises(ValueError, match="must draw their images from one source split: a sample id names two images"):
        shared_images([dataset([0], images), dataset([0], images + 1)], 2)
