"""Thin authenticated JSON handlers over the run store and the runner manager; every route is in :data:`ROUTES`.

Routes, under ``{base_url}taskvalues/api/`` (``docs/rest-api.md`` has every shape in full)::

    GET runs?limit=50&offset=0
        {"runs": [run summary...], "total": n, "limit": 50, "offset": 0, "runs_dir": "...",
         "server_runs": [ids of the runs executing in this server]}, newest first
    POST runs  {"path", "job"?, "target"?, "parameters"?: {name: str}, "variables"?: {name: str}, "user"?}
        201 {"run_id", "state"}; 400 {"message", "problems"} when the job does not validate (nothing starts)
    GET runs/<run_id>
        the run document (ETag; If-None-Match gives 304 while the run is unchanged)
    DELETE runs/<run_id>
        202 {"run_id", "state"}: cancel a running run (one another process executes: through a request in the
        store, see jobs.cancel); 409 when it has finished
    POST runs/<run_id>/rerun  {"parameters"?}
        201 {"run_id", "state"}: a new run of the same job file, job and target
    POST runs/<run_id>/repair  {"tasks"?: [task_key...], "target"?, "variables"?: {name: str}, "user"?}
        202 {"run_id", "state", "tasks": [rerun task keys]}; a bundle is read with the run's recorded target,
        variables and user, which these override (as ``repair --target/--var/--user``); 400 for an unknown
        task, target or variable, or a variable that is not a string (the run is left as it was); 409 when
        the run is not finished
    GET runs/<run_id>/values
        {"run_id", "values": {task: {key: {"value", "size", "set_at", "attempt", "iteration"}}}}
    GET runs/<run_id>/tasks/<task_key>
        one task's document (ETag as above)
    DELETE runs/<run_id>/tasks/<task_key>
        202 {"run_id", "state", "task_key"}: cancel one running task; 409 when it is not running
    GET runs/<run_id>/tasks/<task_key>/output?tail=200
        {"run_id", "task_key", "state", "lines", "truncated", "notebook": {"path"},
         "error": {"ename", "evalue", "traceback", "cell_source"} | null}
    GET runs/<run_id>/tasks/<task_key>/notebook[?iteration=i]
        {"run_id", "task_key", "iteration", "name", "path", "notebook"}: ``path`` is the executed notebook's
        path relative to the server's root directory when the contents manager can open it there (then
        ``notebook`` is null); otherwise ``path`` is null and ``notebook`` is the notebook's JSON, served only
        when the file is inside the runs directory, so that the client can show a read-only copy.
    GET jobs?path=<path under the server root>[&target=t]
        {"path", "jobs": [{"name", "job_name", "parameters": [{"name", "default"}], "tasks"}], "targets",
         "default_target", "problems"}
    GET matrix?job=<job name>&limit=20
        {"job_name", "tasks", "runs": [{"run_id", "state", "start_time", "tasks": {task_key: state}}]}
    GET history?job=<job name>&task=<task>&key=<key>&limit=50
        {"points": [{"run_id", "start_time", "value"}]}, oldest first
    GET diff?a=<run id>&b=<run id>
        {"a", "b", "values": [{"task_key", "key", "a", "b", "changed"}],
         "parameters": [{"task_key", "name", "a", "b", "changed"}]}

Errors are JSON ``{"message": ...}`` (with ``"problems"`` for a job that does not validate): 400 for bad input,
403 without credentials or XSRF token, 404 for an unknown run, task or file, 409 for a run or task in the wrong
state. A run id is checked by the store before any file is touched, and a job path is checked to be inside the
server's root before it is read, so no request reaches a path outside them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..document import run_document_json, run_summary, task_document
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
    from ..store import RunStore

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
        active = self.manager.active_runs

        def page() -> dict[str, Any]:
            runs = store.list_run_heads(limit=limit, offset=offset)
            return {
                "runs": [run_summary(run) for run in runs],
                "total": store.count_runs(),
                "limit": limit,
                "offset": offset,
                "runs_dir": str(store.root),
                "server_runs": active,
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
    tasks = store.require_task(run_id, task_key)["tasks"]
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
        kept = store.kept_notebook(run_id, recorded)
        if kept is not None:
            reply["path"] = self.contents_path(kept)
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
