"""Thin authenticated JSON handlers over the run store; every route is in :data:`ROUTES`.

Routes, under ``{base_url}taskvalues/api/``::

    GET runs?limit=50&offset=0
        {"runs": [run summary...], "total": n, "limit": 50, "offset": 0, "runs_dir": "..."}, newest first
    GET runs/<run_id>
        the run document (ETag; If-None-Match gives 304 while the run is unchanged)
    GET runs/<run_id>/values
        {"run_id", "values": {task: {key: {"value", "size", "set_at", "attempt", "iteration"}}}}
    GET runs/<run_id>/tasks/<task_key>
        one task's document (ETag as above)
    GET runs/<run_id>/tasks/<task_key>/notebook[?iteration=i]
        {"run_id", "task_key", "iteration", "name", "path", "notebook"}: ``path`` is the executed notebook's
        path relative to the server's root directory when the contents manager can open it there (then
        ``notebook`` is null); otherwise ``path`` is null and ``notebook`` is the notebook's JSON, served only
        when the file is inside the runs directory, so that the client can show a read-only copy.

Errors are JSON ``{"message": ...}``: 400 for a malformed run id or query argument, 404 for an unknown run,
task or notebook. A run id is checked by the store before any file is touched, so no request reaches a path
outside the runs directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..document import run_document_json, run_summary, task_document
from ..exceptions import TaskNotFoundError
from .actions import (
    JobsHandler,
    OutputHandler,
    RepairHandler,
    RerunHandler,
    cancel_run,
    cancel_task,
    start_run,
)
from .base import AUTH_RESOURCE, TaskValuesHandler
from .compare_handlers import DiffHandler, HistoryHandler, MatrixHandler

if TYPE_CHECKING:
    from ..store._local import RunStore

__all__ = ["API_PREFIX", "AUTH_RESOURCE", "MAX_LIMIT", "ROUTES", "TaskValuesHandler"]

API_PREFIX = "taskvalues/api"
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


class RunsHandler(TaskValuesHandler):
    """``GET runs``: run summaries, newest first, one page at a time."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit = self.int_argument("limit", DEFAULT_LIMIT, minimum=0, maximum=MAX_LIMIT)
        offset = self.int_argument("offset", 0, minimum=0)
        store = self.store

        def page() -> dict[str, Any]:
            runs = store.list_runs(limit=limit, offset=offset)
            return {
                "runs": [run_summary(run) for run in runs],
                "total": store.count_runs(),
                "limit": limit,
                "offset": offset,
                "runs_dir": str(store.root),
            }

        self.finish(json.dumps(await self.call(page)))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        await start_run(self)


class RunHandler(TaskValuesHandler):
    """``GET runs/<run_id>``: the run document, with an ETag from the store's cheap fingerprint."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        store = self.store
        # The fingerprint is taken before the document is read: if the run changes in between, the client
        # holds a newer document under an older tag and simply fetches once more.
        fingerprint = await self.call(store.fingerprint, run_id)
        if self.not_modified(fingerprint):
            return
        key = (str(store.root), run_id, fingerprint)
        body = self.extension.documents.get(key)
        if body is None:  # read and serialized off the event loop; tasks that did not change come from cache
            body = await self.call(run_document_json, store, run_id, self.extension.fragments)
            self.extension.documents[key] = body
        self.finish(body)

    @web.authenticated
    @authorized
    async def delete(self, run_id: str) -> None:
        await cancel_run(self, run_id)


class ValuesHandler(TaskValuesHandler):
    """``GET runs/<run_id>/values``: every task's current values with their metadata."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        store = self.store

        def values() -> dict[str, Any]:
            store.read_run(run_id)
            return {
                "run_id": run_id,
                "values": {
                    task: {key: record.to_json() for key, record in sorted(records.items())}
                    for task, records in store.all_values(run_id).items()
                },
            }

        self.finish(json.dumps(await self.call(values)))


