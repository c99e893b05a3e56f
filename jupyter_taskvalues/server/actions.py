"""The routes that act: run a job file, run again, cancel a run or a task, repair, read a task's live output.

Each is a thin call into the :class:`~.manager.RunnerManager`; every request body and query argument is
checked here (a 400 that names what is wrong) before the manager is asked. The shapes are in
:mod:`.handlers` and ``docs/rest-api.md``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..exceptions import TaskValuesError
from ..jobs.notebooks.streaming import LOG_CUT_NOTE
from ..records import TaskRecord
from ..states import FINAL_STATES
from .base import TaskValuesHandler, http_error
from .jobfiles import JobPathError, describe_job_file, job_file
from .output import log_lines, notebook_error, notebook_lines, record_error

__all__ = [
    "JobsHandler",
    "OutputHandler",
    "RepairHandler",
    "RerunHandler",
    "cancel_run",
    "cancel_task",
    "start_run",
]

#: Most lines the output route returns at once.
MAX_TAIL = 10_000
_FAILED = frozenset({"FAILED", "TIMEDOUT"})


def _optional_string(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise web.HTTPError(400, "%s", f"{name!r} must be a non-empty string, not {value!r}.")
    return value


def _parameters(data: dict[str, Any]) -> dict[str, str] | None:
    """Return the ``parameters`` of a request body: a mapping of names to strings (numbers are written out)."""
    raw = data.get("parameters")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise web.HTTPError(400, "%s", "'parameters' must be an object of parameter names to string values.")
    parameters = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise web.HTTPError(
                400, "%s", f"Parameter {name!r} must be a string (job parameters are text), not {value!r}."
            )
        parameters[str(name)] = value if isinstance(value, str) else str(value)
    return parameters


def _variables(data: dict[str, Any]) -> dict[str, str] | None:
    """Return the ``variables`` of a request body: bundle variable names to string values, as ``--var`` gives."""
    raw = data.get("variables")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise web.HTTPError(
            400, "%s", "'variables' must be an object of bundle variable names to string values."
        )
    for name, value in raw.items():
        if not isinstance(value, str):
            raise web.HTTPError(
                400,
                "%s",
                f"Variable {name!r} must be a string, not {json.dumps(value)}: give it as --var gives it (a "
                "complex variable as its JSON text).",
            )
    return dict(raw) or None


def _job_path(handler: TaskValuesHandler, path: Any) -> Path:
    if not isinstance(path, str) or not path:
        raise web.HTTPError(
            400, "%s", "'path' is missing: give the job file's path relative to the server root."
        )
    try:
        return job_file(handler.root_dir, path)
    except JobPathError as e:
        raise web.HTTPError(e.status, "%s", e.message) from e


async def start_run(handler: TaskValuesHandler) -> None:
    """``POST runs``: validate the job file and start a run of it (201 ``{"run_id", "state"}``).

    ``target``, ``variables`` and ``user`` are what ``run --target/--var/--user`` give.
    """
    data = handler.json_body()
    job, target, parameters, variables, user = (
        _optional_string(data, "job"),
        _optional_string(data, "target"),
        _parameters(data),
        _variables(data),
        _optional_string(data, "user"),
    )
    path = _job_path(handler, data.get("path"))
    start = handler.manager.start(
        path, job=job, target=target, parameters=parameters, variables=variables, user=user
    )
    run_id = await handler.act(start)
    await _reply_state(handler, 201, run_id)


async def _reply_state(handler: TaskValuesHandler, status: int, run_id: str, **extra: Any) -> None:
    run = await handler.call(handler.store.read_run, run_id)
    handler.reply(status, {"run_id": run_id, "state": run.get("state"), **extra})


async def cancel_run(handler: TaskValuesHandler, run_id: str) -> None:
    """``DELETE runs/<id>``: cancel a running run (202); 409 when it has finished, 404 when unknown.

    A run this server executes is canceled at once; one another process executes (the CLI, another server) is
    asked to through the store, and its runner cancels it within a second.
    """
    await handler.call(handler.store.read_run, run_id)
    if not handler.manager.cancel(run_id):
        await handler.call(handler.manager.request_cancel, run_id, None, _user_name(handler))
    await _reply_state(handler, 202, run_id)


async def cancel_task(handler: TaskValuesHandler, run_id: str, task_key: str) -> None:
    """``DELETE runs/<id>/tasks/<task>``: cancel one running task (202); 409 when it is not running."""
    await handler.call(_task_record, handler, run_id, task_key)
    try:
        here = handler.manager.cancel_task(run_id, task_key)
    except TaskValuesError as e:
        raise http_error(e) from e
    if not here:
        await handler.call(handler.manager.request_cancel, run_id, task_key, _user_name(handler))
    await _reply_state(handler, 202, run_id, task_key=task_key)


def _user_name(handler: TaskValuesHandler) -> str | None:
    """The Jupyter user making the request, recorded with a cancel request."""
    user = handler.current_user
    name = getattr(user, "username", None) or getattr(user, "name", None)
    return str(name) if name else None


def _task_record(handler: TaskValuesHandler, run_id: str, task_key: str) -> TaskRecord:
    """Return the task's record; a run or task that does not exist raises the store's not-found error."""
    store = handler.store
    store.require_task(run_id, task_key)
    return store.read_task(run_id, task_key) or {"state": "PENDING"}


class RerunHandler(TaskValuesHandler):
    """``POST runs/<id>/rerun``: a new run of the same job file, job and target, parameters optionally changed."""

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        parameters = _parameters(self.json_body())
        new_id = await self.act(self.manager.rerun(run_id, parameters))
        await _reply_state(self, 201, new_id)


class RepairHandler(TaskValuesHandler):
    """``POST runs/<id>/repair``: re-run failed tasks (or ``tasks``) and their dependants of a finished run.

    ``target``, ``variables`` and ``user`` override what the run recorded, as ``repair --target/--var/--user``.
    """

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        data = self.json_body()
        tasks = data.get("tasks")
        if tasks is not None and (
            not isinstance(tasks, list) or not all(isinstance(t, str) and t for t in tasks)
        ):
            raise web.HTTPError(400, "%s", "'tasks' must be a list of task keys.")
        target, variables, user = (
            _optional_string(data, "target"),
            _variables(data),
            _optional_string(data, "user"),
        )
        repair = self.manager.repair(run_id, tasks or None, target=target, variables=variables, user=user)
        rerun = await self.act(repair)
        await _reply_state(self, 202, run_id, tasks=rerun)


class OutputHandler(TaskValuesHandler):
    """``GET runs/<id>/tasks/<task>/output?tail=200``: the last lines of a task's output, and its error."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str, task_key: str) -> None:
        tail = self.int_argument("tail", 200, minimum=0, maximum=MAX_TAIL)
        record = await self.call(_task_record, self, run_id, task_key)
        state = str(record.get("state") or "PENDING")
        managed = self.manager.managed(run_id)
        live = managed.output.tail(task_key, tail) if managed is not None else None
        stored = state in FINAL_STATES or live is None
        # The output log holds everything the task printed (the notebook only each output's head and tail).
        logged = await self.call(_output_log_tail, self, run_id, task_key, tail) if stored else None
        notebook: dict[str, Any] | None = None
        if stored and (logged is None or _cut(logged) or state in _FAILED):
            notebook = await self.call(_executed_notebook, self, run_id, task_key)
        if live is not None and state not in FINAL_STATES:
            lines, truncated = live
        elif logged is not None and not _cut(logged):
            lines, truncated = logged
        elif notebook is not None:
            lines, truncated = notebook_lines(notebook, tail)
        else:  # a script or wheel task: no notebook keeps the end of a log cut at its cap
            lines, truncated = live or logged or ([], False)
        error = None
        if state in _FAILED:
            error = (notebook_error(notebook) if notebook is not None else None) or (
                record_error(str(record["error"])) if record.get("error") else None
            )
        self.reply(
            200,
            {
                "run_id": run_id,
                "task_key": task_key,
                "state": state,
                "lines": lines,
                "truncated": truncated,
                "notebook": {"path": self._notebook_path(record) if state in FINAL_STATES else None},
                "error": error,
            },
        )

    def _notebook_path(self, record: TaskRecord) -> str | None:
        recorded = record.get("output_notebook")
        if not isinstance(recorded, str) or not recorded or not self.store.is_local:
            return None
        path = Path(recorded).resolve()
        return self.contents_path(path) if path.is_file() else None


