r"""Load a job definition into a :class:`~.model.JobSpec` and validate it before anything runs.

:func:`load_job` reads Jobs API JSON/YAML and Asset Bundles (see :mod:`.sources`), builds the model, and
checks the whole job (see :mod:`.validation`): every problem is collected, each with its location, and
raised at once as one :class:`~jupyter_taskvalues.exceptions.JobSpecError` (whose ``warnings`` are those of a
job that loads)::

    tasks[2] (task_key 'train').depends_on[0]: unknown task 'ingets'; did you mean 'ingest'?

Choices (**ours**, where Databricks' behaviour is unknown or cannot apply locally):

- Every task type loads: notebook, script (``spark_python_task``), wheel, ``run_job_task``, condition and
  for-each tasks run here; the others (``sql_task``, ``dbt_task``, any ``*_task`` this loader does not know)
  are workspace tasks (:class:`~..model.WorkspaceTask`), which a run refuses unless they are stubbed (:mod:`..plan`).
  A job tag ``jupyter_taskvalues_stub_<task_key>`` (a JSON object, or the path of a JSON file) stubs a task.
- A field this loader does not know is ignored with a warning (:attr:`~..model.JobSpec.warnings`), never
  refused, so exports carrying settings newer than this loader still load: the warning names the file, the
  line where the file says it, the field and the closest known one (``unknown field 'depend_on' is ignored;
  did you mean 'depends_on'?``). The known Databricks settings that mean nothing locally (clusters,
  notifications, schedules, tags...) are ignored silently. The warnings ``databricks-bundles`` reports while
  it loads a bundle's Python code come first (:mod:`.python_diagnostics`).
- ``base_parameters``, parameter defaults and condition operands must be strings on Databricks; numbers and
  booleans are accepted and written as a reference renders them (``true``, ``3``); lists and maps are
  problems.
- A notebook path without a notebook suffix is tried with :data:`NOTEBOOK_SUFFIXES` in order, as Databricks
  paths omit the extension. Relative paths are relative to the file that names them.
- A reference to a task (``{{tasks.x...}}``) must name a task upstream of the reader, directly or not; job
  parameter defaults cannot read tasks at all.
- ``allow_missing_references`` (leave a reference to a value never set as literal text) is switched on by a
  top-level ``jupyter_taskvalues: {allow_missing_references: true}`` or, to keep the file deployable to
  Databricks unchanged, by the job tag ``jupyter_taskvalues_allow_missing_references: "true"``.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from ...exceptions import JobSpecError
from ...references import render
from ..model import (
    RUN_IF_CONDITIONS,
    ConditionTask,
    Dependency,
    ForEachTask,
    JobParameter,
    JobSpec,
    NotebookTask,
    RunJobTask,
    ScriptTask,
    Task,
    WheelTask,
    WorkspaceTask,
)
from .fields import JOB_FIELDS, JOB_SETTINGS_FIELDS, TASK_FIELDS
from .sources import BASE_DIR, RawJob, read_document, read_jobs
from .validation import (
    CONDITION_OPS,
    NOTEBOOK_SUFFIXES,
    did_you_mean,
    job_problems,
    model_problems,
    spec_error,
    task_order,
    task_where,
    validate_job,
)

if TYPE_CHECKING:
    from ..model import ConditionOp, RunIf

__all__ = [
    "CONDITION_OPS",
    "NOTEBOOK_SUFFIXES",
    "find_notebook",
    "job_problems",
    "list_jobs",
    "load_job",
    "merge_parameters",
    "parse_param_overrides",
    "validate_job",
]

_ALLOW_MISSING_TAG: Final = "jupyter_taskvalues_allow_missing_references"

_RUNNABLE_TYPES: Final = ("notebook_task", "condition_task", "for_each_task")
_SCRIPT_TYPES: Final = ("spark_python_task", "python_task")
_SCRIPT_FIELDS: Final = frozenset({"python_file", "parameters", "source"})
_WHEEL_FIELDS: Final = frozenset({"package_name", "entry_point", "parameters", "named_parameters"})
_JOB_REF_RE: Final = re.compile(r"\$\{resources\.jobs\.([\w-]+)\.id\}")
_STUB_TAG: Final = "jupyter_taskvalues_stub_"
_OTHER_TYPES: Final = (
    "spark_jar_task",
    "spark_python_task",
    "python_task",
    "spark_submit_task",
    "python_wheel_task",
    "pipeline_task",
    "sql_task",
    "dbt_task",
    "dbt_cloud_task",
    "run_job_task",
    "clean_rooms_notebook_task",
    "dashboard_task",
    "power_bi_task",
    "gen_ai_compute_task",
    "alert_task",
)
_JOB_FIELDS: Final = frozenset(
    {
        "name", "tasks", "parameters", "timeout_seconds", "max_concurrent_runs", "jupyter_taskvalues", "tags",
        "description", "job_clusters", "email_notifications", "webhook_notifications",
        "notification_settings",
        "health", "schedule", "trigger", "continuous", "git_source", "queue", "run_as", "edit_mode", "format",
        "deployment", "environments", "budget_policy_id", "usage_policy_id", "performance_target",
        "access_control_list", "permissions", "job_id", "created_time", "creator_user_name",
        "run_as_user_name", "run_as_owner", "settings", "effective_budget_policy_id",
        "effective_usage_policy_id", "run_name", "idempotency_token", "max_retries",
    }
) | JOB_SETTINGS_FIELDS | JOB_FIELDS  # fmt: skip
_TASK_FIELDS: Final = frozenset(
    {
        "task_key", "description", "depends_on", "run_if", "max_retries", "min_retry_interval_millis",
        "retry_on_timeout", "timeout_seconds", "existing_cluster_id", "new_cluster", "job_cluster_key",
        "compute_key", "environment_key", "libraries", "email_notifications", "webhook_notifications",
        "notification_settings", "health", "disable_auto_optimization", "disabled", "compute",
        *_RUNNABLE_TYPES, *_OTHER_TYPES,
    }
) | TASK_FIELDS  # fmt: skip
_NOTEBOOK_FIELDS: Final = frozenset({"notebook_path", "base_parameters", "source", "warehouse_id"})
#: The label a location shows after an index (`` (task_key 'a')``), dropped to get the field's path.
_LABEL_RE: Final = re.compile(r" \((?:task_key|name) [^)]*\)(?=\.|$)")


class _Problems:
    """Problems and warnings collected so far; ``done`` remembers (location, check) pairs already reported.

    A warning is kept with the path of the field it is about (``tasks[0].depend_on``), to find its line.
    """

    def __init__(self) -> None:
        self.items: list[str] = []
        self.warnings: list[tuple[str, str]] = []
        self.done: set[tuple[str, str]] = set()

    def add(self, where: str, message: str, *, check: str = "") -> None:
        self.items.append(f"{where}: {message}" if where else message)
        if check:
            self.done.add((where, check))

    def unknown_fields(self, raw: Mapping[Any, Any], known: Collection[str], where: str) -> None:
        for name in raw:
            if name is BASE_DIR:
                continue
            if not isinstance(name, str):
                self.add(where, f"field {name!r} is not a string; field names are strings.")
            elif name not in known:
                close = _close_matches(name, sorted(known), n=1, cutoff=0.75)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                message = f"unknown field {name!r} is ignored{hint}"
                path = _LABEL_RE.sub("", where)
                self.warnings.append(
                    (f"{path}.{name}" if path else name, f"{where}: {message}" if where else message)
                )


def _located(raw_job: RawJob, warnings: list[tuple[str, str]]) -> tuple[str, ...]:
    """Each warning prefixed by the file that writes the field and, when the file says it, its line."""
    if not warnings:
        return ()
    from .yaml12 import field_lines  # the file was read already; JSON is YAML 1.2 too

    try:
        find = field_lines(raw_job.file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError):  # expected: the file changed since it was read; no lines then
        find = field_lines("")
    located = []
    for field, message in warnings:
        line = find(f"{raw_job.path_in_file}.{field}" if raw_job.path_in_file else field)
        located.append(f"{raw_job.file}: " + (f"line {line}: " if line is not None else "") + message)
    return tuple(located)


# --------------------------------------------------------------------------------------------------- building


def _string(value: Any, where: str, field: str, problems: _Problems) -> str | None:
    """Return a scalar as the string Databricks expects (rendered like a reference), else report it."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return render(value)
    problems.add(
        where,
        f"{field} is a {type(value).__name__}; it must be a string. Write it as a JSON string, "
        f"for example {json.dumps(render(value))[:80]}.",
    )
    return None


