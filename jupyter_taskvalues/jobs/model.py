"""The parsed shape of a job definition: what the loader produces and the scheduler consumes.

Field names follow the Databricks Jobs API 2.1/2.2 (``task_key``, ``depends_on``, ``run_if``...), in
snake_case as the API itself uses. Instances are frozen; the loader (:mod:`.spec`) builds and validates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "RUN_IF_CONDITIONS",
    "ConditionTask",
    "Dependency",
    "ForEachTask",
    "JobParameter",
    "JobSpec",
    "NotebookTask",
    "RunJobTask",
    "ScriptTask",
    "Task",
    "WheelTask",
    "WorkspaceTask",
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
class ScriptTask:
    """``spark_python_task`` (or a ``python_task``-style file task): a Python file run as a script.

    ``path`` is absolute, resolved against the file that named it; ``parameters`` become ``sys.argv[1:]``.
    """

    path: Path
    parameters: tuple[str, ...] = ()
    source_path: str = ""
    type_name: str = "spark_python_task"


@dataclass(frozen=True)
class WheelTask:
    """``python_wheel_task``: the entry point ``entry_point`` of distribution ``package_name``.

    ``wheels`` are the ``libraries: [{whl: ...}]`` files (absolute), ``projects`` the bundle's ``artifacts``
    folders (built into a wheel at run time). ``parameters`` are argv as written; ``named_parameters`` become
    ``--name=value`` items after them.
    """

    package_name: str
    entry_point: str
    parameters: tuple[str, ...] = ()
    named_parameters: dict[str, str] = field(default_factory=dict)
    wheels: tuple[Path, ...] = ()
    projects: tuple[Path, ...] = ()


@dataclass(frozen=True)
class RunJobTask:
    """``run_job_task``: ``job_id`` as written; ``job_key`` is the bundle job it names, when it names one."""

    job_id: str
    job_key: str | None = None
    job_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkspaceTask:
    """A task type that needs a Databricks workspace (``sql_task``, ``dbt_task``, ...), kept by its type name."""

    type_name: str
    reason: str = ""


@dataclass(frozen=True)
class Task:
    """One task of a job. Exactly one of the kind fields (``notebook`` ... ``workspace``) is set.

    ``disabled`` is the job file's ``disabled: true``; ``stub`` the task values of a job-file-side stub (the
    task tag ``jupyter_taskvalues_stub``), or ``None``.
    """

    task_key: str
    depends_on: tuple[Dependency, ...] = ()
    run_if: RunIf = "ALL_SUCCESS"
    notebook: NotebookTask | None = None
    condition: ConditionTask | None = None
    for_each: ForEachTask | None = None
    script: ScriptTask | None = None
    wheel: WheelTask | None = None
    run_job: RunJobTask | None = None
    workspace: WorkspaceTask | None = None
    disabled: bool = False
    stub: dict[str, object] | None = None
    description: str = ""
    max_retries: int = 0
    min_retry_interval_millis: int = 0
    retry_on_timeout: bool = False
    timeout_seconds: int = 0

    @property
    def kind(self) -> str:
        """``"notebook"``, ``"condition"``, ``"for_each"``, ``"script"``, ``"wheel"``, ``"run_job"`` or
        ``"workspace"``."""
        if self.condition is not None:
            return "condition"
        if self.for_each is not None:
            return "for_each"
        if self.script is not None:
            return "script"
        if self.wheel is not None:
            return "wheel"
        if self.run_job is not None:
            return "run_job"
        if self.workspace is not None:
            return "workspace"
        return "notebook"

    @property
    def type_name(self) -> str:
        """The task type as the job file spells it (``notebook_task``, ``sql_task``...)."""
        if self.script is not None:
            return self.script.type_name
        if self.workspace is not None:
            return self.workspace.type_name
        return "python_wheel_task" if self.kind == "wheel" else f"{self.kind}_task"


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
    #: The jobs of the same bundle a ``run_job_task`` may name: key, name and local id -> job key.
    bundle_jobs: dict[str, str] = field(default_factory=dict)
    target: str | None = None  # the bundle target applied (``--target``), reused by repair
    #: The bundle variables' resolved values (``--var``, ``BUNDLE_VAR_<name>``, target, default).
    variables: dict[str, Any] = field(default_factory=dict)
    #: The local identity a bundle's ``${workspace.current_user.userName}`` resolved to (``None``: not a bundle).
    user: str | None = None
    #: What the loader ignored, each a sentence naming the file, the line where known and the field
    #: (``unknown field 'depend_on' is ignored; did you mean 'depends_on'?``), after the warnings
    #: ``databricks-bundles`` reported for a bundle's Python code. Warnings never refuse a job.
    warnings: tuple[str, ...] = ()

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
