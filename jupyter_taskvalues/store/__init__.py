"""The run store: every job run, its tasks' records and their task values.

:func:`open_store` returns the store of a runs directory, picked by URL scheme (:mod:`._registry`): the local
store (:mod:`._local`, which draws the layout on disk) for a path, the fsspec store (:mod:`._fsspec`) for a URL.
Every store implements :class:`RunStore` (:mod:`._base`), the only way the rest of the package reads or writes
runs. ``RunStore(root)`` is the same as ``open_store(root)``.
"""

from __future__ import annotations

from ..timestamps import utcnow
from ._base import FORMAT_VERSION, RunStore, ValueRecord, ValueSnapshot, new_run_id
from ._registry import STORE_BACKENDS, open_store, register_store, url_scheme

__all__ = [
    "FORMAT_VERSION",
    "STORE_BACKENDS",
    "RunStore",
    "ValueRecord",
    "ValueSnapshot",
    "new_run_id",
    "open_store",
    "register_store",
    "url_scheme",
    "utcnow",
]
