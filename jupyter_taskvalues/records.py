"""The records a run store keeps, typed: a run's record, its tasks' records, their attempts and iterations.

A run store (:mod:`jupyter_taskvalues.store`) writes each as one JSON object and reads it back as a plain
``dict``; these :class:`~typing.TypedDict` classes name every key, so that the code that builds or reads a
record is checked against one definition. The shapes::

    RunRecord                       run.json: written by create_run, updated by the runner (update_run)
      tasks: {task_key: TaskInfo}   what each task is, known before it runs (the panels draw it)
      runner: RunnerIdentity        the process that runs it (tells a dead runner from a live one)
    TaskRecord                      one task's record: written by the runner (write_task) as the task goes
      attempts: [AttemptRecord]     one per try of a notebook, script or wheel task (retries)
      iterations: [IterationRecord] one per element of a for-each task (each with its own attempts)
      notebook_runs: [NotebookRunRecord]  one per dbutils.notebook.run of its notebook (and of each iteration)
      history: [TaskRecord]         the task's records before each repair re-ran it (with ``repair``)

Every key is optional to the type checker (``total=False``): a record is JSON read from a file that older
versions, a killed writer or a test may have written with fewer keys, so readers use ``.get``. Which keys a
record always has is said on each class; the builders that give them are here (:func:`blank_task_record`,
:func:`new_attempt`, :func:`new_iteration`) and in the store (``run_record``). The run *document* (what the CLI's
``--json``, the REST API and the widget show) is built from these records by :mod:`jupyter_taskvalues.document`.

Beside them travels a record other processes write: a :class:`CancelRequest` (:func:`new_cancel_request`), a file
in the run's ``requests/`` folder until the runner honours it, then the run's or the task's ``cancel_request``.
Run lists read a :class:`RunHead` of each run: a few keys of its record, and its number of tasks.

:func:`dumps` is the one serializer every store backend writes records with.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

__all__ = [
    "AttemptRecord",
    "BundleSettings",
    "CancelRequest",
    "Dependency",
    "IterationRecord",
    "NotebookRunRecord",
    "RunHead",
    "RunRecord",
    "RunnerIdentity",
    "TaskInfo",
    "TaskLogs",
    "TaskRecord",
    "WaitingCancelRequest",
    "blank_task_record",
    "dumps",
    "new_attempt",
    "new_cancel_request",
    "new_iteration",
]


class RunnerIdentity(TypedDict, total=False):
    """The process that runs a run, as its record keeps it."""

    host: str
    """The host name it runs on."""
    pid: int
    """Its process id."""
    started: str | None
    """Its start tick on Linux (``None`` elsewhere): tells the runner from a later process with its id."""


class Dependency(TypedDict):
    """One entry of a task's ``depends_on``."""

    task_key: str
    """The task depended on."""
    outcome: str | None
    """For a condition task: the outcome (``"true"``/``"false"``) the dependant waits for; else ``None``."""


class TaskInfo(TypedDict, total=False):
    """What a task is, kept in the run record before it runs (``RunRecord["tasks"]``); all keys always there."""

    type: str
    """Its kind: ``"notebook"``, ``"condition"``, ``"for_each"``, ``"script"``, ``"wheel"``, ``"run_job"``..."""
    task_type: str
    """Its Jobs API field name (``"notebook_task"``, ``"spark_python_task"``...)."""
    depends_on: list[Dependency]
    """The tasks it waits for."""
    run_if: str
    """When it runs once those are done (``"ALL_SUCCESS"``...)."""
    notebook_path: str | None
    """The notebook it runs (a for-each task: its nested task's), or ``None``."""
    description: str | None
    """The job file's description of it."""


class BundleSettings(TypedDict, total=False):
    """How a run read its Asset Bundle, recorded so that a repair reads it the same way (a :class:`RunRecord`
    holds them)."""

    target: str | None
    """The bundle target applied (``--target``)."""
    variables: dict[str, Any]
    """The bundle variables' resolved values."""
    user: str | None
    """The identity a bundle's ``${workspace.current_user.userName}`` resolved to."""


