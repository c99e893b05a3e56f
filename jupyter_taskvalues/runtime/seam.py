"""The runtime seam: ``dbruntime`` and ``pyspark.dbutils`` in our kernels, so Databricks code finds ours.

``databricks.sdk.runtime`` (``from databricks.sdk.runtime import dbutils`` or ``import *``) first tries
``from dbruntime import UserNamespaceInitializer`` and, when that works, copies ``dbutils``, ``display``,
``spark``... from ``UserNamespaceInitializer.getOrCreate().get_namespace_globals()``; only when the import
fails does it build a remote client for a workspace. ``WorkspaceClient().dbutils`` makes the same check. So
:func:`install` puts a *meta-path finder* first on :data:`sys.meta_path` that serves, in this process only:

``dbruntime``
    A module whose ``UserNamespaceInitializer`` returns our namespace (:mod:`.namespace`). Its submodules
    (``dbruntime.sdk_credential_provider``...) do not exist, so the SDK's optional probes fail as they do
    off Databricks. No top-level ``dbruntime`` is installed into any environment, and
    ``DATABRICKS_RUNTIME_VERSION`` is never set (other libraries take it to mean "on Databricks").
``pyspark.dbutils``
    ``DBUtils(spark)`` returns our ``dbutils``. When pyspark is not installed, a placeholder ``pyspark``
    package (holding nothing but ``dbutils``, flagged ``__jupyter_taskvalues_placeholder__``) lets the import
    work; ``pyspark.sql`` then still fails with ``ModuleNotFoundError``, as without the placeholder.
``databricks.sdk.runtime``, only when ``databricks-sdk`` is not installed
    Placeholder ``databricks`` (if nothing else provides it) and ``databricks.sdk`` packages and a
    ``databricks.sdk.runtime`` module that exports our namespace (``__all__`` as the SDK's), so
    ``from databricks.sdk.runtime import dbutils`` and ``import *`` work without the SDK. Nothing else of the
    SDK exists then: ``from databricks.sdk import WorkspaceClient`` still needs ``pip install databricks-sdk``.

The extension calls :func:`install` on ``%load_ext jupyter_taskvalues`` (which a task's kernel runs before the
first cell) and :func:`uninstall` on unload. The SDK and pyspark are never patched, nor imported here.

If ``databricks.sdk.runtime`` was imported *before* ``%load_ext`` (so it already made its remote client),
:func:`install` drops that module from :data:`sys.modules`: the next import of it runs it again and finds
our seam. Objects a notebook already bound from it are replaced by the extension (see
:func:`foreign_bindings`).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Mapping, Sequence
from typing import Any

from .namespace import RUNTIME_NAMES, UserNamespaceInitializer, runtime_namespace

__all__ = ["SDK_RUNTIME", "foreign_bindings", "install", "installed", "uninstall"]

#: The SDK's runtime module, which copies the namespace ``dbruntime`` offers.
SDK_RUNTIME = "databricks.sdk.runtime"
_PLACEHOLDER = "__jupyter_taskvalues_placeholder__"
_SERVED = (
    "dbruntime",
    "pyspark.dbutils",
    "pyspark",
    "databricks.sdk.runtime",
    "databricks.sdk",
    "databricks",
)


class DBUtils:
    """``pyspark.dbutils.DBUtils``: ``DBUtils(spark)`` is our ``dbutils`` (whatever ``spark`` is)."""

    def __new__(cls, spark: object = None) -> Any:
        return runtime_namespace()["dbutils"]


def _dbruntime_module() -> types.ModuleType:
    module = types.ModuleType("dbruntime", "Databricks' runtime module, served by jupyter-taskvalues.")
    module.UserNamespaceInitializer = UserNamespaceInitializer  # type: ignore[attr-defined]
    setattr(module, _PLACEHOLDER, True)
    return module


def _pyspark_dbutils_module() -> types.ModuleType:
    module = types.ModuleType("pyspark.dbutils", "pyspark.dbutils, served by jupyter-taskvalues.")
    module.DBUtils = DBUtils  # type: ignore[attr-defined]
    setattr(module, _PLACEHOLDER, True)
    return module


def _placeholder(name: str, doc: str) -> Any:
    def build() -> types.ModuleType:
        module = types.ModuleType(name, doc)
        module.__path__ = []
        setattr(module, _PLACEHOLDER, True)
        return module

    return build


# Packages served only when nothing else provides them, so that the modules below can be imported.
_PLACEHOLDERS = {
    "pyspark": _placeholder(
        "pyspark",
        "A placeholder pyspark package (jupyter-taskvalues): pyspark is not installed; only pyspark.dbutils "
        "exists. Install the extra jupyter-taskvalues[spark] for Spark.",
    ),
    "databricks": _placeholder("databricks", "A placeholder databricks package (jupyter-taskvalues)."),
    "databricks.sdk": _placeholder(
        "databricks.sdk",
        "A placeholder databricks.sdk package (jupyter-taskvalues): databricks-sdk is not installed; only "
        "databricks.sdk.runtime exists. pip install databricks-sdk for the rest.",
    ),
}


def _sdk_runtime_module() -> types.ModuleType:
    module = types.ModuleType(SDK_RUNTIME, "databricks.sdk.runtime, served by jupyter-taskvalues (no SDK).")
    module.__dict__.update(runtime_namespace())
    module.__all__ = list(RUNTIME_NAMES)  # type: ignore[attr-defined]
    module.dbruntime_objects = list(RUNTIME_NAMES)  # type: ignore[attr-defined]
    module.is_local_implementation = False  # type: ignore[attr-defined]
    setattr(module, _PLACEHOLDER, True)
    return module


class _Loader(importlib.abc.Loader):
    def __init__(self, build: Any) -> None:
        self._build = build

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module: types.ModuleType = self._build()
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None  # built whole in create_module


class RuntimeFinder(importlib.abc.MetaPathFinder):
    """Finds ``dbruntime`` and ``pyspark.dbutils``; and placeholders for ``pyspark`` and the SDK when missing."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "dbruntime":
            return importlib.util.spec_from_loader(fullname, _Loader(_dbruntime_module))
        if fullname == "pyspark.dbutils":
            return importlib.util.spec_from_loader(fullname, _Loader(_pyspark_dbutils_module))
        if fullname == SDK_RUNTIME:
            parent = sys.modules.get("databricks.sdk")
            if parent is not None and getattr(parent, _PLACEHOLDER, False):
                return importlib.util.spec_from_loader(fullname, _Loader(_sdk_runtime_module))
            return None
        build = _PLACEHOLDERS.get(fullname)
        if build is not None and not self._found_elsewhere(fullname, path, target):
            return importlib.util.spec_from_loader(fullname, _Loader(build), is_package=True)
        return None

    def _found_elsewhere(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None
    ) -> bool:
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, RuntimeFinder):
                continue
            find = getattr(finder, "find_spec", None)
            try:
                if find is not None and find(fullname, path, target) is not None:
                    return True
            except ImportError:  # a finder that refuses the name: the import would fail there, as here
                return False
        return False


