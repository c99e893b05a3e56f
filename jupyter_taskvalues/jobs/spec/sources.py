"""Read job files: Jobs API JSON or YAML, and Databricks Asset Bundles.

This module turns a file into raw job settings (plain dicts as the Jobs API spells them) and knows nothing of
their meaning; :mod:`.spec` builds and validates the :class:`~.model.JobSpec`. It reads:

- Jobs API 2.1/2.2 settings, bare (``{"name", "tasks": [...]}``) or as ``databricks jobs get`` exports them
  (``{"job_id", "settings": {...}}``), as JSON or YAML;
- an Asset Bundle root (``databricks.yml``; a directory holding one works too): its ``include:`` globs,
  ``resources.jobs.<key>`` spread over any of its files, ``targets:`` (the ``default: true`` one unless a
  target is named; its ``resources`` are merged over the top level, tasks matched by ``task_key``), and bundle
  variables: ``${var.<name>}`` and ``${variables.<name>.value}`` take the value given by the caller, else the
  target's, else the variable's ``default``; ``${bundle.target}`` and ``${bundle.name}`` are substituted too.
  Other ``${...}`` (``${workspace.file_path}``, ``${resources...}``) are left as written.

YAML is read with a safe loader only (libyaml's when available): tags that construct Python objects are
refused. A file over
:data:`MAX_FILE_BYTES`, nested deeper than :data:`MAX_DEPTH` or with more than :data:`MAX_NODES` values
(anchors that multiply, for instance) is refused with a clear error instead of exhausting memory.

Each ``notebook_task`` mapping that gives a ``notebook_path`` is tagged with the directory of the file it was
written in (under the non-string key :data:`BASE_DIR`), so relative paths resolve against the YAML file that
names them, as Databricks does.
"""

from __future__ import annotations

import glob
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ...exceptions import JobSpecError

__all__ = [
    "BASE_DIR",
    "BUNDLE_FILE_NAMES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "RawJob",
    "read_document",
    "read_jobs",
]

#: Largest job file read, in bytes.
MAX_FILE_BYTES: Final = 8 * 1024 * 1024
#: Deepest nesting of mappings and lists accepted.
MAX_DEPTH: Final = 64
#: Most values (counting each use of a YAML alias) a job file may hold.
MAX_NODES: Final = 200_000
#: The names a bundle root may have, looked for when a directory is given.
BUNDLE_FILE_NAMES: Final = ("databricks.yml", "databricks.yaml", "bundle.yml", "bundle.yaml")


class _BaseDir:
    def __repr__(self) -> str:
        return "BASE_DIR"


#: Key (not a string: it cannot clash with a field) under which a ``notebook_task`` keeps its file's folder.
BASE_DIR: Final = _BaseDir()

_VARIABLE_RE: Final = re.compile(r"\$\{(var|variables|bundle)\.([A-Za-z0-9_][A-Za-z0-9_.-]*)\}")
_GLOB_CHARS: Final = frozenset("*?[")


@dataclass(frozen=True)
class RawJob:
    """One job's settings as read, before building and validation.

    Attributes
    ----------
    key
        How the file names the job: its ``resources.jobs`` key in a bundle, else its ``name``.
    settings
        The job settings (``name``, ``tasks``...), variables substituted.
    file
        The file that defines the job (a bundle's included file), for relative paths and messages.
    root
        The file that was read first (a bundle's ``databricks.yml``): load it again to get the same job.
    job_id
        The ``job_id`` of an export, if any.
    problems
        Problems found while reading (unknown bundle variables...), reported with the validation problems.
    """

    key: str
    settings: dict[Any, Any]
    file: Path
    root: Path
    job_id: str | None = None
    problems: tuple[str, ...] = ()


def _fail(path: Path, problem: str) -> JobSpecError:
    return JobSpecError(f"Job file {str(path)!r}: {problem}", problems=[problem], path=str(path))


