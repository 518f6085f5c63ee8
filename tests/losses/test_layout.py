"""The package's layout: what ``almlit.losses`` exports, and the loss classes' old dotted paths mapped to new ones."""

import importlib

import pytest
from torch import nn

import almlit.losses
from almlit.runs.moved_targets import MOVED_TARGETS

FAMILY_MODULES = ("binary", "multiclass", "auc_surrogates", "long_tail", "libauc_adapter")
# the table also holds the moves of other layers (the run lifecycle, the callbacks): the losses' entries
LOSS_MOVES = {old: new for old, new in MOVED_TARGETS.items() if old.startswith("almlit.losses.")}


def resolve(dotted_path: str) -> object:
    """The object a Hydra ``_target_`` names: the attribute after the last dot of an importable module."""
    module_path, _, name = dotted_path.rpartition(".")
    return getattr(importlib.import_module(module_path), name)


def test_package_exports_every_loss_class_and_family_module():
    for name in almlit.losses.__all__:
        assert hasattr(almlit.losses, name)
    defined_here = {
        (module, name)
        for module in FAMILY_MODULES
        for name, value in vars(importlib.import_module(f"almlit.losses.{module}")).items()
        if isinstance(value, type) and issubclass(value, nn.Module) and value.__module__ == f"almlit.losses.{module}"
    }
    exported = {name for name in almlit.losses.__all__ if name[0].isupper()}
    public = {name for _, name in defined_here if not name.startswith("_")}
    assert public - exported == {"LibAUCAUCMLoss"}  # named by its module path: it needs the optional libauc


@pytest.mark.parametrize(("old", "new"), sorted(LOSS_MOVES.items()))
def test_a_moved_loss_class_resolves_at_its_new_path_and_no_longer_at_its_old_one(old, new):
    moved = resolve(new)
    assert isinstance(moved, type) and issubclass(moved, nn.Module)
    assert f"{moved.__module__}.{moved.__qualname__}" == new
    assert moved is getattr(almlit.losses, old.rpartition(".")[2])  # the configs' short path names the same class
    with pytest.raises(ModuleNotFoundError, match=old.rpartition(".")[0]):
        resolve(old)


def test_every_loss_class_that_a_module_of_the_old_layout_defined_is_mapped():
    exported = {name for name in almlit.losses.__all__ if name[0].isupper() and name != "ClassCounts"}
    assert {old.rpartition(".")[2] for old in LOSS_MOVES} == exported