_finder = RuntimeFinder()


def installed() -> bool:
    """Whether the seam is on :data:`sys.meta_path`."""
    return _finder in sys.meta_path


def install() -> None:
    """Serve ``dbruntime`` and ``pyspark.dbutils`` in this process; re-run a remote ``databricks.sdk.runtime``.

    Harmless when called again.
    """
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
    sdk_runtime = sys.modules.get(SDK_RUNTIME)
    if (
        sdk_runtime is not None
        and getattr(sdk_runtime, "dbutils", None) is not runtime_namespace()["dbutils"]
    ):
        # It ran before the seam and made a remote client: forget it, so the next import runs it again.
        del sys.modules[SDK_RUNTIME]


def uninstall() -> None:
    """Stop serving the seam's modules and forget the ones already imported."""
    while _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in _SERVED:
        module = sys.modules.get(name)
        if module is not None and getattr(module, _PLACEHOLDER, False):
            del sys.modules[name]
    sdk_runtime = sys.modules.get(SDK_RUNTIME)
    if sdk_runtime is not None and getattr(sdk_runtime, "dbutils", None) is runtime_namespace()["dbutils"]:
        del sys.modules[SDK_RUNTIME]


def foreign_bindings(namespace: Mapping[str, Any]) -> dict[str, str]:
    """Return the runtime names of ``namespace`` bound to the SDK's objects, with what each is.

    These are what ``from databricks.sdk.runtime import *`` bound when it ran before the seam: a remote
    ``dbutils`` (whose ``taskValues.set`` does nothing off Databricks), the SDK's ``display``...
    """
    found: dict[str, str] = {}
    for name in RUNTIME_NAMES:
        obj = namespace.get(name)
        if obj is None:
            continue
        # Never getattr on the object itself: RemoteDbUtils answers unknown attributes with a remote call.
        named = obj if isinstance(obj, (type, types.FunctionType)) else type(obj)
        if named.__module__.startswith("databricks.sdk"):
            found[name] = f"{named.__module__}.{named.__qualname__}"
    return found
