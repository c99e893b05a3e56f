"""The names a Databricks notebook finds bound before its first cell, ours: one namespace per process.

:data:`RUNTIME_NAMES` are the names ``databricks.sdk.runtime`` copies from Databricks' runtime
(``dbruntime.UserNamespaceInitializer``); :func:`runtime_namespace` returns our object for each. The IPython
extension puts them in the user namespace, and the runtime seam (:mod:`.seam`) serves them to
``databricks.sdk.runtime`` through :class:`UserNamespaceInitializer`, so every way a notebook reaches for them
gives the same objects. Nothing heavy happens here: ``spark`` and friends start Spark on first use only.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["RUNTIME_NAMES", "UserNamespaceInitializer", "getArgument", "is_ours", "runtime_namespace"]

#: What Databricks' runtime binds in a notebook (and ``databricks.sdk.runtime`` exports), in its order.
RUNTIME_NAMES = (
    "display",
    "displayHTML",
    "dbutils",
    "table",
    "sql",
    "udf",
    "getArgument",
    "sc",
    "sqlContext",
    "spark",
)

_lock = threading.Lock()
_namespace: dict[str, Any] | None = None


def getArgument(name: str, defaultValue: str | None = None) -> str | None:
    """Databricks' ``getArgument``: ``dbutils.widgets.getArgument(name, defaultValue)``."""
    from .dbutils import dbutils

    return dbutils.widgets.getArgument(name, defaultValue)


def runtime_namespace() -> dict[str, Any]:
    """Return a copy of the runtime namespace: each of :data:`RUNTIME_NAMES` bound to our object."""
    global _namespace
    with _lock:
        if _namespace is None:
            from .dbutils import dbutils
            from .display import display, displayHTML
            from .spark import lazy_runtime

            namespace: dict[str, Any] = {
                "display": display,
                "displayHTML": displayHTML,
                "dbutils": dbutils,
                "getArgument": getArgument,
                **lazy_runtime(),
            }
            _namespace = {name: namespace[name] for name in RUNTIME_NAMES}
        return dict(_namespace)


def is_ours(name: str, obj: object) -> bool:
    """Whether ``obj`` is the runtime namespace's object for ``name``."""
    return runtime_namespace().get(name, _MISSING) is obj


_MISSING = object()


class UserNamespaceInitializer:
    """What ``databricks.sdk.runtime`` asks for: ``getOrCreate().get_namespace_globals()``.

    The SDK imports ``dbruntime.UserNamespaceInitializer`` and, when that works, copies the names it offers
    instead of building a remote client. :mod:`.seam` makes ``dbruntime`` this module's class.
    """

    _instance: UserNamespaceInitializer | None = None

    @classmethod
    def getOrCreate(cls) -> UserNamespaceInitializer:
        """Return the process's one initializer."""
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def get_namespace_globals(self) -> dict[str, Any]:
        """Return the runtime namespace (:func:`runtime_namespace`)."""
        return runtime_namespace()
