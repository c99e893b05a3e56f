"""Dynamic value references: find, check and resolve ``{{...}}`` in job configuration strings.

A reference is plain string substitution, as on Databricks (SPEC §3): it is never evaluated as an expression,
and a substituted value is never scanned again for references. The grammar::

    reference   = "{{" spaces path spaces "}}"
    path        = identifier ("." identifier)*
    identifier  = [A-Za-z0-9_]+  |  "`" any characters but a back-tick "`"

Anything else (a missing brace, an empty ``{{ }}``, a character outside the identifier rules, spaces around a
dot) is a syntax error and stays in the text as a literal, exactly as written.

The known namespaces and their names::

    job.id  job.name  job.run_id  job.repair_count  job.parameters.<name>
    job.start_time.<part>  job.trigger.time.<part>  job.trigger.type  job.trigger.file_arrival.location
    task.name  task.run_id  task.execution_count  task.notebook_path
    tasks.<task>.values.<key>  tasks.<task>.result_state  tasks.<task>.error_code  tasks.<task>.run_id
    tasks.<task>.execution_count  tasks.<task>.notebook_path
    input  input.<field>[.<field>...]
    workspace.id  workspace.url
    legacy: job_id  run_id (the task run)  parent_run_id (the job run)  task_key  start_date  start_time
            task_retry_count (0 on the first attempt)

``<part>`` is one of :data:`TIME_PARTS`, computed in UTC. ``iso_datetime`` is ``YYYY-MM-DDTHH:MM:SS.mmm``
(milliseconds, no offset); ``year``... ``second`` are plain integers (``5``, not ``05``).

A well-formed reference whose first identifier is none of these (``{{foo}}``, ``{{my.value}}``,
``{{secrets.scope}}``) is **left as literal text**, as Databricks does, because templates written for other
tools (Jinja, Mustache) often pass through job parameters. The one exception (**ours**): a first identifier
that is a near miss of a known one (``{{jobs.id}}``, ``{{taks.a.values.b}}``, ``{{imput}}``) is reported by
:func:`check_reference` as a probable typo, with the name it probably meant.

A reference to a task value that was never set is an error (:class:`ReferenceResolutionError`, naming the
task, the key and the reference) unless the resolution context allows missing values, in which case the
reference stays in the text as written.

This module is pure: no I/O; every lookup goes through the :class:`ResolutionContext` it is given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .exceptions import (
    InvalidKeyError,
    ReferenceResolutionError,
    TaskNotFoundError,
    ValueNotFoundError,
)
from .suggestions import close_matches
from .values import check_key

__all__ = [
    "LEGACY_NAMES",
    "NO_INPUT",
    "TASK_FIELDS",
    "TIME_PARTS",
    "Reference",
    "ResolutionContext",
    "check_reference",
    "find_references",
    "format_reference",
    "render",
    "resolve",
    "resolve_json",
]

#: The parts of ``{{job.start_time.<part>}}`` and ``{{job.trigger.time.<part>}}``.
TIME_PARTS: Final = (
    "iso_date",
    "iso_datetime",
    "iso_weekday",
    "is_weekday",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "timestamp_ms",
)
#: The legacy single-name references, still accepted by Databricks.
LEGACY_NAMES: Final = (
    "job_id",
    "run_id",
    "parent_run_id",
    "task_key",
    "start_date",
    "start_time",
    "task_retry_count",
)
#: What ``{{tasks.<task>.<field>}}`` may name besides ``values.<key>``; read through ``task_info``.
TASK_FIELDS: Final = ("result_state", "error_code", "run_id", "execution_count", "notebook_path")

_JOB_FIELDS: Final = ("id", "name", "run_id", "repair_count")
_CURRENT_TASK_FIELDS: Final = ("name", "run_id", "execution_count", "notebook_path")
_WORKSPACE_FIELDS: Final = ("id", "url")
_NAMESPACES: Final = ("job", "task", "tasks", "input", "workspace")
_TOP_LEVEL: Final = _NAMESPACES + LEGACY_NAMES

_IDENT = r"(?:[A-Za-z0-9_]+|`[^`]+`)"
_REFERENCE_RE: Final = re.compile(r"\{\{[ \t\r\n]*(" + _IDENT + r"(?:\." + _IDENT + r")*)[ \t\r\n]*\}\}")
_IDENT_RE: Final = re.compile(_IDENT)
_PLAIN_RE: Final = re.compile(r"[A-Za-z0-9_]+")


class _NoInput:
    """The type of :data:`NO_INPUT`."""

    _instance: _NoInput | None = None

    def __new__(cls) -> _NoInput:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_INPUT"

    def __reduce__(self) -> str:
        return "NO_INPUT"


#: ``ResolutionContext.for_each_input`` when the task is not an iteration of a for-each task.
NO_INPUT: Final = _NoInput()


@dataclass(frozen=True)
class Reference:
    """One well-formed ``{{...}}`` reference found in a template.

    Attributes
    ----------
    text
        The whole reference as written, braces and spaces included.
    path
        Its identifiers, back-ticks removed: ``("tasks", "my-task", "values", "my-key")``.
    start, end
        Its span in the template: ``template[start:end] == text``.
    """

    text: str
    path: tuple[str, ...]
    start: int
    end: int

    @property
    def namespace(self) -> str:
        """The first identifier (``"job"``, ``"tasks"``, ``"input"``...)."""
        return self.path[0]


def format_reference(path: tuple[str, ...] | list[str]) -> str:
    """Write ``path`` as a reference, back-ticking identifiers outside ``[A-Za-z0-9_]``.

    >>> format_reference(("tasks", "my-task", "values", "rows"))
    '{{tasks.`my-task`.values.rows}}'
    """
    return "{{" + ".".join(p if _PLAIN_RE.fullmatch(p) else f"`{p}`" for p in path) + "}}"


def find_references(template: str) -> list[Reference]:
    """Return the well-formed references in ``template``, in order.

    Malformed ones (``{{job.id}``, ``{{ }}``, ``{{job..id}}``, ``{{a b}}``) are not references; they stay
    literal text.

    >>> [r.path for r in find_references("run {{ job.run_id }} of {{tasks.`a-b`.values.n}}")]
    [('job', 'run_id'), ('tasks', 'a-b', 'values', 'n')]
    """
    references = []
    for match in _REFERENCE_RE.finditer(template):
        path = tuple(
            ident[1:-1] if ident.startswith("`") else ident for ident in _IDENT_RE.findall(match.group(1))
        )
        references.append(Reference(match.group(0), path, match.start(), match.end()))
    return references


# --------------------------------------------------------------------------------------------------- checking


def _suggest(wrong: tuple[str, ...], candidates: list[tuple[str, ...]]) -> str:
    """Return ``"; did you mean {{...}}?"`` for the candidate closest to ``wrong``, or ``""``."""
    by_text = {".".join(c): c for c in candidates}
    close = close_matches(".".join(wrong), by_text, n=1)
    return f"; did you mean {format_reference(by_text[close[0]])}?" if close else ""


def _names(names: Collection[str]) -> str:
    return ", ".join(repr(n) for n in sorted(names)) if names else "none"


def _known_paths(task_keys: Collection[str], parameter_names: Collection[str]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = [("job", f) for f in _JOB_FIELDS]
    paths += [("job", "parameters", p) for p in parameter_names]
    paths += [("job", "start_time", p) for p in TIME_PARTS]
    paths += [("job", "trigger", "time", p) for p in TIME_PARTS]
    paths += [("job", "trigger", "type"), ("job", "trigger", "file_arrival", "location")]
    paths += [("task", f) for f in _CURRENT_TASK_FIELDS]
    paths += [("workspace", f) for f in _WORKSPACE_FIELDS]
    paths += [("input",)] + [(name,) for name in LEGACY_NAMES]
    return paths


def check_reference(
    ref: Reference,
    *,
    task_keys: Collection[str],
    parameter_names: Collection[str],
    in_for_each: bool,
) -> str | None:
    """Return what is wrong with ``ref``, or None when it names something that exists.

    Parameters
    ----------
    ref
        A reference from :func:`find_references`.
    task_keys
        Every task key of the job (nested for-each tasks included).
    parameter_names
        The job parameters' names.
    in_for_each
        Whether the reference is in the task a for-each task runs per element (where ``{{input}}`` exists).

    Returns
    -------
    str or None
        A sentence naming the reference and the fix (``"{{job.naem}} is not a known reference; did you mean
        {{job.name}}?"``). A reference outside every known namespace is literal text and returns None, unless
        its first name is a near miss of a known one.
    """
    path = ref.path
    head = path[0]
    shown = format_reference(path)
    known = _known_paths(task_keys, parameter_names)
    if head not in _TOP_LEVEL:
        close = close_matches(head, _TOP_LEVEL, n=1, cutoff=0.75)
        if not close:
            return None  # not ours: literal text, as on Databricks
        return (
            f"{shown} is not a known reference ({head!r} is not a namespace); "
            f"did you mean {format_reference((close[0], *path[1:]))}?"
        )
    if head in LEGACY_NAMES:
        if len(path) == 1:
            return None
        return f"{shown} is not a known reference: {{{{{head}}}}} has no fields{_suggest(path, known)}"
    if head == "input":
        if not in_for_each:
            return (
                f"{shown} is only defined in the task that a for-each task runs for each input; "
                "move it into for_each_task.task"
            )
        return None
    if head == "tasks":
        return _check_tasks(path, shown, task_keys)
    if head == "job":
        if len(path) == 3 and path[1] == "parameters":
            if path[2] in parameter_names:
                return None
            return (
                f"{shown} names job parameter {path[2]!r}, which the job does not define "
                f"(its parameters: {_names(parameter_names)}); add it to the job's parameters"
                f"{_suggest(path, known)}"
            )
        if len(path) == 3 and path[1] == "start_time" and path[2] not in TIME_PARTS:
            return (
                f"{shown}: {path[2]!r} is not a part of a time; use one of {', '.join(TIME_PARTS)}"
                f"{_suggest(path, known)}"
            )
    if path in known:
        return None
    return f"{shown} is not a known reference{_suggest(path, known)}"


def _check_tasks(path: tuple[str, ...], shown: str, task_keys: Collection[str]) -> str | None:
    if len(path) < 3:
        return (
            f"{shown} is incomplete; write {{{{tasks.<task>.values.<key>}}}} or "
            f"{{{{tasks.<task>.<field>}}}} with a field among {', '.join(TASK_FIELDS)}"
        )
    task = path[1]
    if task not in task_keys:
        close = close_matches(task, task_keys, n=1)
        hint = f"; did you mean {format_reference(('tasks', close[0], *path[2:]))}?" if close else ""
        return (
            f"{shown} names task {task!r}, which is not a task of this job (tasks: {_names(task_keys)}){hint}"
        )
    if path[2] == "values":
        if len(path) != 4:
            expected = format_reference(("tasks", task, "values"))[:-2] + ".<key>}}"
            return f"{shown} is not a task value reference; write {expected}"
        try:
            check_key(path[3])
        except InvalidKeyError as e:
            return f"{shown} names a key no task can set: {e}"
        return None
    if path[2] == "output":
        return f"{shown}: task outputs exist only for SQL tasks, which do not run locally"
    if len(path) == 3 and path[2] in TASK_FIELDS:
        return None
    candidates = [("tasks", task, f) for f in TASK_FIELDS] + [("tasks", task, "values", *path[3:4])]
    return (
        f"{shown} is not a known reference; a task has values.<key>, {', '.join(TASK_FIELDS)}"
        f"{_suggest(path, candidates)}"
    )


# -------------------------------------------------------------------------------------------------- rendering


def render(value: Any) -> str:
    """Return ``value`` as it reads when substituted for a reference.

    Strings unquoted; ``True``/``False`` as ``true``/``false``; None as ``null``; numbers, lists and dicts as
    compact JSON (non-finite floats, which are not JSON, as ``NaN``/``Infinity``/``-Infinity``).

    >>> render("a b"), render(True), render(None), render(2.5), render([1, "x", {"k": False}])
    ('a b', 'true', 'null', '2.5', '[1,"x",{"k":false}]')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return str(value)


# ------------------------------------------------------------------------------------------------- resolution


def _no_task_value(task_key: str, key: str) -> Any:
    raise ValueNotFoundError(f"No task values are available here (task {task_key!r}, key {key!r}).")


def _no_task_info(task_key: str, name: str) -> Any:
    raise TaskNotFoundError(f"No task run information is available here (task {task_key!r}, {name}).")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(kw_only=True)
class ResolutionContext:
    """Everything resolving a reference for one task run may need.

    Attributes
    ----------
    job_id, job_name, run_id, repair_count
        ``{{job.id}}``, ``{{job.name}}``, ``{{job.run_id}}`` (also legacy ``{{parent_run_id}}``),
        ``{{job.repair_count}}``.
    job_parameters
        ``{{job.parameters.<name>}}``: the defaults merged with the run's overrides.
    start_time, trigger_time
        The job run's start and trigger time (naive datetimes are taken as UTC). ``trigger_time`` defaults to
        ``start_time``.
    trigger_type
        ``{{job.trigger.type}}``, Databricks' ``TriggerType`` name: ``ONE_TIME`` for a run started by hand,
        ``RETRY`` for a repair.
    file_arrival_location
        ``{{job.trigger.file_arrival.location}}``; empty, as no file arrival triggers a local run.
    task_name, task_run_id, execution_count, notebook_path
        ``{{task.name}}``, ``{{task.run_id}}`` (also legacy ``{{run_id}}``), ``{{task.execution_count}}``
        (1 on the first attempt; legacy ``{{task_retry_count}}`` is one less), ``{{task.notebook_path}}``.
    for_each_input
        The current element for ``{{input}}``; :data:`NO_INPUT` outside a for-each iteration.
    task_value
        ``task_value(task_key, key)`` returns a value a task set in this run; it raises
        :class:`ValueNotFoundError` (or :class:`TaskNotFoundError`) when there is none.
    task_info
        ``task_info(task_key, name)`` returns a field of an upstream task run: one of :data:`TASK_FIELDS`.
        ``result_state`` is rendered in lower case, None as an empty string. It raises
        :class:`TaskNotFoundError` or :class:`ValueNotFoundError` when the task has not run.
    allow_missing
        Leave a reference to a task value that was never set as literal text instead of raising.
    workspace_id, workspace_url
        ``{{workspace.id}}`` and ``{{workspace.url}}`` (no workspace locally: ``0`` and ``http://localhost``).
    """

    job_id: str = ""
    job_name: str = ""
    run_id: str = ""
    repair_count: int = 0
    job_parameters: Mapping[str, str] = field(default_factory=dict)
    start_time: dt.datetime = field(default_factory=_utcnow)
    trigger_time: dt.datetime | None = None
    trigger_type: str = "ONE_TIME"
    file_arrival_location: str = ""
    task_name: str = ""
    task_run_id: str = ""
    execution_count: int = 1
    notebook_path: str = ""
    for_each_input: Any = NO_INPUT
    task_value: Callable[[str, str], Any] = _no_task_value
    task_info: Callable[[str, str], Any] = _no_task_info
    allow_missing: bool = False
    workspace_id: str = "0"
    workspace_url: str = "http://localhost"


class _Missing(Exception):
    """A task value is not set (internal: lets resolve() leave the literal when the context allows it)."""

    def __init__(self, error: ReferenceResolutionError) -> None:
        super().__init__(error.message)
        self.error = error


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _time_part(moment: dt.datetime, part: str) -> Any:
    moment = _utc(moment)
    if part == "iso_date":
        return moment.strftime("%Y-%m-%d")
    if part == "iso_datetime":
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}"
    if part == "iso_weekday":
        return moment.isoweekday()
    if part == "is_weekday":
        return moment.isoweekday() <= 5
    if part == "timestamp_ms":
        return int(moment.timestamp() * 1000)
    return getattr(moment, part)  # year, month, day, hour, minute, second


def _unknown(ref: Reference, ctx: ResolutionContext) -> ReferenceResolutionError:
    problem = check_reference(
        ref,
        task_keys=(ref.path[1],) if ref.path[0] == "tasks" and len(ref.path) > 1 else (),
        parameter_names=tuple(ctx.job_parameters),
        in_for_each=ctx.for_each_input is not NO_INPUT,
    )
    message = problem or f"{format_reference(ref.path)} is not a known reference"
    return ReferenceResolutionError(f"{message}.", reference=ref.text)


def _lookup(ref: Reference, ctx: ResolutionContext) -> Any:
    """Return the value ``ref`` stands for (not yet rendered)."""
    path = ref.path
    head, rest = path[0], path[1:]
    if head in LEGACY_NAMES and not rest:
        return {
            "job_id": ctx.job_id,
            "run_id": ctx.task_run_id,
            "parent_run_id": ctx.run_id,
            "task_key": ctx.task_name,
            "start_date": _time_part(ctx.start_time, "iso_date"),
            "start_time": _time_part(ctx.start_time, "timestamp_ms"),
            "task_retry_count": ctx.execution_count - 1,
        }[head]
    if head == "job":
        return _lookup_job(ref, rest, ctx)
    if head == "task" and len(rest) == 1 and rest[0] in _CURRENT_TASK_FIELDS:
        return {
            "name": ctx.task_name,
            "run_id": ctx.task_run_id,
            "execution_count": ctx.execution_count,
            "notebook_path": ctx.notebook_path,
        }[rest[0]]
    if head == "tasks":
        return _lookup_task(ref, rest, ctx)
    if head == "input":
        return _lookup_input(ref, rest, ctx)
    if head == "workspace" and len(rest) == 1 and rest[0] in _WORKSPACE_FIELDS:
        return ctx.workspace_id if rest[0] == "id" else ctx.workspace_url
    raise _unknown(ref, ctx)


def _lookup_job(ref: Reference, rest: tuple[str, ...], ctx: ResolutionContext) -> Any:
    if len(rest) == 1 and rest[0] in _JOB_FIELDS:
        return {
            "id": ctx.job_id,
            "name": ctx.job_name,
            "run_id": ctx.run_id,
            "repair_count": ctx.repair_count,
        }[rest[0]]
    if len(rest) == 2 and rest[0] == "parameters":
        try:
            return ctx.job_parameters[rest[1]]
        except KeyError:
            raise _unknown(ref, ctx) from None
    if len(rest) == 2 and rest[0] == "start_time" and rest[1] in TIME_PARTS:
        return _time_part(ctx.start_time, rest[1])
    if len(rest) == 3 and rest[:2] == ("trigger", "time") and rest[2] in TIME_PARTS:
        return _time_part(ctx.trigger_time or ctx.start_time, rest[2])
    if rest == ("trigger", "type"):
        return ctx.trigger_type
    if rest == ("trigger", "file_arrival", "location"):
        return ctx.file_arrival_location
    raise _unknown(ref, ctx)


def _lookup_task(ref: Reference, rest: tuple[str, ...], ctx: ResolutionContext) -> Any:
    if len(rest) == 3 and rest[1] == "values":
        task_key, key = rest[0], rest[2]
        try:
            return ctx.task_value(task_key, key)
        except (ValueNotFoundError, TaskNotFoundError) as e:
            raise _Missing(
                ReferenceResolutionError(
                    f"{ref.text} reads task value {key!r} of task {task_key!r}, which was never set in "
                    f"this run. Make task {task_key!r} call dbutils.jobs.taskValues.set({key!r}, ...) "
                    "(check that it is upstream in depends_on and succeeded), or let the job leave missing "
                    "references as text.",
                    reference=ref.text,
                    task_key=task_key,
                    key=key,
                )
            ) from e
    if len(rest) == 2 and rest[1] in TASK_FIELDS:
        task_key, name = rest
        try:
            value = ctx.task_info(task_key, name)
        except (ValueNotFoundError, TaskNotFoundError, KeyError) as e:
            raise ReferenceResolutionError(
                f"{ref.text}: task {task_key!r} has no {name} in this run (it has not run yet). "
                f"Add {task_key!r} to this task's depends_on.",
                reference=ref.text,
                task_key=task_key,
            ) from e
        if value is None:
            return ""
        return value.lower() if name == "result_state" and isinstance(value, str) else value
    raise _unknown(ref, ctx)


def _lookup_input(ref: Reference, rest: tuple[str, ...], ctx: ResolutionContext) -> Any:
    value = ctx.for_each_input
    if value is NO_INPUT:
        raise ReferenceResolutionError(
            f"{ref.text} is only defined in the task that a for-each task runs for each input.",
            reference=ref.text,
        )
    for depth, name in enumerate(rest):
        where = format_reference(("input", *rest[:depth]))
        if isinstance(value, Mapping):
            if name not in value:
                raise ReferenceResolutionError(
                    f"{ref.text}: the input element {where} has no field {name!r} "
                    f"(its fields: {_names([str(k) for k in value])}).",
                    reference=ref.text,
                )
            value = value[name]
        elif isinstance(value, list) and name.isdigit() and int(name) < len(value):
            value = value[int(name)]
        else:
            raise ReferenceResolutionError(
                f"{ref.text}: the input element {where} is {render(value)!r}, not an object with a field "
                f"{name!r}. Use {where} for the element itself.",
                reference=ref.text,
            )
    return value


def _is_ours(ref: Reference) -> bool:
    return ref.path[0] in _TOP_LEVEL


def resolve(template: str, ctx: ResolutionContext) -> str:
    """Return ``template`` with every well-formed reference in a known namespace replaced by its value.

    Values are rendered by :func:`render`. References outside the known namespaces, and malformed ones, stay
    as written. Substituted text is not scanned again.

    Raises
    ------
    ReferenceResolutionError
        A reference in a known namespace names nothing (``{{job.naem}}``, an undefined job parameter,
        ``{{input}}`` outside a for-each iteration), or reads a task value that was never set and
        ``ctx.allow_missing`` is false.
    """
    parts: list[str] = []
    last = 0
    for ref in find_references(template):
        parts.append(template[last : ref.start])
        last = ref.end
        if not _is_ours(ref):
            parts.append(ref.text)
            continue
        try:
            parts.append(render(_lookup(ref, ctx)))
        except _Missing as missing:
            if not ctx.allow_missing:
                raise missing.error from None
            parts.append(ref.text)
    parts.append(template[last:])
    return "".join(parts)


def resolve_json(template: str, ctx: ResolutionContext) -> list[Any]:
    """Resolve a for-each ``inputs`` template to the list it stands for.

    When ``template`` is exactly one reference (spaces around it allowed) to a list, that list is returned
    as is (not rendered and parsed back); a reference to a string is parsed as JSON. Otherwise the template is
    resolved with :func:`resolve` and the result parsed as JSON. Missing task values are always an error here.

    Raises
    ------
    ReferenceResolutionError
        A reference cannot be resolved, or the result is not a JSON array.
    """
    strict = dataclasses.replace(ctx, allow_missing=False)
    stripped = template.strip()
    refs = find_references(stripped)
    value: Any
    if len(refs) == 1 and refs[0].start == 0 and refs[0].end == len(stripped) and _is_ours(refs[0]):
        try:
            value = _lookup(refs[0], strict)
        except _Missing as missing:
            raise missing.error from None
        if isinstance(value, str):
            value = _parse_array(value, template)
    else:
        value = _parse_array(resolve(template, strict), template)
    if not isinstance(value, list):
        raise ReferenceResolutionError(
            f"for_each_task inputs {template!r} resolved to {render(value)[:200]!r}, which is not a JSON "
            'array. Give a JSON array such as ["a", "b"], or a reference to a task value that is a list.',
            reference=template,
        )
    return value


def _parse_array(text: str, template: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        shown = "" if text == template else f" (resolved to {text[:200]!r})"
        raise ReferenceResolutionError(
            f"for_each_task inputs {template[:200]!r}{shown} is not valid JSON: {e}. "
            'Give a JSON array such as ["a", "b"]; quote strings you substitute: ["{{job.parameters.x}}"].',
            reference=template,
        ) from e