def _task(store: RunStore, run_id: str, task_key: str) -> dict[str, Any]:
    run = store.read_run(run_id)
    tasks = run.get("tasks", {})
    if task_key not in tasks:
        known = ", ".join(repr(k) for k in tasks) or "none"
        raise TaskNotFoundError(
            f"Task {task_key!r} is not part of run {run_id!r}. Its tasks are: {known}.",
            task_key=task_key,
            run_id=run_id,
        )
    static = tasks[task_key]
    return task_document(store, run_id, task_key, static if isinstance(static, dict) else {})


class TaskHandler(TaskValuesHandler):
    """``GET runs/<run_id>/tasks/<task_key>``: one task's document."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str, task_key: str) -> None:
        store = self.store
        if self.not_modified(await self.call(store.fingerprint, run_id)):
            return
        self.finish(json.dumps(await self.call(_task, store, run_id, task_key)))

    @web.authenticated
    @authorized
    async def delete(self, run_id: str, task_key: str) -> None:
        await cancel_task(self, run_id, task_key)


class NotebookHandler(TaskValuesHandler):
    """``GET runs/<run_id>/tasks/<task_key>/notebook``: where to open an executed notebook, or its JSON."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str, task_key: str) -> None:
        iteration = self.get_query_argument("iteration", None)
        index = self.int_argument("iteration", 0, minimum=0) if iteration is not None else None
        store = self.store
        doc = await self.call(_task, store, run_id, task_key)
        recorded = doc.get("output_notebook")
        if index is not None:
            entry = next((i for i in doc.get("iterations") or [] if i.get("index") == index), None)
            if entry is None:
                message = f"Task {task_key!r} of run {run_id!r} has no iteration {index}."
                raise web.HTTPError(404, "%s", message)
            recorded = entry.get("output_notebook")
        which = f"task {task_key!r}" + (f" (iteration {index})" if index is not None else "")
        if not isinstance(recorded, str) or not recorded:
            raise web.HTTPError(404, "%s", f"The {which} of run {run_id!r} has no executed notebook yet.")
        reply: dict[str, Any] = {
            "run_id": run_id,
            "task_key": task_key,
            "iteration": index,
            "name": recorded.replace("\\", "/").rsplit("/", 1)[-1],
            "path": None,
            "notebook": None,
        }
        if store.is_local:
            path = Path(recorded)
            if not path.is_absolute():
                path = store.run_dir(run_id) / path
            path = path.resolve()
            if path.is_file():
                reply["path"] = self.contents_path(path)
        if reply["path"] is None:
            # The JSON only ever comes from the store's own copy, never from the path the record names.
            try:
                reply["notebook"] = await self.call(store.read_notebook, run_id, task_key, index)
            except (FileNotFoundError, NotADirectoryError):
                message = (
                    f"The executed notebook of {which} of run {run_id!r} is not kept in the runs directory "
                    "and is outside the server's root directory; open it from a terminal."
                )
                raise web.HTTPError(404, "%s", message) from None
        self.finish(json.dumps(reply))


_RUN = r"runs/(?P<run_id>[^/]+)"
_TASK = _RUN + r"/tasks/(?P<task_key>[^/]+)"

#: ``(name, pattern relative to the base URL, handler)`` for every route of the extension.
ROUTES: list[tuple[str, str, type[TaskValuesHandler]]] = [
    ("runs", API_PREFIX + r"/runs/?", RunsHandler),
    ("run", API_PREFIX + "/" + _RUN + "/?", RunHandler),
    ("values", API_PREFIX + "/" + _RUN + "/values/?", ValuesHandler),
    ("task", API_PREFIX + "/" + _TASK + "/?", TaskHandler),
    ("notebook", API_PREFIX + "/" + _TASK + "/notebook/?", NotebookHandler),
    ("output", API_PREFIX + "/" + _TASK + "/output/?", OutputHandler),
    ("rerun", API_PREFIX + "/" + _RUN + "/rerun/?", RerunHandler),
    ("repair", API_PREFIX + "/" + _RUN + "/repair/?", RepairHandler),
    ("jobs", API_PREFIX + r"/jobs/?", JobsHandler),
    ("matrix", API_PREFIX + r"/matrix/?", MatrixHandler),
    ("history", API_PREFIX + r"/history/?", HistoryHandler),
    ("diff", API_PREFIX + r"/diff/?", DiffHandler),
]