def _integer(raw: Mapping[str, Any], field: str, default: int, where: str, problems: _Problems) -> int:
    value = raw.get(field, default)
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,18}\s*", value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    problems.add(where, f"{field} must be a whole number, not {value!r}.")
    return default


def _boolean(raw: Mapping[str, Any], field: str, where: str, problems: _Problems) -> bool:
    value = raw.get(field, False)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    problems.add(where, f"{field} must be true or false, not {value!r}.")
    return False


def find_notebook(notebook_path: str, base_dir: Path) -> Path:
    """Return the local file ``notebook_path`` names, relative to ``base_dir`` unless absolute.

    A path that is not a file is tried with each of :data:`NOTEBOOK_SUFFIXES` appended (Databricks notebook
    paths omit the extension). When nothing exists, the path as written (made absolute) is returned.
    """
    path = Path(notebook_path).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    path = Path(os.path.normpath(path))
    if path.is_file() or not path.name:  # no name (the root, "/") to add a suffix to
        return path
    for suffix in NOTEBOOK_SUFFIXES:
        candidate = path.with_name(path.name + suffix)
        if candidate.is_file():
            return candidate
    return path


def _build_task(raw: Any, prefix: str, base_dir: Path, problems: _Problems, *, nested: bool = False) -> Task:
    if not isinstance(raw, Mapping):
        problems.add(
            prefix, f"a task must be a mapping with a task_key, not {type(raw).__name__}.", check="key"
        )
        problems.done.add((prefix, "kind"))
        return Task(task_key="")
    key = raw.get("task_key")
    if isinstance(key, (int, float)) and not isinstance(key, bool):
        key = str(key)
    if key is not None and not isinstance(key, str):
        problems.add(prefix, f"task_key must be a string, not {type(key).__name__}.", check="key")
        key = ""
    where = task_where(prefix, key or "")
    problems.unknown_fields(raw, _TASK_FIELDS, where)
    kinds = [k for k in (*_RUNNABLE_TYPES, *_OTHER_TYPES) if raw.get(k) is not None]
    kinds += [
        k
        for k in raw
        if isinstance(k, str) and k.endswith("_task") and k not in _TASK_FIELDS and raw[k] is not None
    ]  # a task type newer than this loader: it needs a workspace, as far as we know
    if len(kinds) > 1:
        problems.add(where, f"it has {' and '.join(kinds)}; a task has exactly one type.", check="kind")
    elif not kinds:
        problems.add(
            where,
            "it has no task type; give it a notebook_task, condition_task or for_each_task.",
            check="kind",
        )
    if (
        nested
        and kinds
        and kinds[0] not in ("notebook_task", "condition_task", *_SCRIPT_TYPES, "python_wheel_task")
    ):
        problems.add(
            where,
            "a for-each task runs a notebook, condition, script or wheel task here, not a "
            f"{kinds[0]}; run it once per input from a notebook, or stub the for-each task.",
            check="kind",
        )
    kind_fields = _build_kind(raw, kinds[0] if len(kinds) == 1 else "", where, base_dir, problems)

    depends_on = []
    deps = raw.get("depends_on") or []
    if not isinstance(deps, list):
        problems.add(where, "depends_on must be a list of {task_key: ...} mappings.")
        deps = []
    for i, dep in enumerate(deps):
        dep_where = f"{where}.depends_on[{i}]"
        if isinstance(dep, str):
            dep = {"task_key": dep}  # noqa: PLW2901 - the short form names the task only
        if not isinstance(dep, Mapping) or not isinstance(dep.get("task_key"), str):
            problems.add(dep_where, "a dependency is a mapping with a task_key: {task_key: ingest}.")
            continue
        problems.unknown_fields(dep, ("task_key", "outcome"), dep_where)
        outcome = dep.get("outcome")
        if isinstance(outcome, bool):
            outcome = "true" if outcome else "false"
        depends_on.append(Dependency(dep["task_key"], None if outcome is None else str(outcome)))

    run_if = raw.get("run_if", "ALL_SUCCESS")
    if not isinstance(run_if, str):
        problems.add(
            where, f"run_if must be one of {', '.join(RUN_IF_CONDITIONS)}, not {run_if!r}.", check="run_if"
        )
        run_if = "ALL_SUCCESS"

    notebook = condition = for_each = None
    if isinstance(raw.get("notebook_task"), Mapping):
        notebook = _build_notebook(raw["notebook_task"], f"{where}.notebook_task", base_dir, problems)
    elif raw.get("notebook_task") is not None:
        problems.add(where, "notebook_task must be a mapping with a notebook_path.")
    if isinstance(raw.get("condition_task"), Mapping):
        condition = _build_condition(raw["condition_task"], f"{where}.condition_task", problems)
    elif raw.get("condition_task") is not None:
        problems.add(where, "condition_task must be a mapping with op, left and right.")
    if isinstance(raw.get("for_each_task"), Mapping):
        for_each = _build_for_each(raw["for_each_task"], f"{where}.for_each_task", base_dir, problems)
    elif raw.get("for_each_task") is not None:
        problems.add(where, "for_each_task must be a mapping with inputs and task.")

    description = raw.get("description")
    return Task(
        task_key=key or "",
        depends_on=tuple(depends_on),
        run_if=cast("RunIf", run_if),
        notebook=notebook,
        condition=condition,
        for_each=for_each,
        **kind_fields,  # type: ignore[arg-type]
        disabled=_boolean(raw, "disabled", where, problems),
        description=description if isinstance(description, str) else "",
        max_retries=_integer(raw, "max_retries", 0, where, problems),
        min_retry_interval_millis=_integer(raw, "min_retry_interval_millis", 0, where, problems),
        retry_on_timeout=_boolean(raw, "retry_on_timeout", where, problems),
        timeout_seconds=_integer(raw, "timeout_seconds", 0, where, problems),
    )


