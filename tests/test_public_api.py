"""The public API is declared once, in ``jupyter_taskvalues.__all__``; keep it honest."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import jupyter_taskvalues


def test_all_is_sorted_and_every_name_resolves() -> None:
    names = jupyter_taskvalues.__all__
    assert names == sorted(names)
    for name in names:
        assert getattr(jupyter_taskvalues, name) is not None, name


def test_dbutils_is_the_object_even_after_its_module_is_imported() -> None:
    import jupyter_taskvalues.runtime.dbutils as module
    from jupyter_taskvalues import dbutils

    assert dbutils is module.dbutils
    assert hasattr(dbutils.jobs.taskValues, "set")


@pytest.mark.parametrize(
    "module",
    sorted(
        m.name
        for m in pkgutil.walk_packages(jupyter_taskvalues.__path__, "jupyter_taskvalues.")
        if "labextension" not in m.name
    ),
)
def test_every_module_declares_all_that_names_its_objects(module: str) -> None:
    imported = importlib.import_module(module)
    declared = getattr(imported, "__all__", None)
    assert declared is not None, f"{module} has no __all__"
    for name in declared:
        assert hasattr(imported, name), f"{module}.__all__ names {name!r}, which it does not define"


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        jupyter_taskvalues.nope