def _check_shape(data: Any, path: Path) -> None:
    """Refuse a document too deep or too large to walk safely (aliases counted at each use)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise _fail(path, f"it holds more than {MAX_NODES:,} values; a job definition is far smaller.")
        if depth > MAX_DEPTH:
            raise _fail(path, f"it is nested more than {MAX_DEPTH} levels deep; a job definition is not.")
        if isinstance(node, Mapping):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def read_document(path: Path) -> Any:
    """Parse one JSON or YAML file (by suffix; other suffixes try JSON, then YAML) and check its shape.

    Raises
    ------
    JobSpecError
        The file is missing, unreadable, too large, not UTF-8, not JSON/YAML, or too deeply nested.
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _fail(path, f"it is {size:,} bytes; the limit for a job file is {MAX_FILE_BYTES:,}.")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _fail(path, "no such file. Check the path.") from None
    except IsADirectoryError:
        raise _fail(path, "it is a directory, not a job file.") from None
    except OSError as e:
        raise _fail(path, f"cannot be read: {e.strerror or e}.") from e
    except ValueError as e:  # a path the OS cannot name, such as one holding a NUL byte
        raise _fail(path, f"it is not a usable path: {e}.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _fail(path, f"it is not UTF-8 text (byte {e.start}); save it as UTF-8 JSON or YAML.") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = _parse_json(text, path)
        elif suffix in (".yml", ".yaml"):
            data = _parse_yaml(text, path)
        else:
            try:
                data = json.loads(text)
            except ValueError:
                data = _parse_yaml(text, path)
    except RecursionError:
        raise _fail(
            path, f"it is nested more than {MAX_DEPTH} levels deep; a job definition is not."
        ) from None
    _check_shape(data, path)
    return data


def _parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise _fail(path, f"it is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}.") from None
    except ValueError as e:  # a number Python refuses to convert (an integer of more than 4,300 digits)
        raise _fail(path, f"it is not valid JSON: {e}.") from None


def _parse_yaml(text: str, path: Path) -> Any:
    import yaml  # only YAML files need it

    # libyaml's safe loader when PyYAML was built with it: far faster on large files, and it refuses deep
    # nesting while scanning. It builds the same plain data as ``yaml.SafeLoader``.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.constructor.ConstructorError as e:
        where = f" at line {e.problem_mark.line + 1}" if e.problem_mark is not None else ""
        raise _fail(
            path,
            f"it uses a YAML tag that is not plain data{where} ({e.problem}). Job files hold only mappings, "
            "lists, strings, numbers and booleans; remove the tag.",
        ) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise _fail(path, f"it is not valid YAML{where}: {problem}.") from None
    except (ValueError, TypeError, OverflowError) as e:  # a scalar its tag cannot build: 2024-13-45, !!int x
        raise _fail(path, f"it holds a value YAML cannot read ({e}); quote it to make it a string.") from None


def _tag_notebook_dirs(jobs: Any, folder: Path) -> None:
    """Record, on each ``notebook_task`` that names a path, the folder of the file that names it."""
    if not isinstance(jobs, Mapping):
        return
    for job in jobs.values():
        tasks = job.get("tasks") if isinstance(job, Mapping) else None
        for task in tasks if isinstance(tasks, list) else ():
            if not isinstance(task, Mapping):
                continue
            for_each = task.get("for_each_task")
            nested = for_each.get("task") if isinstance(for_each, Mapping) else None
            for holder in (task, nested):
                notebook = holder.get("notebook_task") if isinstance(holder, Mapping) else None
                if isinstance(notebook, dict) and "notebook_path" in notebook:
                    notebook[BASE_DIR] = folder


def _describe(data: Any) -> str:
    return "empty" if data is None else f"a {type(data).__name__}"


def read_jobs(
    path: str | Path, *, target: str | None = None, variables: Mapping[str, Any] | None = None
) -> list[RawJob]:
    """Read every job a file defines, in file order.

    Parameters
    ----------
    path
        A JSON/YAML job file, a bundle root, or a directory holding a ``databricks.yml``.
    target
        The bundle target whose overrides apply (default: the target marked ``default: true``).
    variables
        Bundle variable values, beating the target's and the defaults.

    Raises
    ------
    JobSpecError
        The file cannot be read, is not a job definition, or the bundle is malformed.
    """
    path = Path(path)
    if path.is_dir():
        for name in BUNDLE_FILE_NAMES:
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise _fail(path, f"it is a directory without a bundle file ({', '.join(BUNDLE_FILE_NAMES)}).")
    path = path.absolute()
    data = read_document(path)
    if not isinstance(data, dict):
        raise _fail(
            path,
            f"it is {_describe(data)}, not a job definition. Give Jobs API settings "
            '({"name": ..., "tasks": [...]}), a job export ({"job_id": ..., "settings": {...}}) or a '
            "Databricks Asset Bundle (databricks.yml with bundle: and resources.jobs).",
        )
    if "tasks" not in data and ("bundle" in data or "resources" in data or "include" in data):
        return _read_bundle(path, data, target, dict(variables or {}))
    if target is not None:
        raise _fail(path, f"--target {target!r} applies to Asset Bundles only; this file is a single job.")
    if isinstance(data.get("settings"), dict) and "tasks" not in data:
        settings = data["settings"]
        job_id = data.get("job_id")
        job_id = None if job_id is None else str(job_id)
    else:
        settings, job_id = data, None
    _tag_notebook_dirs({"job": settings}, path.parent)
    name = settings.get("name")
    key = name if isinstance(name, str) and name else path.stem
    return [RawJob(key, settings, path, path, job_id)]


# ---------------------------------------------------------------------------------------------------- bundles


def _included_files(root: Path, patterns: Any) -> Iterator[Path]:
    if patterns is None:
        return
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise _fail(
            root, "include: must be a list of file paths or glob patterns relative to the bundle root."
        )
    seen = {root}
    for pattern in patterns:
        if not _GLOB_CHARS & set(pattern):
            if not (root.parent / pattern).is_file():
                raise _fail(root, f"include: {pattern!r} does not exist (relative to {str(root.parent)!r}).")
            matches = [pattern]
        else:
            matches = sorted(glob.glob(pattern, root_dir=root.parent, recursive=True))
        for match in matches:
            candidate = (root.parent / match).absolute()
            if candidate not in seen and candidate.is_file():
                seen.add(candidate)
                yield candidate


def _merge(base: Any, override: Any) -> Any:
    """Merge a target override over top-level settings, as bundles do (tasks matched by ``task_key``)."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    merged = dict(base)
    for key, value in override.items():
        if key in ("tasks", "parameters", "job_clusters") and isinstance(value, list):
            merged[key] = _merge_list(
                merged.get(key),
                value,
                {"tasks": "task_key", "job_clusters": "job_cluster_key"}.get(key, "name"),
            )
        else:
            merged[key] = _merge(merged[key], value) if key in merged else value
    return merged


def _merge_list(base: Any, override: list[Any], id_field: str) -> list[Any]:
    merged = list(base) if isinstance(base, list) else []
    for item in override:
        ident = item.get(id_field) if isinstance(item, dict) else None
        for i, existing in enumerate(merged):
            if ident is not None and isinstance(existing, dict) and existing.get(id_field) == ident:
                merged[i] = _merge(existing, item)
                break
        else:
            merged.append(item)
    return merged


def _read_bundle(root: Path, data: dict[Any, Any], target: str | None, given: dict[str, Any]) -> list[RawJob]:
    files = [(root, data), *((p, read_document(p)) for p in _included_files(root, data.get("include")))]
    jobs: dict[str, dict[Any, Any]] = {}
    defined_in: dict[str, Path] = {}
    targets: dict[str, Any] = {}
    declared: dict[str, Any] = {}
    for file, doc in files:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise _fail(
                file, f"it is {_describe(doc)}; a bundle file is a mapping (resources:, targets:...)."
            )
        resources = doc.get("resources") or {}
        file_jobs = resources.get("jobs") if isinstance(resources, dict) else None
        if file_jobs is not None and not isinstance(file_jobs, dict):
            raise _fail(file, "resources.jobs must be a mapping of job keys to job settings.")
        _tag_notebook_dirs(file_jobs, file.parent)
        for key, settings in (file_jobs or {}).items():
            if str(key) in jobs:
                raise _fail(file, f"job {key!r} is defined twice: here and in {str(defined_in[str(key)])!r}.")
            if not isinstance(settings, dict):
                raise _fail(file, f"resources.jobs.{key} is {_describe(settings)}; give the job's settings.")
            jobs[str(key)], defined_in[str(key)] = settings, file
        for name, spec in (doc.get("targets") or {}).items() if isinstance(doc.get("targets"), dict) else ():
            if isinstance(spec, dict):
                _tag_notebook_dirs((spec.get("resources") or {}).get("jobs"), file.parent)
            targets[str(name)] = _merge(targets.get(str(name), {}), spec or {})
        if isinstance(doc.get("variables"), dict):
            declared.update(doc["variables"])
    chosen = _choose_target(root, targets, target)
    overrides = targets.get(chosen, {}) if chosen in targets else {}
    target_jobs = (
        ((overrides.get("resources") or {}).get("jobs") or {}) if isinstance(overrides, dict) else {}
    )
    for key, settings in target_jobs.items() if isinstance(target_jobs, dict) else ():
        jobs[str(key)] = _merge(jobs.get(str(key), {}), settings)
        defined_in.setdefault(str(key), root)
    bundle = data.get("bundle")
    bundle = bundle if isinstance(bundle, dict) else {}
    values = _variable_values(
        declared, overrides.get("variables") if isinstance(overrides, dict) else None, given
    )
    builtins = {"target": chosen, "name": str(bundle.get("name", root.parent.name))}
    result = []
    for key, settings in jobs.items():
        problems: list[str] = []
        substituted = _substitute(settings, values, builtins, problems)
        result.append(RawJob(key, substituted, defined_in[key], root, None, tuple(dict.fromkeys(problems))))
    if not result:
        raise _fail(
            root, "the bundle defines no jobs (resources.jobs is empty in it and in its included files)."
        )
    return result


def _choose_target(root: Path, targets: dict[str, Any], target: str | None) -> str:
    if target is not None:
        if target not in targets:
            known = ", ".join(sorted(targets)) or "none"
            raise _fail(root, f"target {target!r} is not defined (targets: {known}).")
        return target
    for name, spec in targets.items():
        if isinstance(spec, dict) and spec.get("default") is True:
            return name
    return "default"


def _variable_values(declared: dict[str, Any], from_target: Any, given: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if isinstance(spec, dict):
            if "default" in spec:
                values[str(name)] = spec["default"]
        elif spec is not None:
            values[str(name)] = spec  # the short form: `name: value`
    for name, value in (from_target or {}).items() if isinstance(from_target, dict) else ():
        if isinstance(value, dict):
            if "default" in value:
                values[str(name)] = value["default"]
        else:
            values[str(name)] = value
    values.update(given)
    for name in declared:
        values.setdefault(str(name), _UNSET)
    return values


_UNSET: Final = object()


def _substitute(
    node: Any, values: dict[str, Any], builtins: dict[str, str], problems: list[str], depth: int = 0
) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, values, builtins, problems, depth) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, values, builtins, problems, depth) for v in node]
    if not isinstance(node, str) or "${" not in node:
        return node

    def value_of(match: re.Match[str]) -> Any:
        scope, name = match.group(1), match.group(2)
        if scope == "bundle":
            return builtins.get(name, match.group(0))
        if scope == "variables":
            if not name.endswith(".value"):
                return match.group(0)
            name = name[: -len(".value")]
        if name not in values:
            known = ", ".join(sorted(values)) or "none"
            problems.append(
                f"{match.group(0)}: bundle variable {name!r} is not declared (variables: {known})."
            )
            return match.group(0)
        value = values[name]
        if value is _UNSET:
            problems.append(
                f"{match.group(0)}: bundle variable {name!r} has no default; give it one or pass a value."
            )
            return match.group(0)
        if isinstance(value, str) and "${" in value and depth < 8:
            value = _substitute(value, values, builtins, problems, depth + 1)
        return value

    whole = _VARIABLE_RE.fullmatch(node)
    if whole is not None:
        return value_of(whole)  # a lone ${var.x} keeps the variable's type (a number stays a number)
    return _VARIABLE_RE.sub(lambda m: _text(value_of(m)), node)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":")) if isinstance(value, (list, dict)) else str(value)