def _build_kind(
    raw: Mapping[Any, Any], kind: str, where: str, base_dir: Path, problems: _Problems
) -> dict[str, Any]:
    """Build the task kinds beyond notebook, condition and for-each; return the :class:`Task` fields to set."""
    body = raw.get(kind)
    if kind in ("", *_RUNNABLE_TYPES):
        return {}
    here = f"{where}.{kind}"
    if not isinstance(body, Mapping):
        problems.add(where, f"{kind} must be a mapping.")
        return {"workspace": WorkspaceTask(kind)}
    if kind in _SCRIPT_TYPES:
        problems.unknown_fields(body, _SCRIPT_FIELDS, here)
        written = body.get("python_file")
        if not isinstance(written, str) or not written.strip():
            problems.add(here, "python_file is missing; give the script's path relative to this file.")
            written = ""
        path = Path(os.path.normpath(base_dir / Path(written).expanduser())) if written else base_dir
        return {"script": ScriptTask(path, _argv(body, here, problems), written, kind)}
    if kind == "python_wheel_task":
        problems.unknown_fields(body, _WHEEL_FIELDS, here)
        names = []
        for field in ("package_name", "entry_point"):
            value = body.get(field)
            if not isinstance(value, str) or not value.strip():
                problems.add(here, f"{field} is missing; a wheel task names the package and its entry point.")
                value = ""
            names.append(value)
        named: dict[str, str] = {}
        given = body.get("named_parameters") or {}
        if not isinstance(given, Mapping):
            problems.add(here, "named_parameters must be a mapping of names to strings.")
            given = {}
        for name, value in given.items():
            text = _string(value, here, f"named_parameters.{name}", problems)
            if text is not None:
                named[str(name)] = text
        wheels: list[Path] = []
        for library in raw.get("libraries") or ():
            if isinstance(library, Mapping) and isinstance(library.get("whl"), str):
                pattern = library["whl"]
                found = (
                    sorted(glob.glob(str(base_dir / pattern))) if not os.path.isabs(pattern) else [pattern]
                )
                wheels.extend(Path(p) for p in found)
        return {"wheel": WheelTask(names[0], names[1], _argv(body, here, problems), named, tuple(wheels))}
    if kind == "run_job_task":
        job_id = body.get("job_id")
        if not isinstance(job_id, (str, int)) or isinstance(job_id, bool) or not str(job_id):
            problems.add(here, "job_id is missing; give the job to run: ${resources.jobs.<name>.id}.")
            job_id = ""
        match = _JOB_REF_RE.fullmatch(str(job_id))
        parameters: dict[str, str] = {}
        given = body.get("job_parameters") or {}
        if not isinstance(given, Mapping):
            problems.add(here, "job_parameters must be a mapping of parameter names to strings.")
            given = {}
        for name, value in given.items():
            text = _string(value, here, f"job_parameters.{name}", problems)
            if text is not None:
                parameters[str(name)] = text
        return {"run_job": RunJobTask(str(job_id), match.group(1) if match else None, parameters)}
    return {"workspace": WorkspaceTask(kind)}


