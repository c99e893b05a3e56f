"""The run document: one JSON shape for a run, used by the CLI's ``--json``, the REST API and the widget.

Shape (every key is always present; ``null`` where unknown)::

    {
      "format": 2,
      "run_id": "20261129-044735-123-a1b2c3", "job_id": null, "job_name": "income",
      "state": "RUNNING" | "SUCCESS" | "SUCCESS_WITH_FAILURES" | "FAILED" | "TIMEDOUT" | "CANCELED"
               | "PENDING" | "INTERRUPTED",
      "start_time": "2026-11-29T04:47:35.123Z", "end_time": null, "duration_seconds": null,
      "parameters": {"name": "value"}, "repair_count": 0, "source": "examples/income/job.yml",
      "value_count": 3, "warnings": ["<job file>: line 7: tasks[0] (task_key 'a'): unknown field ..."],
      "tasks": {
        "<task_key>": {
          "task_key": "...", "type": "notebook" | "condition" | "for_each",
          "depends_on": [{"task_key": "...", "outcome": null}], "run_if": "ALL_SUCCESS",
          "notebook_path": "...", "state": "PENDING" | "RUNNING" | "SUCCESS" | "FAILED" | "TIMEDOUT"
              | "CANCELED" | "EXCLUDED" | "UPSTREAM_FAILED" | "UPSTREAM_CANCELED",
          "attempts": [{"attempt": 1, "state": "...", "start_time": "...", "end_time": "...",
                        "error": null, "values": {...}}],
          "start_time": null, "end_time": null, "duration_seconds": null,
          "parameters": {"resolved": "parameters"}, "values": {"key": <JSON value>},
          "value_info": {"key": {"size": 17, "set_at": "...", "attempt": 1}},
          "exit_value": null, "error": null, "output_notebook": null, "outcome": null, "warnings": [],
          "notebook_runs": [{"number": 1, "path": "./child", "arguments": {"name": "value"},
                             "state": "SUCCESS" | "FAILED" | "TIMEDOUT" | "CANCELED" | "RUNNING",
                             "exit_value": null, "error": null, "start_time": "...", "end_time": "...",
                             "output_notebook": "..."}],
          "iterations": [{"index": 0, "input": <element>, "state": "...", "attempts": [...],
                          "start_time": "...", "end_time": "...", "parameters": {...}, "values": {...},
                          "error": null, "exit_value": null, "output_notebook": "...", "warnings": [],
                          "notebook_runs": [...]}],
          "history": [{"repair": 0, "state": "FAILED", "attempts": [...], ...}]
        }
      }
    }

``warnings`` lists what the end-of-task guard could not prove lost but warns of (a ``dbutils`` that is not
ours, bound when the task ended: see :mod:`jupyter_taskvalues.runtime.guard`); the task still succeeded.
``notebook_runs`` lists the child runs of ``dbutils.notebook.run`` the task's (or the iteration's) latest try
made, caught failures too, each with where its executed notebook was kept (see
:class:`~jupyter_taskvalues.records.NotebookRunRecord` and :mod:`jupyter_taskvalues.runtime.notebook_run`).
``iterations`` is ``null`` for tasks that are not for-each tasks. ``history`` holds the task's earlier runs
when the run was repaired. ``warnings`` are what the loader ignored in the job file (``[]`` when nothing).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Hashable, Mapping, MutableMapping
from typing import Any

from .records import RunRecord, blank_task_record
from .store import RunStore, ValueSnapshot
from .timestamps import parse_time

__all__ = [
    "duration",
    "run_document",
    "run_document_json",
    "run_summary",
    "task_document",
]

#: A task's document before its record is read: its static description's defaults, then a blank record's.
_TASK_DEFAULTS: dict[str, Any] = {
    "type": "notebook",
    "depends_on": [],
    "run_if": "ALL_SUCCESS",
    "notebook_path": None,
    **blank_task_record("notebook"),
}


def duration(start: str | None, end: str | None) -> float | None:
    """Return the seconds between two ISO timestamps of the store, or ``None`` if either is missing."""
    if not start or not end:
        return None
    return round((_parse(end) - _parse(start)).total_seconds(), 3)


def _parse(stamp: str) -> dt.datetime:
    return parse_time(stamp)


def task_document(
    store: RunStore,
    run_id: str,
    task_key: str,
    static: Mapping[str, Any],
    values: ValueSnapshot | None = None,
) -> dict[str, Any]:
    """Return the document of one task: its static description, its record, and its values.

    ``values`` is the run's :meth:`~jupyter_taskvalues.store.RunStore.value_snapshot` when the caller has one.
    """
    if values is None:
        values = store.value_snapshot(run_id)
    doc: dict[str, Any] = {"task_key": task_key, **_TASK_DEFAULTS}
    doc.update({k: v for k, v in static.items() if k in _TASK_DEFAULTS})
    record = store.read_task(run_id, task_key)
    if record:
        doc.update(record)
    doc["duration_seconds"] = duration(doc["start_time"], doc["end_time"])
    doc["warnings"] = list(doc["warnings"])  # never the shared default
    doc["notebook_runs"] = list(doc["notebook_runs"])
    doc["values"], doc["value_info"] = values.table(task_key)
    attempts = []
    current = len(doc["attempts"])
    for stored in doc["attempts"]:
        attempt = dict(stored)
        number = attempt.get("attempt")
        if number == current:
            attempt["values"] = doc["values"]
        elif isinstance(number, int):
            attempt["values"] = values.attempt(task_key, number)
        attempts.append(attempt)
    doc["attempts"] = attempts
    if doc["iterations"] is not None:
        per_iteration = values.iterations(task_key)
        iterations = []
        for stored in doc["iterations"]:
            iteration = dict(stored)
            index = iteration.get("index")
            table = per_iteration.pop(index, None) if isinstance(index, int) else None
            iteration["values"], iteration["value_info"] = table if table is not None else ({}, {})
            iteration.setdefault("warnings", [])
            iteration.setdefault("notebook_runs", [])
            iterations.append(iteration)
        doc["iterations"] = iterations
    return doc


def run_summary(run: Mapping[str, Any]) -> dict[str, Any]:
    """Return the light summary of a run record, or of a run head (``RunStore.list_run_heads``), that run lists
    show (no tasks' values)."""
    return {
        "run_id": run["run_id"],
        "job_id": run.get("job_id"),
        "job_name": run.get("job_name"),
        "state": run.get("state"),
        "start_time": run.get("start_time"),
        "end_time": run.get("end_time"),
        "created": run.get("created"),
        "duration_seconds": duration(run.get("start_time"), run.get("end_time")),
        "task_count": run["task_count"] if "task_count" in run else len(run.get("tasks", {})),  # a run head
        "repair_count": run.get("repair_count", 0),
        "source": run.get("source"),
    }


def run_document(store: RunStore, run_id: str) -> dict[str, Any]:
    """Return the run document of ``run_id`` (the shape in this module's docstring)."""
    run = store.read_run(run_id)
    values = store.value_snapshot(run_id)
    tasks = {
        key: task_document(store, run_id, key, static if isinstance(static, dict) else {}, values)
        for key, static in run.get("tasks", {}).items()
    }
    return _run_header(run, values) | {"tasks": tasks}


def run_document_json(
    store: RunStore, run_id: str, fragments: MutableMapping[Hashable, bytes] | None = None
) -> bytes:
    """Return the run document of ``run_id`` serialized as JSON (UTF-8), as :func:`run_document` would give it.

    ``fragments`` keeps each task's serialized document under what it was made from (the run record's static
    description of the task, its record file, the version of its values): a task that did not change since the
    last call is not read or serialized again. A run of 10,000 values in which one value changed is served in a
    few milliseconds instead of the tens it takes to serialize 2.5 MB. Stores that cannot tell a task's
    version cheaply (object stores) serialize every task every time.
    """
    run = store.read_run(run_id)
    values = store.value_snapshot(run_id)
    parts = []
    for key, described in run.get("tasks", {}).items():
        static = described if isinstance(described, dict) else {}
        version, stamp = values.version(key), store.task_stamp(run_id, key)
        cache_key: Hashable | None = None
        if fragments is not None and version is not None and stamp is not None:
            cache_key = (store.run_url(run_id), key, version, stamp, json.dumps(static, sort_keys=True))
        body = fragments.get(cache_key) if fragments is not None and cache_key is not None else None
        if body is None:
            body = json.dumps(task_document(store, run_id, key, static, values)).encode()
            if fragments is not None and cache_key is not None:
                fragments[cache_key] = body
        parts.append(json.dumps(key).encode() + b": " + body)
    head = json.dumps(_run_header(run, values)).encode()
    return head[:-1] + b', "tasks": {' + b", ".join(parts) + b"}}"


def _run_header(run: RunRecord, values: ValueSnapshot) -> dict[str, Any]:
    """Everything of the run document but its tasks."""
    return {
        "format": run.get("format"),
        "run_id": run["run_id"],
        "job_id": run.get("job_id"),
        "job_name": run.get("job_name"),
        "state": run.get("state"),
        "start_time": run.get("start_time"),
        "end_time": run.get("end_time"),
        "duration_seconds": duration(run.get("start_time"), run.get("end_time")),
        "parameters": run.get("parameters", {}),
        "repair_count": run.get("repair_count", 0),
        "source": run.get("source"),
        "created": run.get("created"),
        "value_count": values.count(),
        "warnings": list(run.get("warnings") or []),
    }
