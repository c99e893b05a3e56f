"""Executors run task attempts; they plug in by name (:mod:`.registry`): ``local`` and ``dask`` (:mod:`.dask`).
:mod:`.notebook` runs one notebook in a fresh kernel.
"""

from __future__ import annotations

__all__: list[str] = []