def _argv(body: Mapping[Any, Any], where: str, problems: _Problems) -> tuple[str, ...]:
    given = body.get("parameters") or []
    if not isinstance(given, list):
        problems.add(where, "parameters must be a list of strings (the script's arguments).")
        return ()
    texts = [_string(v, where, f"parameters[{i}]", problems) for i, v in enumerate(given)]
    return tuple(t for t in texts if t is not None)


def _stub_values(value: Any, folder: Path, where: str, problems: _Problems) -> dict[str, Any] | None:
    """Read a job-file-side stub: a JSON object, or the path (relative to the job file) of a file holding one."""
    from ..tasks.stub import StubError, read_stub

    try:
        return read_stub(str(value), folder)
    except StubError as e:
        problems.add(where, str(e))
        return None


def _artifact_projects(root: Path) -> tuple[Path, ...]:
    """The folders of the bundle's ``artifacts`` (wheels built at run time), relative to ``databricks.yml``."""
    if root.suffix not in (".yml", ".yaml"):
        return ()
    try:
        document = read_document(root)
    except JobSpecError:
        return ()  # read_jobs already read this file; a failure here has been reported there
    artifacts = document.get("artifacts") if isinstance(document, Mapping) else None
    projects = []
    for artifact in (artifacts or {}).values() if isinstance(artifacts, Mapping) else ():
        if isinstance(artifact, Mapping) and artifact.get("type", "whl") == "whl":
            path = artifact.get("path", ".")
            if isinstance(path, str):
                projects.append(Path(os.path.normpath(root.parent / path)))
    return tuple(projects)


