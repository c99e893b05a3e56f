"""The parsed shape of a job definition: what the loader produces and the scheduler consumes.

Field names follow the Databricks Jobs API 2.1/2.2 (``task_key``, ``depends_on``, ``run_if``...), in
snake_case as the API itself uses. Instances are frozen; the loader (:mod:`.spec`) builds and validates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "RUN_IF_CONDITIONS",
    "ConditionTask",
    "Dependency",
    "ForEachTask",
    "JobParameter",
    "JobSpec",
    "NotebookTask",
    "Task",
]

RUN_IF_CONDITIONS = (
    "ALL_SUCCESS",
    "AT_LEAST_ONE_SUCCESS",
    "NONE_FAILED",
    "ALL_DONE",
    "AT_LEAST_ONE_FAILED",
    "ALL_FAILED",
)
RunIf = Literal[
    "ALL_SUCCESS", "AT_LEAST_ONE_SUCCESS", "NONE_FAILED", "ALL_DONE", "AT_LEAST_ONE_FAILED", "ALL_FAILED"
]
ConditionOp = Literal[
    "EQUAL_TO", "NOT_EQUAL", "GREATER_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN", "LESS_THAN_OR_EQUAL"
]


@dataclass(frozen=True)
class Dependency:
    """One entry of ``depends_on``; ``outcome`` (``"true"``/``"false"``) picks a condition task's branch."""

    task_key: str
    outcome: str | None = None


@dataclass(frozen=True)
class NotebookTask:
    """``notebook_task``: ``path`` is absolute, resolved against the file that named it."""

    path: Path
    base_parameters: dict[str, str] = field(default_factory=dict)
    source_path: str = ""  # the notebook_path as written in the job file


@dataclass(frozen=True)
class ConditionTask:
    """``condition_task``: compares two operands after resolving references."""

    op: ConditionOp
    left: str
    right: str


@dataclass(frozen=True)
class ForEachTask:
    """``for_each_task``: runs ``task`` once per element of ``inputs`` (a JSON array or a reference to one)."""

    inputs: str
    task: Task
    concurrency: int = 1


@dataclass(frozen=True)
class Task:
    """One task of a job. Exactly one of ``notebook``, ``condition`` and ``for_each`` is set."""

    task_key: str
    depends_on: tuple[Dependency, ...] = ()
    run_if: RunIf = "ALL_SUCCESS"
    notebook: NotebookTask | None = None
    condition: ConditionTask | None = None
    for_each: ForEachTask | None = None
    description: str = ""
    max_retries: int = 0
    min_retry_interval_millis: int = 0
    retry_on_timeout: bool = False
    timeout_seconds: int = 0

    @property
    def kind(self) -> str:
        """``"notebook"``, ``"condition"`` or ``"for_each"``."""
        if self.condition is not None:
            return "condition"
        if self.for_each is not None:
            return "for_each"
        return "notebook"


@dataclass(frozen=True)
class JobParameter:
    """A job-level parameter and its default."""

    name: str
    default: str


@dataclass(frozen=True)
class JobSpec:
    """A whole job: its tasks in definition order, parameters and job-level settings."""

    name: str
    tasks: tuple[Task, ...]
    parameters: tuple[JobParameter, ...] = ()
    job_id: str | None = None
    timeout_seconds: int = 0
    max_concurrent_runs: int = 1
    source: str = ""  # the file the job was loaded from
    allow_missing_references: bool = False  # leave a reference to an unset value as literal text

    def task(self, task_key: str) -> Task:
        """Return the task named ``task_key``; ``KeyError`` if there is none."""
        for task in self.tasks:
            if task.task_key == task_key:
                return task
        raise KeyError(task_key)

    @property
    def task_keys(self) -> tuple[str, ...]:
        """The task keys in definition order."""
        return tuple(task.task_key for task in self.tasks)

    def parameter_defaults(self) -> dict[str, str]:
        """Return the job parameters with their defaults."""
        return {p.name: p.default for p in self.parameters}