class RunRecord(BundleSettings, total=False):
    """A run's record (``run.json``), with the :class:`BundleSettings` of a run of a bundle.

    ``create_run`` always writes ``format`` to ``runner``; the job runner adds the keys after them.
    """

    format: int
    """The store's format version (:data:`jupyter_taskvalues.store.FORMAT_VERSION`)."""
    run_id: str
    """The run's id (sorts by creation time)."""
    job_id: str | None
    """The job file's ``job_id``, if it has one."""
    job_name: str
    """The job's name."""
    state: str
    """``PENDING``, ``RUNNING``, then a result state (:data:`jupyter_taskvalues.states.FINAL_STATES`);
    read as ``INTERRUPTED`` when its runner died while it ran."""
    created: str
    """When the run was created (ISO 8601, UTC, milliseconds)."""
    start_time: str | None
    """When its runner started it (its latest repair: when that started); ``None`` before."""
    end_time: str | None
    """When it ended; ``None`` while it runs."""
    parameters: dict[str, str]
    """The job parameters, resolved (defaults and overrides)."""
    repair_count: int
    """How many times the run was repaired."""
    max_values: int
    """The most task values the run may hold."""
    tasks: dict[str, TaskInfo]
    """Each task's description, in the job's order."""
    runner: RunnerIdentity
    """The process running it (rewritten by each update while it is ``PENDING`` or ``RUNNING``)."""
    source: str | None
    """The job file the run was started from (a repair reads it again)."""
    job: str | None
    """The job's key in a bundle that defines several (``--job``)."""
    overrides: dict[str, str]
    """The job parameters given on the command line or by the caller, before defaults."""
    warnings: list[str]
    """What the loader ignored in the job file (unknown fields...)."""
    parent_run_id: str
    """For the child run of a ``run_job_task``: the parent run."""
    parent_task_key: str
    """For the child run of a ``run_job_task``: the parent's task that started it."""
    only: list[str]
    """The tasks ``--only`` selected (the others were taken from ``from_run`` or excluded)."""
    from_run: str | None
    """The run ``--from-run`` took the unselected tasks from."""
    cancel_request: CancelRequest | None
    """The request of another process that canceled the run (:meth:`RunStore.request_cancel
    <jupyter_taskvalues.store.RunStore.request_cancel>`), or ``None``."""
    error: str
    """Why the run ended without its runner judging it (the server stopped, the runner raised)."""


class AttemptRecord(TypedDict, total=False):
    """One try of a notebook, script or wheel task (or of one for-each iteration); all keys always there."""

    attempt: int
    """Its number, from 1."""
    state: str
    """``QUEUED`` (waiting for a slot), ``RUNNING``, then a result state."""
    start_time: str | None
    """When it was queued, then when it got its slot."""
    end_time: str | None
    """When it ended."""
    error: str | None
    """Why it did not succeed."""


class NotebookRunRecord(TypedDict, total=False):
    """One child run of ``dbutils.notebook.run`` in a task's kernel (``notebook_runs`` of a task or an iteration);
    all keys always there.

    The calling kernel keeps one per call (:mod:`jupyter_taskvalues.runtime.notebook_run`); the runner reads them
    when the task ends (see ``notebook_runs`` of :class:`TaskRecord`).
    """

    number: int
    """Its number in the calling kernel, from 1: the child is kept as the notebook of ``<task>.notebook_run.<n>``."""
    path: str
    """The path the call gave (relative to the caller's folder)."""
    arguments: dict[str, str]
    """The arguments, as the child's widgets got them."""
    state: str
    """``RUNNING``, then ``SUCCESS``, ``FAILED``, ``TIMEDOUT`` (past ``timeout_seconds``) or ``CANCELED`` (the
    calling cell was interrupted)."""
    exit_value: str | None
    """What the child passed to ``dbutils.notebook.exit``."""
    error: str | None
    """Why it did not succeed (the ``WorkflowException``'s message)."""
    start_time: str
    """When the call started."""
    end_time: str | None
    """When it ended."""
    output_notebook: str | None
    """Where the executed child was kept (a path or URL); ``None`` outside a job run, or when there was no
    notebook to run."""


