"""Store backends by URL scheme, as papermill picks an I/O handler: :func:`open_store` and :func:`register_store`.

A local path, or a ``file://`` / ``local://`` URL, is served by the local store
(:class:`~jupyter_taskvalues.store._local.LocalRunStore`); any other scheme by the class registered for it in
:data:`STORE_BACKENDS`, else by the ``"*"`` entry, the fsspec store
(:class:`~jupyter_taskvalues.store._fsspec.FsspecRunStore`: ``s3://``, ``gs://``, ``abfs://``, ``memory://``...).
Entries are classes or ``"module:Class"`` strings imported on first use, so that opening a local store never
imports fsspec. The runs directory travels to kernels and Dask workers as that string.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the classes only as types: they import this module's functions at run time
    from ._base import RunStore

__all__ = [
    "LOCAL",
    "STORE_BACKENDS",
    "local_path",
    "open_store",
    "register_store",
    "store_class",
    "url_scheme",
]

#: The registry key of the local store (a path, ``file://`` or ``local://``).
LOCAL = "file"
#: Store classes by URL scheme (``"module:Class"`` strings are imported on first use); ``"*"`` serves every
#: other scheme, :data:`LOCAL` a local path.
STORE_BACKENDS: dict[str, str | type[RunStore]] = {
    LOCAL: "jupyter_taskvalues.store._local:LocalRunStore",
    "*": "jupyter_taskvalues.store._fsspec:FsspecRunStore",
}

_URL_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)(?:://|::)")


def url_scheme(root: object) -> str | None:
    """Return the URL scheme of a runs directory (``"s3"``), or ``None`` for a local path or ``file://`` URL."""
    if not isinstance(root, str):
        return None
    match = _URL_RE.match(root)
    if match is None:
        return None
    scheme = match.group(1).lower()
    return None if scheme in ("file", "local") and "::" not in root else scheme


def local_path(root: str | os.PathLike[str]) -> Path:
    """Return the directory a local runs directory names (``file://`` and ``local://`` prefixes removed)."""
    text = os.fspath(root)
    for prefix in ("file://", "local://"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    return Path(text).expanduser()


def register_store(scheme: str, factory: str | type[RunStore]) -> None:
    """Serve runs directories whose URL has ``scheme`` with ``factory`` (a store class or ``"module:Class"``).

    Parameters
    ----------
    scheme
        The URL scheme, lower-case (``"s3"``), :data:`LOCAL` for local paths, or ``"*"`` for every other one.
    factory
        A :class:`~jupyter_taskvalues.store._base.RunStore` subclass taking the store's arguments.
    """
    STORE_BACKENDS[scheme.lower()] = factory


def store_class(root: object) -> type[RunStore]:
    """Return the store class that serves ``root`` (see the module docstring)."""
    scheme = url_scheme(root)
    key = LOCAL if scheme is None else scheme
    factory = STORE_BACKENDS.get(key, STORE_BACKENDS["*"])
    if isinstance(factory, str):
        module, _, attribute = factory.partition(":")
        factory = getattr(importlib.import_module(module), attribute)
    if not isinstance(factory, type):
        raise TypeError(f"The store backend registered for {key!r} is {factory!r}, not a store class.")
    return factory


def open_store(root: str | os.PathLike[str] | None = None, **options: Any) -> RunStore:
    """Open the run store of a runs directory: a local path or a URL (``s3://bucket/runs``).

    Parameters
    ----------
    root
        The runs directory (created on first write) or a URL; ``None``: the default one
        (:func:`~jupyter_taskvalues.context.default_runs_dir`). A relative or ``~`` path is made absolute here,
        so that it means the same folder to kernels and processes that run in other folders.
    **options
        The store's keyword arguments (``max_values``, ``storage_options``, ``stale_after``); a ``None`` value
        stands for the store's default.

    Returns
    -------
    RunStore
        An instance of the class :func:`store_class` picks.
    """
    if root is None:
        from ..context import default_runs_dir  # lazy: only for the default runs directory

        root = default_runs_dir()
    root = os.fspath(root)
    if url_scheme(root) is None:
        root = os.path.abspath(local_path(root))
    given = {name: value for name, value in options.items() if value is not None}
    return store_class(root)(root, **given)