def _output_log_tail(
    handler: TaskValuesHandler, run_id: str, task_key: str, tail: int
) -> tuple[list[str], bool] | None:
    """The last ``tail`` lines of the task's output log; ``None`` when it has none."""
    try:
        with handler.store.open_output_log(run_id, task_key) as log:
            return log_lines(log, tail)
    except (FileNotFoundError, NotADirectoryError):  # it printed nothing, or it is not uploaded yet
        return None


def _cut(logged: tuple[list[str], bool]) -> bool:
    """Whether an output log's last lines end with the note of its cap: they are not the task's end."""
    lines = logged[0]
    return bool(lines) and lines[-1].startswith(LOG_CUT_NOTE)


def _executed_notebook(handler: TaskValuesHandler, run_id: str, task_key: str) -> dict[str, Any] | None:
    try:
        return handler.store.read_notebook(run_id, task_key)
    except (FileNotFoundError, NotADirectoryError, ValueError):  # not written yet, or being written
        return None


class JobsHandler(TaskValuesHandler):
    """``GET jobs?path=<path>[&target=t]``: the jobs a job file defines, its targets, or its problems."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        raw = self.string_argument("path")
        assert raw is not None
        target = self.string_argument("target", required=False) or None
        path = _job_path(self, raw)
        self.reply(200, await self.call(lambda: describe_job_file(path, raw, target=target)))