class TaskLogs(TypedDict):
    """Where a script or wheel task's output went in older runs (local files). No longer written: it goes to
    the task's output log, as a notebook task's does (:meth:`RunStore.open_output_log
    <jupyter_taskvalues.store.RunStore.open_output_log>`)."""

    stdout: str
    stderr: str


class _Outcome(TypedDict, total=False):
    """What a task and a for-each iteration both record of their run."""

    state: str
    """``PENDING``, ``RUNNING``, then a result state (``SUCCESS``, ``FAILED``, ``EXCLUDED``...)."""
    start_time: str | None
    """When it started (for a task ended without running, such as ``EXCLUDED``: when it ended)."""
    end_time: str | None
    """When it ended."""
    attempts: list[AttemptRecord]
    """Its tries, oldest first (empty for condition and for-each tasks)."""
    parameters: dict[str, Any]
    """The resolved parameters its latest try got (a condition task: ``left``/``right``; a for-each task:
    ``inputs``)."""
    error: str | None
    """Why it did not succeed."""
    exit_value: str | None
    """What its notebook passed to ``dbutils.notebook.exit``."""
    output_notebook: str | None
    """The executed notebook kept: a path (local store) or URL."""
    outcome: str | None
    """A condition task's result: ``"true"`` or ``"false"``."""
    warnings: list[str]
    """What the end-of-task guard warned of (a ``dbutils`` that is not ours)."""
    notebook_runs: list[NotebookRunRecord]
    """The child runs of ``dbutils.notebook.run`` its latest try made, in call order: read from its kernel when
    its notebook ended (after a success, a failing cell or ``dbutils.notebook.exit``). A try whose kernel was
    killed (a timeout or cancel the interrupt did not stop, a crash) or canceled leaves it empty; the children it
    kept stay in the store."""
    logs: TaskLogs
    """A script or wheel task's stdout and stderr files, in older runs only (see :class:`TaskLogs`)."""
    stubbed: bool
    """``True`` when ``--stub`` set its values instead of running it."""


class IterationRecord(_Outcome, total=False):
    """One element of a for-each task (``TaskRecord["iterations"]``)."""

    index: int
    """Its position in the inputs, from 0."""
    input: Any
    """The element (any JSON value)."""


class TaskRecord(_Outcome, total=False):
    """One task's record (``tasks/<task>/task.json``); :func:`blank_task_record` gives the keys it starts with."""

    task_key: str
    """The task's key (the store adds it when it writes the record)."""
    iterations: list[IterationRecord] | None
    """A for-each task's iterations; ``None`` for other tasks."""
    history: list[TaskRecord]
    """The task's records before each repair re-ran it, oldest first (each with ``repair``)."""
    repair: int
    """In ``history``: which repair replaced this record (0: the first)."""
    termination_code: str
    """``"DISABLED"`` for a task that was disabled, or downstream of one (Databricks' code)."""
    disabled: bool
    """``True`` for a task that did not run because it, or what it needed, was disabled."""
    not_selected: bool
    """``True`` for a task ``--only`` left out and no earlier run gave (``EXCLUDED``)."""
    taken_from_run: str | None
    """The run ``--from-run`` took this task's state and values from."""
    child_run_id: str
    """A ``run_job_task``'s child run."""
    child_job: str
    """The bundle job the child run runs."""
    child_result_state: str
    """The child run's result state."""
    cancel_request: CancelRequest
    """The request of another process that canceled this task."""


def blank_task_record(kind: str) -> TaskRecord:
    """Return the record of a task that has not started: what the runner writes first, and fills in."""
    return {
        "state": "PENDING",
        "attempts": [],
        "start_time": None,
        "end_time": None,
        "parameters": {},
        "exit_value": None,
        "error": None,
        "output_notebook": None,
        "outcome": None,
        "warnings": [],
        "notebook_runs": [],
        "iterations": [] if kind == "for_each" else None,
        "history": [],
    }


