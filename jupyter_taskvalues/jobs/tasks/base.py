"""What the scheduler hands a task kind, and what it gets back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...context import TaskContext
from ...records import TaskLogs

__all__ = ["TaskRequest", "TaskResult"]


@dataclass(frozen=True)
class TaskRequest:
    """One attempt of a task: who it is (``context``), where its files go, and its time limit.

    ``log_dir`` is a local folder of the run where the task keeps its stdout/stderr (and built wheels).
    """

    context: TaskContext
    log_dir: Path
    cwd: Path
    timeout: float | None = None


@dataclass
class TaskResult:
    """A result state as the Jobs API names it (``SUCCESS``, ``FAILED``, ``TIMEDOUT``, ``CANCELED``).

    ``logs`` and ``stubbed`` are kept in the task record when set (:class:`~jupyter_taskvalues.records.TaskRecord`).
    """

    state: str
    start_time: str
    end_time: str = ""
    error: str | None = None
    exit_value: str | None = None
    #: A script or wheel task's stdout and stderr files.
    logs: TaskLogs | None = None
    #: Whether ``--stub`` stood in for the task.
    stubbed: bool = False