def _build_notebook(raw: Mapping[Any, Any], where: str, base_dir: Path, problems: _Problems) -> NotebookTask:
    problems.unknown_fields(raw, _NOTEBOOK_FIELDS, where)
    written = raw.get("notebook_path")
    if not isinstance(written, str) or not written.strip():
        problems.add(where, "notebook_path is missing; give the notebook's path relative to this file.")
        written = ""
    folder = raw.get(BASE_DIR, base_dir)
    path = find_notebook(written, folder) if written else folder
    parameters: dict[str, str] = {}
    given = raw.get("base_parameters") or {}
    if not isinstance(given, Mapping):
        problems.add(where, "base_parameters must be a mapping of parameter names to strings.")
        given = {}
    for name, value in given.items():
        text = _string(value, where, f"base_parameters.{name}", problems)
        if text is not None:
            parameters[str(name)] = text
    return NotebookTask(path=path, base_parameters=parameters, source_path=written)


def _build_condition(raw: Mapping[Any, Any], where: str, problems: _Problems) -> ConditionTask:
    problems.unknown_fields(raw, ("op", "left", "right"), where)
    operands = []
    for side in ("left", "right"):
        if side not in raw:
            problems.add(where, f"{side} is missing; a condition compares left and right.")
        operands.append(_string(raw.get(side, ""), where, side, problems) or "")
    op = raw.get("op")
    if not isinstance(op, str):
        problems.add(where, f"op must be one of {', '.join(CONDITION_OPS)}, not {op!r}.", check="op")
        op = "EQUAL_TO"
    return ConditionTask(op=cast("ConditionOp", op), left=operands[0], right=operands[1])


