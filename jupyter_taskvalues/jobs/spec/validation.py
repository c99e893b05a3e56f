"""Check a built :class:`~.model.JobSpec` as a whole, before anything runs.

:func:`job_problems` returns every problem with its location; :func:`validate_job` raises them all at once
as one :class:`~jupyter_taskvalues.exceptions.JobSpecError`. The loader (:mod:`.spec`) adds the problems only
the raw file shows (unknown fields, wrong types, unsupported task types) and skips the checks it already
reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any, Final

from ...exceptions import JobSpecError
from ...references import check_reference, find_references, format_reference
from ...suggestions import close_matches, did_you_mean
from ..model import RUN_IF_CONDITIONS, ConditionTask, JobSpec, NotebookTask, ScriptTask, Task

__all__ = ["CONDITION_OPS", "NOTEBOOK_SUFFIXES", "did_you_mean", "job_problems", "validate_job"]

#: Tried in this order when a notebook path has no notebook suffix.
NOTEBOOK_SUFFIXES: Final = (".ipynb", ".py", ".md", ".Rmd", ".qmd", ".myst", ".mystnb")
CONDITION_OPS: Final = (
    "EQUAL_TO",
    "NOT_EQUAL",
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL",
    "LESS_THAN",
    "LESS_THAN_OR_EQUAL",
)
_NUMERIC_OPS: Final = CONDITION_OPS[2:]
_MAX_TASK_KEY: Final = 100
_MAX_CONCURRENCY: Final = 100
_TASK_KEY_RE: Final = re.compile(r"[\w-]+", re.ASCII)
_WORKSPACE_PREFIXES: Final = ("/Workspace/", "/Users/", "/Repos/", "/Shared/", "/Volumes/")


def task_where(prefix: str, task_key: str) -> str:
    """Return a task's location as problems show it: ``tasks[2] (task_key 'train')``."""
    return f"{prefix} (task_key {task_key!r})" if task_key else prefix


def _all_tasks(spec: JobSpec) -> Iterator[tuple[str, Task, Task | None]]:
    """Yield (location, task, enclosing for-each task or None) for every task, nested ones included."""
    for i, task in enumerate(spec.tasks):
        where = task_where(f"tasks[{i}]", task.task_key)
        yield where, task, None
        if task.for_each is not None:
            yield (
                task_where(f"{where}.for_each_task.task", task.for_each.task.task_key),
                task.for_each.task,
                task,
            )


def _ancestors(spec: JobSpec) -> dict[str, set[str]]:
    """Return, for every task key, the keys it depends on directly or indirectly (cycles tolerated)."""
    direct = {t.task_key: {d.task_key for d in t.depends_on} for t in spec.tasks}
    result: dict[str, set[str]] = {}
    for key, parents in direct.items():
        seen: set[str] = set()
        stack = list(parents)
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(direct.get(current, ()))
        result[key] = seen
    return result


