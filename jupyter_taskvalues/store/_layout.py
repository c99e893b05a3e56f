"""Names in a run's folder (or prefix), shared by every store backend.

A task key or value key becomes a file name by :func:`entry_name`: the key itself when it is short, lower-case
and plain, anything else ``~`` plus a SHA-256 prefix, so that no key can reach outside the run, collide on a
case-insensitive file system, or exceed a file-name limit. An executed notebook is named by
:func:`notebook_name`, readable when the task key allows it; the task's output log sits next to it
(:func:`output_log_name`). Run ids are checked against :data:`RUN_ID_RE`.
"""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "HEARTBEAT_NAME",
    "LOGS_DIR",
    "NOTEBOOKS_DIR",
    "REQUESTS_DIR",
    "RUN_ID_RE",
    "RUN_RECORD_NAME",
    "TASKS_DIR",
    "TASK_RECORD_NAME",
    "TRASH_PREFIX",
    "cancel_request_name",
    "entry_name",
    "notebook_name",
    "output_log_name",
]

#: What a run id may be: letters, digits, ``_``, ``-`` and ``.``, at most 128 characters.
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
#: The run record in a run's folder.
RUN_RECORD_NAME = "run.json"
#: The folder of task records (``tasks/<task>/task.json``).
TASKS_DIR = "tasks"
#: A task's record in its folder.
TASK_RECORD_NAME = "task.json"
#: The folder of executed notebooks.
NOTEBOOKS_DIR = "notebooks"
#: The file a live run's runner touches.
HEARTBEAT_NAME = "heartbeat"
#: The folder of requests to a live run's runner (written by others, read and removed by the runner).
REQUESTS_DIR = "requests"
#: The folder of script and wheel tasks' stdout/stderr files (and the wheels they install).
LOGS_DIR = "logs"
#: Prefix of a run folder being deleted (a name no run id matches, so no reader lists it).
TRASH_PREFIX = ".gc-"

_PLAIN_NAME_RE = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,99}$")
_NOTEBOOK_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$")


def entry_name(key: str) -> str:
    """Return the file-system name that stores ``key`` (see the module docstring)."""
    if _PLAIN_NAME_RE.match(key) and key not in (".", ".."):
        return key
    return "~" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def notebook_name(task_key: str, iteration: int | None) -> str:
    """The file name of an executed notebook: the task key itself when it is plain ASCII, so people can read it.

    Two task keys that differ only in case would share a name on a case-insensitive file system: those get
    the key's short hash after it.
    """
    suffix = f"@{int(iteration)}" if iteration is not None else ""
    if _NOTEBOOK_NAME_RE.match(task_key):
        stem = task_key if task_key == task_key.lower() else f"{task_key}-{entry_name(task_key)[1:9]}"
    else:
        stem = entry_name(task_key)
    return f"{stem}{suffix}.ipynb"


def output_log_name(task_key: str, iteration: int | None) -> str:
    """The file name of a task's (or iteration's) output log, next to its notebook: ``<name>.output.log``."""
    return notebook_name(task_key, iteration).removesuffix(".ipynb") + ".output.log"


def cancel_request_name(task_key: str | None) -> str:
    """The file name, in :data:`REQUESTS_DIR`, of a request to cancel the run (``cancel.json``) or one task."""
    return "cancel.json" if task_key is None else f"cancel-{entry_name(task_key)}.json"
