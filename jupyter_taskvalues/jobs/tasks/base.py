"""What the scheduler hands a task kind, and what it gets back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...context import TaskContext

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

    ``extra`` holds kind-specific fields kept in the task record (``logs``, ``child_run_id``...).
    """

    state: str
    start_time: str
    end_time: str = ""
    error: str | None = None
    exit_value: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