def _cycles(spec: JobSpec) -> list[list[str]]:
    """Return each dependency cycle once, as the path ``[a, b, a]``, from its first task in the file."""
    order = {t.task_key: i for i, t in enumerate(spec.tasks)}
    edges = {t.task_key: [d.task_key for d in t.depends_on if d.task_key in order] for t in spec.tasks}
    found: dict[tuple[str, ...], list[str]] = {}
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for start, targets in edges.items():
        if state.get(start):
            continue
        path: list[str] = [start]
        iterators = [iter(targets)]
        state[start] = 1
        while iterators:
            nxt = next(iterators[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iterators.pop()
            elif state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                first = min(range(len(cycle)), key=lambda i: order[cycle[i]])
                rotated = cycle[first:] + cycle[:first]
                found.setdefault(tuple(rotated), [*rotated, rotated[0]])
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iterators.append(iter(edges[nxt]))
    return list(found.values())


def _notebook_problem(notebook: NotebookTask) -> str | None:
    if notebook.path.is_file() or not notebook.source_path:
        return None
    written = notebook.source_path
    if written.startswith(_WORKSPACE_PREFIXES) or written.startswith("${workspace"):
        return (
            f"notebook {written!r} is a Databricks workspace path, which does not exist on this machine. "
            "Export the notebook next to the job file and give its path relative to the file."
        )
    tried = (
        "" if notebook.path.suffix in NOTEBOOK_SUFFIXES else f" (also tried {', '.join(NOTEBOOK_SUFFIXES)})"
    )
    return f"notebook {written!r} not found: {str(notebook.path)!r} does not exist{tried}."


def _script_problem(script: ScriptTask) -> str | None:
    if script.path.is_file() or not script.source_path:
        return None
    written = script.source_path
    if written.startswith(_WORKSPACE_PREFIXES) or written.startswith("${workspace"):
        return (
            f"python_file {written!r} is a Databricks workspace path, which does not exist on this machine. "
            "Put the script next to the job file and give its path relative to the file."
        )
    return f"python_file {written!r} not found: {str(script.path)!r} does not exist."


def _reference_problems(
    template: str,
    where: str,
    *,
    spec_keys: Collection[str],
    parameter_names: Collection[str],
    in_for_each: bool,
    reader: str | None,
    upstream: Collection[str],
) -> Iterator[str]:
    for ref in find_references(template):
        problem = check_reference(
            ref, task_keys=spec_keys, parameter_names=parameter_names, in_for_each=in_for_each
        )
        if problem is not None:
            yield f"{where}: {problem}" + ("" if problem.endswith(("?", ".")) else ".")
        elif ref.path[0] == "tasks":
            shown = format_reference(ref.path)
            if reader is None:
                yield (
                    f"{where}: {shown} reads a task, but job parameters are set before any task runs; "
                    "put the reference in the base_parameters of the task that needs it."
                )
            elif ref.path[1] not in upstream:
                yield (
                    f"{where}: task {reader!r} reads {shown} but does not depend on {ref.path[1]!r} "
                    f"(directly or indirectly); add it to depends_on."
                )


def job_problems(spec: JobSpec) -> list[str]:
    """Return every problem of ``spec``, each prefixed with its location; an empty list when it is valid.

    Checks task keys (present, ``^[\\w-]+$``, at most 100 characters, unique), dependencies (known, no cycles,
    ``outcome`` only on a condition task, ``"true"``/``"false"``), ``run_if``, task types, condition ``op``
    and numeric operands, for-each (not nested, concurrency 1..100, ``inputs`` a JSON array or a reference),
    retries and timeouts, that notebooks exist, and every ``{{...}}`` reference.
    """
    return sorted(model_problems(spec, set()), key=task_order)


def model_problems(spec: JobSpec, done: set[tuple[str, str]]) -> list[str]:
    """Return the problems of ``spec``, skipping each (location, check) in ``done`` (already reported)."""
    problems: list[str] = []

    def add(where: str, message: str, check: str = "") -> None:
        if not check or (where, check) not in done:
            problems.append(f"{where}: {message}" if where else message)

    everything = list(_all_tasks(spec))
    keys = [task.task_key for _, task, _ in everything if task.task_key]
    top_keys = {task.task_key for task in spec.tasks}
    kinds = {task.task_key: task.kind for _, task, _ in everything}
    first_at: dict[str, str] = {}
    for where, task, parent in everything:
        key = task.task_key
        prefix = where.split(" (task_key", 1)[0]
        if not key:
            add(prefix, "task_key is missing; give every task a unique task_key.", "key")
        elif not _TASK_KEY_RE.fullmatch(key) or len(key) > _MAX_TASK_KEY:
            add(
                where,
                f"task_key {key[:120]!r} is invalid: use at most {_MAX_TASK_KEY} letters, digits, "
                "'_' or '-'.",
                "key",
            )
        if key and key in first_at:
            add(where, f"task_key {key!r} is also used by {first_at[key]}; task keys must be unique.")
        elif key:
            first_at[key] = where.split(" (task_key", 1)[0]

        set_kinds = [k for k, v in (("notebook", task.notebook), ("condition", task.condition),
                                    ("for_each", task.for_each), ("script", task.script),
                                    ("wheel", task.wheel), ("run_job", task.run_job),
                                    ("workspace", task.workspace)) if v is not None]  # fmt: skip
        if not set_kinds:
            add(
                where,
                "it has no task type; give it a notebook_task, condition_task or for_each_task.",
                "kind",
            )
        elif len(set_kinds) > 1:
            add(
                where, f"it has {' and '.join(set_kinds)} tasks at once; a task has exactly one type.", "kind"
            )

        if parent is not None and task.depends_on:
            add(
                where,
                "the task a for-each task runs cannot have depends_on; put the dependencies on "
                f"{parent.task_key!r}.",
            )
        for i, dep in enumerate(task.depends_on):
            dep_where = f"{where}.depends_on[{i}]"
            if dep.task_key not in top_keys:
                add(dep_where, f"unknown task {dep.task_key!r}{did_you_mean(dep.task_key, top_keys)}")
            elif dep.task_key == key:
                add(dep_where, f"task {key!r} depends on itself; remove this dependency.")
            if dep.outcome is not None:
                if dep.task_key in kinds and kinds[dep.task_key] != "condition":
                    add(
                        dep_where,
                        f"outcome is set, but {dep.task_key!r} is a {kinds[dep.task_key]} task; outcome "
                        "picks a branch of a condition task only. Remove it.",
                    )
                elif dep.outcome not in ("true", "false"):
                    add(dep_where, f'outcome must be "true" or "false", not {dep.outcome!r}.')

        if task.run_if not in RUN_IF_CONDITIONS:
            add(
                where,
                f"run_if {task.run_if!r} is not one of {', '.join(RUN_IF_CONDITIONS)}"
                f"{did_you_mean(str(task.run_if), RUN_IF_CONDITIONS)}",
                "run_if",
            )
        if task.max_retries < -1:
            add(where, f"max_retries is {task.max_retries}; use -1 (retry forever), 0 or more.")
        for field in ("min_retry_interval_millis", "timeout_seconds"):
            if getattr(task, field) < 0:
                add(where, f"{field} is {getattr(task, field)}; it cannot be negative (0 means none).")

        if task.notebook is not None:
            problem = _notebook_problem(task.notebook)
            if problem:
                add(f"{where}.notebook_task", problem)
        if task.script is not None:
            problem = _script_problem(task.script)
            if problem:
                add(f"{where}.{task.script.type_name}", problem)
        if task.condition is not None:
            _condition_problems(task.condition, f"{where}.condition_task", add)
        if task.for_each is not None:
            fe_where = f"{where}.for_each_task"
            if parent is not None:
                add(
                    where,
                    "a for-each task cannot run another for-each task; flatten the inputs into one list.",
                )
            if not 1 <= task.for_each.concurrency <= _MAX_CONCURRENCY:
                add(fe_where, f"concurrency is {task.for_each.concurrency}; use 1 to {_MAX_CONCURRENCY}.")
            if not find_references(task.for_each.inputs):
                try:
                    parsed = json.loads(task.for_each.inputs)
                except (ValueError, RecursionError) as e:
                    parsed = e
                if not isinstance(parsed, list):
                    add(
                        fe_where,
                        f"inputs {task.for_each.inputs[:80]!r} is not a JSON array; give one, such as "
                        '\'["a", "b"]\', or a reference to a task value that is a list.',
                        "inputs",
                    )

    if spec.timeout_seconds < 0:
        add("timeout_seconds", f"is {spec.timeout_seconds}; it cannot be negative (0 means none).")
    names = [p.name for p in spec.parameters]
    for i, name in enumerate(names):
        if not name:
            add(f"parameters[{i}]", "a job parameter needs a name.", "name")
    for name in {n for n in names if names.count(n) > 1}:
        add("parameters", f"job parameter {name!r} is defined {names.count(name)} times; define it once.")
    for cycle in _cycles(spec):
        add("tasks", f"dependency cycle {' -> '.join(cycle)}; remove one of these dependencies.")
    problems.extend(_all_reference_problems(spec, everything, keys, names))
    return problems


def _condition_problems(condition: ConditionTask, where: str, add: Callable[..., None]) -> None:
    if condition.op not in CONDITION_OPS:
        add(where, f"op {condition.op!r} is not one of {', '.join(CONDITION_OPS)}"
                   f"{did_you_mean(str(condition.op), CONDITION_OPS)}", "op")  # fmt: skip
        return
    if condition.op in _NUMERIC_OPS:
        for side, operand in (("left", condition.left), ("right", condition.right)):
            if not find_references(operand):
                try:
                    float(operand)
                except ValueError:
                    add(where, f"{side} {operand!r} is not a number, and {condition.op} compares numbers.")


def _all_reference_problems(
    spec: JobSpec, everything: list[tuple[str, Task, Task | None]], keys: list[str], names: list[str]
) -> Iterator[str]:
    ancestors = _ancestors(spec)
    for where, task, parent in everything:
        owner = parent if parent is not None else task
        common: dict[str, Any] = {
            "spec_keys": keys,
            "parameter_names": names,
            "in_for_each": parent is not None,
            "reader": task.task_key,
            "upstream": ancestors.get(owner.task_key, set()),
        }
        if task.notebook is not None:
            for name, value in task.notebook.base_parameters.items():
                yield from _reference_problems(
                    value, f"{where}.notebook_task.base_parameters.{name}", **common
                )
        if task.condition is not None:
            yield from _reference_problems(task.condition.left, f"{where}.condition_task.left", **common)
            yield from _reference_problems(task.condition.right, f"{where}.condition_task.right", **common)
        if task.for_each is not None:
            yield from _reference_problems(
                task.for_each.inputs, f"{where}.for_each_task.inputs", **{**common, "in_for_each": False}
            )
    for i, parameter in enumerate(spec.parameters):
        yield from _reference_problems(
            parameter.default,
            f"parameters[{i}] (name {parameter.name!r}).default",
            spec_keys=keys,
            parameter_names=names,
            in_for_each=False,
            reader=None,
            upstream=(),
        )


def spec_error(
    source: str, name: str | None, problems: list[str], defined_in: str = "", warnings: Sequence[str] = ()
) -> JobSpecError:
    """Return the :class:`JobSpecError` listing ``problems`` of job ``name`` loaded from ``source``.

    ``warnings`` (unknown fields ignored) follow the problems in the message, since a field ignored may be why
    another is missing; the error keeps them as its ``warnings`` field.
    """
    count = "this problem" if len(problems) == 1 else f"these {len(problems)} problems"
    job = f" (job {name!r}" + (f", defined in {defined_in!r})" if defined_in else ")") if name else ""
    lines = "\n".join(f"  - {p}" for p in problems)
    if warnings:
        shown = "\n".join(f"  - {w}" for w in warnings)
        lines += f"\n{'A warning' if len(warnings) == 1 else 'Warnings'}:\n{shown}"
    return JobSpecError(
        f"Job file {source!r}{job} is invalid; fix {count} before it can run:\n{lines}",
        problems=list(problems),
        path=source,
        warnings=list(warnings),
    )


def task_order(problem: str) -> int:
    """Sort key keeping job-level problems first, then each task's problems in file order."""
    match = re.match(r"tasks\[(\d+)\]", problem)
    return int(match.group(1)) + 1 if match else 0


def validate_job(spec: JobSpec) -> None:
    """Raise :class:`JobSpecError` listing every problem of ``spec`` (see :func:`job_problems`), if any."""
    problems = job_problems(spec)
    if problems:
        raise spec_error(spec.source or "<in memory>", spec.name, problems)


def _close_matches(word: str, choices: list[str], n: int, cutoff: float) -> list[str]:
    return close_matches(word, choices, n=n, cutoff=cutoff)
