"""Values across runs, for the JupyterLab panel: a job's run matrix, a value's history, a diff of two runs.

Each function reads the store only (runs started anywhere: the CLI, a notebook, the server) and returns the JSON
the route serves. Runs are found newest first by id; a run that cannot be read is skipped, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..exceptions import StoreError, TaskValuesError, ValueNotFoundError
from ..records import RunRecord
from ..store import RunStore

__all__ = ["run_diff", "run_matrix", "value_history"]


def _runs_of(store: RunStore, job_name: str) -> Iterator[RunRecord]:
    """Yield the run records of the job ``job_name``, newest first."""
    for run_id in store.run_ids():
        try:
            run = store.read_run(run_id)
        except (TaskValuesError, ValueError):  # a run being created or a damaged one is not part of the list
            continue
        if run.get("job_name") == job_name:
            yield run


def _task_state(store: RunStore, run_id: str, task_key: str) -> str:
    record = store.read_task(run_id, task_key) or {}
    return str(record.get("state") or "PENDING")


def run_matrix(store: RunStore, job_name: str, limit: int) -> dict[str, Any]:
    """Return ``{"job_name", "tasks", "runs": [{"run_id", "state", "start_time", "tasks": {key: state}}]}``.

    ``runs`` are the ``limit`` latest runs of the job, newest first; ``tasks`` lists every task key of those
    runs, the newest run's order first (a task that a later version of the job dropped comes last).
    """
    runs: list[dict[str, Any]] = []
    tasks: dict[str, None] = {}
    for run in _runs_of(store, job_name):
        if len(runs) >= limit:
            break
        keys = list(run.get("tasks") or {})
        tasks.update(dict.fromkeys(keys))
        runs.append(
            {
                "run_id": run["run_id"],
                "state": run.get("state"),
                "start_time": run.get("start_time"),
                "tasks": {key: _task_state(store, run["run_id"], key) for key in keys},
            }
        )
    return {"job_name": job_name, "tasks": list(tasks), "runs": runs}


def value_history(store: RunStore, job_name: str, task_key: str, key: str, limit: int) -> dict[str, Any]:
    """Return ``{"points": [{"run_id", "start_time", "value"}]}``, oldest first, from the job's latest runs.

    Only runs in which the task set the value give a point; ``limit`` bounds the runs looked at.
    """
    points = []
    for count, run in enumerate(_runs_of(store, job_name)):
        if count >= limit:
            break
        try:
            value = store.get_value(run["run_id"], task_key, key)
        except (ValueNotFoundError, StoreError):
            continue
        points.append({"run_id": run["run_id"], "start_time": run.get("start_time"), "value": value})
    points.reverse()
    return {"points": points}


def _parameters(store: RunStore, run: RunRecord) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    for task_key in run.get("tasks") or {}:
        record = store.read_task(run["run_id"], task_key) or {}
        for name, value in (record.get("parameters") or {}).items():
            found[(task_key, str(name))] = value
    return found


def run_diff(store: RunStore, a: str, b: str) -> dict[str, Any]:
    """Return the values and resolved task parameters of runs ``a`` and ``b`` side by side.

    ``{"a", "b", "values": [{"task_key", "key", "a", "b", "changed"}], "parameters": [{"task_key", "name",
    "a", "b", "changed"}]}``: one row per name in either run, sorted by task and name; a side that lacks it is
    ``null`` (a value that *is* ``null`` on one side and missing on the other shows as changed).
    """
    run_a, run_b = store.read_run(a), store.read_run(b)
    values: dict[str, dict[tuple[str, str], Any]] = {}
    for side, run_id in (("a", a), ("b", b)):
        values[side] = {
            (task_key, key): record.value
            for task_key, records in store.all_values(run_id).items()
            for key, record in records.items()
        }
    parameters = {"a": _parameters(store, run_a), "b": _parameters(store, run_b)}
    return {
        "a": a,
        "b": b,
        "values": _rows(values["a"], values["b"], "key"),
        "parameters": _rows(parameters["a"], parameters["b"], "name"),
    }


def _rows(
    left: dict[tuple[str, str], Any], right: dict[tuple[str, str], Any], field: str
) -> list[dict[str, Any]]:
    rows = []
    for task_key, name in sorted(set(left) | set(right)):
        here, there = (task_key, name) in left, (task_key, name) in right
        a, b = left.get((task_key, name)), right.get((task_key, name))
        rows.append({"task_key": task_key, field: name, "a": a, "b": b, "changed": here != there or a != b})
    return rows