def _build_for_each(raw: Mapping[Any, Any], where: str, base_dir: Path, problems: _Problems) -> ForEachTask:
    problems.unknown_fields(raw, ("inputs", "concurrency", "task"), where)
    inputs = raw.get("inputs")
    if isinstance(inputs, list):
        inputs = json.dumps(inputs, separators=(",", ":"))
    elif not isinstance(inputs, str):
        problems.add(
            where,
            'inputs is missing or not a string; give a JSON array (\'["a", "b"]\') or a reference to one.',
            check="inputs",
        )
        inputs = "[]"
    nested_where = f"{where}.task"
    if "task" not in raw:
        problems.add(where, "task is missing; give the task to run for each input.")
        problems.done.update({(nested_where, "key"), (nested_where, "kind")})
    task = _build_task(raw.get("task", {}), nested_where, base_dir, problems, nested=True)
    return ForEachTask(inputs=inputs, task=task, concurrency=_integer(raw, "concurrency", 1, where, problems))


def _build_job(raw_job: RawJob, problems: _Problems) -> JobSpec:
    raw = raw_job.settings
    problems.unknown_fields(raw, _JOB_FIELDS, "")
    for problem in raw_job.problems:
        problems.add("", problem)
    name = raw.get("name", raw.get("run_name"))
    name = render(name) if isinstance(name, (str, int, float)) else raw_job.key
    tasks: list[Task] = []
    raw_tasks = raw.get("tasks")
    if not isinstance(raw_tasks, list) or not raw_tasks:
        problems.add("tasks", "the job has no tasks; give a list of tasks, each with a task_key.")
        raw_tasks = []
    for i, raw_task in enumerate(raw_tasks):
        tasks.append(_build_task(raw_task, f"tasks[{i}]", raw_job.file.parent, problems))
    parameters = []
    raw_parameters = raw.get("parameters") or []
    if not isinstance(raw_parameters, list):
        problems.add("parameters", "job parameters are a list of {name, default} mappings.")
        raw_parameters = []
    for i, item in enumerate(raw_parameters):
        where = f"parameters[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            problems.add(
                where,
                "a job parameter is a mapping with a name and a default: {name: env, default: dev}.",
                check="name",
            )
            parameters.append(JobParameter("", ""))  # keeps later parameters at their index
            continue
        where = f"{where} (name {item['name']!r})"
        problems.unknown_fields(item, ("name", "default"), where)
        if "default" not in item:
            problems.add(
                where, 'default is missing; every job parameter has one (use "" for an empty default).'
            )
        default = _string(item.get("default", ""), where, "default", problems)
        parameters.append(JobParameter(item["name"], default or ""))
    extension = raw.get("jupyter_taskvalues") or {}
    if not isinstance(extension, Mapping):
        problems.add("jupyter_taskvalues", "must be a mapping: {allow_missing_references: true}.")
        extension = {}
    problems.unknown_fields(extension, ("allow_missing_references",), "jupyter_taskvalues")
    tags = raw.get("tags")
    tagged = isinstance(tags, Mapping) and str(tags.get(_ALLOW_MISSING_TAG, "")).lower() in ("true", "1")
    allow_missing = _boolean(extension, "allow_missing_references", "jupyter_taskvalues", problems) or tagged
    tasks = _with_stubs_and_artifacts(tasks, tags, raw_job, problems)
    return JobSpec(
        name=name,
        tasks=tuple(tasks),
        parameters=tuple(parameters),
        job_id=raw_job.job_id,
        timeout_seconds=_integer(raw, "timeout_seconds", 0, "", problems),
        max_concurrent_runs=_integer(raw, "max_concurrent_runs", 1, "", problems),
        source=str(raw_job.root),
        allow_missing_references=allow_missing,
    )


def _with_stubs_and_artifacts(
    tasks: list[Task], tags: Any, raw_job: RawJob, problems: _Problems
) -> list[Task]:
    """Attach the job tags ``jupyter_taskvalues_stub_<task_key>`` and the bundle's artifacts to their tasks."""
    stubs: dict[str, dict[str, Any]] = {}
    if isinstance(tags, Mapping):
        keys = [t.task_key for t in tasks]
        for tag, value in tags.items():
            if isinstance(tag, str) and tag.startswith(_STUB_TAG):
                key = tag[len(_STUB_TAG) :]
                where = f"tags.{tag}"
                if key not in keys:
                    problems.add(
                        where, f"stubs task {key!r}, which the job does not have{did_you_mean(key, keys)}"
                    )
                    continue
                values = _stub_values(value, raw_job.file.parent, where, problems)
                if values is not None:
                    stubs[key] = values
    projects = None
    result = []
    for task in tasks:
        if task.wheel is not None and not task.wheel.wheels:
            projects = _artifact_projects(raw_job.root) if projects is None else projects
            task = dataclasses.replace(task, wheel=dataclasses.replace(task.wheel, projects=projects))  # noqa: PLW2901
        if task.task_key in stubs:
            task = dataclasses.replace(task, stub=stubs[task.task_key])  # noqa: PLW2901
        result.append(task)
    return result


