"""What the scheduler hands a task kind, and what it gets back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...context import TaskContext

__all__ = ["TaskRequest", "TaskResult"]


@dataclass(frozen=True)
class TaskRequest:
    """One attempt of a task: who it is (``context``), its working directory, its time limit, and the cap of
    its output log (``max_log_bytes``, ``--max-output-log-bytes``; ``None``: the default)."""

    context: TaskContext
    cwd: Path
    timeout: float | None = None
    max_log_bytes: int | None = None


@dataclass
class TaskResult:
    """A result state as the Jobs API names it (``SUCCESS``, ``FAILED``, ``TIMEDOUT``, ``CANCELED``).

    ``stubbed`` is kept in the task record when set (:class:`~jupyter_taskvalues.records.TaskRecord`). What the
    task printed is in its output log (:mod:`..output_log`), which the record does not need to name.
    """

    state: str
    start_time: str
    end_time: str = ""
    error: str | None = None
    exit_value: str | None = None
    #: Whether ``--stub`` stood in for the task.
    stubbed: bool = False
