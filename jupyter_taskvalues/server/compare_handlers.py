"""The routes that compare runs (``matrix``, ``history``, ``diff``): thin handlers over :mod:`.compare`."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import TaskValuesHandler
from .compare import run_diff, run_matrix, value_history

__all__ = ["DiffHandler", "HistoryHandler", "MatrixHandler"]

#: Most runs one comparison looks at.
MAX_RUNS = 500


class MatrixHandler(TaskValuesHandler):
    """``GET matrix?job=<job name>&limit=20``: the latest runs of a job × its tasks, with their states."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        job = self.string_argument("job") or ""
        limit = self.int_argument("limit", 20, minimum=1, maximum=MAX_RUNS)
        store = self.store
        self.reply(200, await self.call(run_matrix, store, job, limit))


class HistoryHandler(TaskValuesHandler):
    """``GET history?job=<job>&task=<task>&key=<key>&limit=50``: a value across the job's runs, oldest first."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        job = self.string_argument("job") or ""
        task = self.string_argument("task") or ""
        key = self.string_argument("key") or ""
        limit = self.int_argument("limit", 50, minimum=1, maximum=MAX_RUNS)
        store = self.store
        self.reply(200, await self.call(value_history, store, job, task, key, limit))


class DiffHandler(TaskValuesHandler):
    """``GET diff?a=<run id>&b=<run id>``: two runs' values and resolved parameters side by side."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        a = self.string_argument("a") or ""
        b = self.string_argument("b") or ""
        store = self.store
        self.reply(200, await self.call(run_diff, store, a, b))