# ------------------------------------------------------------------------------------------------- validation


# ---------------------------------------------------------------------------------------------------- loading


def list_jobs(
    path: str | Path,
    *,
    target: str | None = None,
    variables: Mapping[str, Any] | None = None,
    user: str | None = None,
) -> list[str]:
    """Return the keys of the jobs ``path`` defines (one for a Jobs API file, any number for a bundle).

    ``target``, ``variables`` and ``user`` are as for :func:`load_job`.
    """
    return [raw.key for raw in read_jobs(path, target=target, variables=variables, user=user)]


def _pick(raws: list[RawJob], job: str | None, path: str | Path) -> RawJob:
    def label(raw: RawJob) -> str:
        name = raw.settings.get("name")
        return f"{raw.key!r}" + (f" (name {name!r})" if isinstance(name, str) and name != raw.key else "")

    listing = ", ".join(label(raw) for raw in raws)
    if job is None:
        if len(raws) == 1:
            return raws[0]
        message = f"it defines {len(raws)} jobs: {listing}. Choose one with --job NAME."
    else:
        for raw in raws:
            if job in (raw.key, raw.settings.get("name"), raw.written_name):
                return raw
        message = f"it defines no job {job!r}; its jobs: {listing}.{did_you_mean(job, [r.key for r in raws])}"
    raise JobSpecError(f"Job file {str(path)!r}: {message}", problems=[message], path=str(path))


def load_job(
    path: str | Path,
    job: str | None = None,
    *,
    target: str | None = None,
    variables: Mapping[str, Any] | None = None,
    user: str | None = None,
) -> JobSpec:
    """Load and validate the job defined in ``path``.

    Parameters
    ----------
    path
        Jobs API JSON or YAML (bare settings or a ``databricks jobs get`` export), or an Asset Bundle's
        ``databricks.yml`` (or the directory holding it).
    job
        Which job of a bundle defining several: its ``resources.jobs`` key or its ``name``.
    target
        The bundle target to apply (``--target``; default: ``default_target``, the one marked
        ``default: true``, or the only one). Recorded as :attr:`JobSpec.target`.
    variables
        Values for bundle variables (``--var name=value``), beating ``BUNDLE_VAR_<name>``, the target's and
        the defaults. The resolved values are :attr:`JobSpec.variables`.
    user
        The local identity for ``${workspace.current_user.*}`` and the workspace paths (``--user``;
        default ``$JUPYTER_TASKVALUES_USER``, else the OS user).

    Raises
    ------
    JobSpecError
        The file cannot be read, holds several jobs and ``job`` does not pick one, or the job is invalid:
        ``problems`` lists every problem, each with its location.
    """
    raws = read_jobs(path, target=target, variables=variables, user=user)
    chosen = _pick(raws, job, path)
    problems = _Problems()
    spec = _build_job(chosen, problems)
    siblings: dict[str, str] = {}
    for raw in raws:
        for alias in (raw.job_id, raw.settings.get("name"), raw.key):
            if isinstance(alias, str) and alias:
                siblings[alias] = raw.key
    warnings = (
        *chosen.warnings,  # databricks-bundles' own, from the bundle's Python code
        *_located(chosen, sorted(problems.warnings, key=lambda w: task_order(w[0]))),
    )
    spec = dataclasses.replace(
        spec,
        bundle_jobs=siblings,
        target=chosen.target,
        variables=chosen.variables,
        user=chosen.user,
        warnings=warnings,
    )
    _run_job_problems(spec, chosen.key, raws, problems)
    all_problems = sorted(problems.items + model_problems(spec, problems.done), key=task_order)
    if all_problems:
        defined = "" if chosen.file == chosen.root else str(chosen.file)
        raise spec_error(str(chosen.root), spec.name, all_problems, defined, warnings)
    return spec


