"""The metrics' layout: one module per family, each public name of a family module exported by ``almlit.metrics``,
and the modules of the earlier layout gone (nothing imports a stale path that would still resolve)."""

import importlib
import inspect

import pytest

import almlit.metrics

FAMILY_MODULES = ("binary", "multiclass")


def test_the_package_exports_every_public_function_and_class_of_the_family_modules():
    defined = {
        name
        for family in FAMILY_MODULES
        for name, value in vars(importlib.import_module(f"almlit.metrics.{family}")).items()
        if (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == f"almlit.metrics.{family}"
        and not name.startswith("_")
    }
    assert defined == set(almlit.metrics.__all__)


@pytest.mark.parametrize("old", ["functional", "multiclass_functional", "partial_auc"])
def test_the_modules_of_the_earlier_layout_are_gone(old):
    with pytest.raises(ModuleNotFoundError, match=f"almlit.metrics.{old}"):
        importlib.import_module(f"almlit.metrics.{old}")
