"""The interactive session: values set outside a job run, and an attachment to an earlier run.

Outside a job run Databricks drops ``dbutils.jobs.taskValues.set``. We validate the value all the same (so
that a bad value fails during development, not in production) and keep it here, in this process only, so the
panel can show it as the *interactive session*, never as a job run (SPEC §1, "ours").

``%taskvalue attach RUN_ID TASK`` makes an interactive notebook act as ``TASK`` of an earlier run: ``get``
then reads that run's real values, while ``set`` still lands here, so the earlier run is never modified.

Everything here is per process and thread-safe. The one thing written to disk is a record of the attachment
in the run's folder (:meth:`RunStore.record_attachment <jupyter_taskvalues.store.RunStore.
record_attachment>`), removed on detach, so that run retention (``jupyter-taskvalues gc``) keeps that run.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..context import TaskContext, current_context, default_runs_dir
from ..exceptions import ValueLimitError

if TYPE_CHECKING:
    from ..store import ValueRecord

# The store and the value rules (values) are imported where a value is set or read, not by ``%load_ext``,
# which imports this module: active_context, on every dbutils call, needs neither.

__all__ = [
    "INTERACTIVE_TASK",
    "active_context",
    "attach",
    "attached_context",
    "clear_session",
    "detach",
    "session_records",
    "session_values",
    "session_version",
    "set_session_value",
]

#: The task name the panel shows for values set in the interactive session.
INTERACTIVE_TASK = "(interactive session)"

_lock = threading.Lock()
_encoded: dict[str, tuple[str, str]] = {}  # key -> (JSON text, set_at)
_version = 0
_attached: TaskContext | None = None


def set_session_value(key: str, value: Any, *, max_values: int | None = None) -> ValueRecord:
    """Validate ``value`` as a job would and keep it in the interactive session; return its record.

    Raises the same errors as :meth:`RunStore.set_value <jupyter_taskvalues.store.RunStore.set_value>`:
    :class:`~jupyter_taskvalues.exceptions.InvalidKeyError`, :class:`~jupyter_taskvalues.exceptions.
    InvalidValueError` and, past ``max_values`` distinct keys (by default
    :data:`~jupyter_taskvalues.values.MAX_VALUES_PER_RUN`, as in a job run),
    :class:`~jupyter_taskvalues.exceptions.ValueLimitError`. Nothing is kept when it raises.
    """
    global _version
    from ..store import ValueRecord, utcnow
    from ..values import MAX_VALUES_PER_RUN, check_key, decode_value, encode_value

    if max_values is None:
        max_values = MAX_VALUES_PER_RUN
    check_key(key)
    text = encode_value(key, value)
    stamp = utcnow()
    with _lock:
        if key not in _encoded and len(_encoded) >= max_values:
            raise ValueLimitError(
                f"Cannot set task value {key!r} in the interactive session: it already holds {len(_encoded)} "
                f"values, the limit is {max_values} (as in a job run). Store fewer, larger values (a dict), "
                "or clear the session.",
                key=key,
                task_key=INTERACTIVE_TASK,
            )
        _encoded[key] = (text, stamp)
        _version += 1
    return ValueRecord(INTERACTIVE_TASK, key, decode_value(text), len(text.encode("utf-8")), stamp, 1)


def session_values() -> dict[str, Any]:
    """Return the values set in the interactive session, keyed by key (fresh copies, in the order set)."""
    from ..values import decode_value

    with _lock:
        items = list(_encoded.items())
    return {key: decode_value(text) for key, (text, _stamp) in items}


def session_records() -> dict[str, ValueRecord]:
    """Return the interactive session's values with their metadata (size in bytes, time set)."""
    from ..store import ValueRecord
    from ..values import decode_value

    with _lock:
        items = list(_encoded.items())
    return {
        key: ValueRecord(INTERACTIVE_TASK, key, decode_value(text), len(text.encode("utf-8")), stamp, 1)
        for key, (text, stamp) in items
    }


def session_version() -> int:
    """Return a number that changes whenever the interactive session's values change (for cheap polling)."""
    return _version


def clear_session() -> None:
    """Forget every value of the interactive session."""
    global _version
    with _lock:
        _encoded.clear()
        _version += 1


def attach(run_id: str, task_key: str, *, runs_dir: str | None = None) -> TaskContext:
    """Act as ``task_key`` of the earlier run ``run_id`` until :func:`detach`; return the context used.

    ``run_id`` may be ``"latest"`` for the newest run of the runs directory. The task's resolved parameters,
    as the run recorded them, become the job parameters ``dbutils.widgets.get`` sees. Raises
    :class:`~jupyter_taskvalues.exceptions.RunNotFoundError` or :class:`~jupyter_taskvalues.exceptions.
    TaskNotFoundError` when the run or the task does not exist.
    """
    global _attached
    from ..store import open_store

    directory = runs_dir or default_runs_dir()
    store = open_store(directory)
    run_id = store.resolve_run_id(run_id, hint="Run a job first, or pass the runs directory.")
    store.require_task(run_id, task_key)
    record = store.read_task(run_id, task_key) or {}
    parameters = record.get("parameters") or {}
    context = TaskContext(
        run_id=run_id,
        task_key=task_key,
        runs_dir=str(directory),
        parameters={str(k): str(v) for k, v in parameters.items()} if isinstance(parameters, dict) else {},
    )
    store.record_attachment(run_id)  # run retention in another process must keep this run
    with _lock:
        previous, _attached = _attached, context
    if previous is not None and (previous.run_id, previous.runs_dir) != (run_id, context.runs_dir):
        _release(previous)
    return context


def _release(context: TaskContext) -> None:
    """Remove this process's attachment record of ``context``'s run (it may have been removed already)."""
    from ..exceptions import TaskValuesError
    from ..store import open_store

    try:
        open_store(context.runs_dir).release_attachment(context.run_id)
    except (OSError, TaskValuesError):  # the run or its folder is gone: there is nothing left to release
        return


def detach() -> TaskContext | None:
    """Stop acting as a task of an earlier run; return the context that was attached, if any."""
    global _attached
    with _lock:
        previous, _attached = _attached, None
    if previous is not None:
        _release(previous)
    return previous


def attached_context() -> TaskContext | None:
    """Return the context set by :func:`attach`, or ``None``."""
    return _attached


def active_context() -> tuple[TaskContext | None, bool]:
    """Return the context ``dbutils`` reads from, and whether it comes from :func:`attach`.

    An attachment wins over the process's own task context, which is read from the environment on every
    call (a warm kernel learns its task after it started).
    """
    attached = _attached
    if attached is not None:
        return attached, True
    return current_context(), False