def _run_job_edges(raws: list[RawJob], aliases: Mapping[str, str]) -> dict[str, set[str]]:
    """Which bundle jobs each job starts through ``run_job_task: {job_id: ${resources.jobs.<key>.id}}``
    (or a job id already resolved: ``aliases`` maps ids and names to job keys)."""
    edges: dict[str, set[str]] = {}
    for raw in raws:
        tasks = raw.settings.get("tasks")
        for task in tasks if isinstance(tasks, list) else ():
            body = task.get("run_job_task") if isinstance(task, Mapping) else None
            job_id = str(body.get("job_id")) if isinstance(body, Mapping) else ""
            match = _JOB_REF_RE.fullmatch(job_id)
            target = match.group(1) if match else aliases.get(job_id)
            if target:
                edges.setdefault(raw.key, set()).add(target)
    return edges


def _job_path(edges: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The shortest chain of run_job edges from ``start`` to ``goal`` (both included), or ``None``."""
    came_from: dict[str, str | None] = {start: None}
    queue = [start]
    while queue:
        current = queue.pop(0)
        if current == goal:
            path = [current]
            while (previous := came_from[path[-1]]) is not None:
                path.append(previous)
            return path[::-1]
        for nxt in sorted(edges.get(current, ())):
            if nxt not in came_from:
                came_from[nxt] = current
                queue.append(nxt)
    return None


def _run_job_problems(spec: JobSpec, key: str, raws: list[RawJob], problems: _Problems) -> None:
    """A ``run_job_task`` naming a bundle job that does not exist, or starting a chain that comes back."""
    keys = [raw.key for raw in raws]
    edges = _run_job_edges(raws, spec.bundle_jobs)
    for i, task in enumerate(spec.tasks):
        run_job = task.run_job
        child = (run_job.job_key or spec.bundle_jobs.get(run_job.job_id)) if run_job is not None else None
        if child is None:
            continue
        where = f"{task_where(f'tasks[{i}]', task.task_key)}.run_job_task"
        if child not in keys:
            problems.add(
                where,
                f"job_id names job {child!r}, which this bundle does not define{did_you_mean(child, keys)}"
                f" (its jobs: {', '.join(keys)}).",
            )
            continue
        path = _job_path(edges, child, key)
        if path is not None:
            problems.add(
                where,
                f"run_job cycle {' -> '.join([key, *path])}: the runs would start each other forever; remove one "
                "run_job_task of the cycle.",
            )


# ------------------------------------------------------------------------------------------------- parameters


def parse_param_overrides(items: Sequence[str]) -> dict[str, str]:
    """Parse ``--param KEY=VALUE`` items (split at the first ``=``; a later item for a key wins).

    Raises
    ------
    JobSpecError
        An item has no ``=`` or an empty key.
    """
    overrides: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            message = f"--param {item!r} is not KEY=VALUE; write it as --param {key.strip() or 'name'}=value."
            raise JobSpecError(message, problems=[message])
        overrides[key.strip()] = value
    return overrides


def merge_parameters(spec: JobSpec, overrides: Mapping[str, str]) -> dict[str, str]:
    """Return the job parameters: each default, replaced by its override when given.

    Values are returned as written: references in defaults (``{{job.start_time.iso_date}}``) are left for the
    runner to resolve.

    Raises
    ------
    JobSpecError
        An override names a parameter the job does not define (Databricks refuses those too).
    """
    merged = spec.parameter_defaults()
    unknown = [name for name in overrides if name not in merged]
    if unknown:
        known = ", ".join(repr(n) for n in merged) or "none"
        hint = did_you_mean(unknown[0], merged)
        message = (
            f"Job {spec.name!r} has no parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(n) for n in unknown)} (its parameters: {known}){hint}. "
            "Add it to the job's parameters, or drop the override."
        )
        raise JobSpecError(message, problems=[message], path=spec.source)
    merged.update({name: str(value) for name, value in overrides.items()})
    return merged


def _close_matches(word: str, choices: list[str], n: int, cutoff: float) -> list[str]:
    import difflib  # only a mistake needs it

    return difflib.get_close_matches(word, choices, n=n, cutoff=cutoff)
