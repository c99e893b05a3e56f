"""The run store: every job run, its tasks' records and their task values (see :mod:`._local` for the layout)."""

from __future__ import annotations

from ._local import (
    FORMAT_VERSION,
    STORE_BACKENDS,
    RunStore,
    ValueRecord,
    ValueSnapshot,
    new_run_id,
    url_scheme,
    utcnow,
)

__all__ = [
    "FORMAT_VERSION",
    "STORE_BACKENDS",
    "RunStore",
    "ValueRecord",
    "ValueSnapshot",
    "new_run_id",
    "url_scheme",
    "utcnow",
]