def new_attempt(number: int, queued_at: str) -> AttemptRecord:
    """Return the record of a try that waits for a slot (``QUEUED``)."""
    return {"attempt": number, "state": "QUEUED", "start_time": queued_at, "end_time": None, "error": None}


def new_iteration(index: int, element: Any) -> IterationRecord:
    """Return the record of a for-each iteration that has not started."""
    return {
        "index": index,
        "input": element,
        "state": "PENDING",
        "attempts": [],
        "start_time": None,
        "end_time": None,
        "parameters": {},
        "error": None,
        "exit_value": None,
        "output_notebook": None,
        "warnings": [],
        "notebook_runs": [],
    }


def dumps(record: RunRecord | TaskRecord) -> str:
    """The JSON text a store keeps a record as (UTF-8 as is, one space of indent: readable, and small)."""
    return json.dumps(record, ensure_ascii=False, indent=1)


# -- requests to a live run's runner, from other processes -------------------------------------------------


class CancelRequest(TypedDict, total=False):
    """A request of another process to cancel a run, or one task of it (:meth:`RunStore.request_cancel
    <jupyter_taskvalues.store.RunStore.request_cancel>` writes it, :func:`new_cancel_request` builds it); all
    keys always there."""

    op: str
    """``"cancel"``: what is asked (the only request there is)."""
    run_id: str
    """The run to cancel."""
    task_key: str | None
    """The task to cancel, or ``None`` for the whole run."""
    repair_count: int
    """The run's repair count when it was asked: a repair ignores the requests made before it."""
    requested_at: str
    """When it was asked (ISO 8601, UTC, milliseconds)."""
    requested_by: str
    """Who asked (a user name)."""
    via: str
    """What it came through: ``"cli"``, ``"jupyter-server"``, ``"api"``..."""
    host: str
    """The host of the process that asked."""
    pid: int
    """The id of the process that asked."""


class WaitingCancelRequest(CancelRequest, total=False):
    """A cancel request as :meth:`RunStore.cancel_requests <jupyter_taskvalues.store.RunStore.cancel_requests>`
    reads it from the run, with the name of its file (not written in the file)."""

    name: str
    """Its file's name in the run's ``requests/`` folder (what ``remove_request`` removes)."""


def new_cancel_request(
    run_id: str,
    task_key: str | None,
    *,
    repair_count: int,
    requested_at: str,
    requested_by: str,
    via: str,
    host: str,
    pid: int,
) -> CancelRequest:
    """Return a request to cancel the run ``run_id`` (``task_key`` ``None``) or its task ``task_key``, with its
    keys in the order its file lists them."""
    return {
        "op": "cancel",
        "run_id": run_id,
        "task_key": task_key,
        "repair_count": repair_count,
        "requested_at": requested_at,
        "requested_by": requested_by,
        "via": via,
        "host": host,
        "pid": pid,
    }


# -- what run lists read of a run --------------------------------------------------------------------------


class RunHead(TypedDict, total=False):
    """A run's head: the keys of its :class:`RunRecord` a run list shows, and ``task_count`` instead of the
    tasks (``RunStore.list_run_heads``; a local store keeps heads in its runs index). A key the record lacks
    (an older version wrote it) is missing from its head too."""

    format: int
    """The store's format version the run was written with."""
    run_id: str
    """The run's id."""
    job_id: str | None
    """The job file's ``job_id``, if it has one."""
    job_name: str
    """The job's name."""
    state: str
    """The run's state, read as ``INTERRUPTED`` when its runner died while it ran."""
    created: str
    """When the run was created."""
    start_time: str | None
    """When its runner started it (its latest repair: when that started)."""
    end_time: str | None
    """When it ended; ``None`` while it runs."""
    repair_count: int
    """How many times the run was repaired."""
    source: str | None
    """The job file the run was started from."""
    runner: RunnerIdentity
    """The process running it (tells a live run from an interrupted one)."""
    task_count: int
    """How many tasks the run's job has (0 for a record without ``tasks``)."""
