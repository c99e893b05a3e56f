"""Read one job file into plain data: JSON or YAML, safely, with limits on size and shape.

This module knows nothing of jobs or bundles: :mod:`.sources` and :mod:`.bundle` turn what it reads into job
settings. YAML is read as YAML 1.2 with a safe loader only (see :mod:`.yaml12`): tags that construct
Python objects are refused, duplicate keys are errors naming both lines. A file over
:data:`MAX_FILE_BYTES`, nested deeper than :data:`MAX_DEPTH` or with more than :data:`MAX_NODES` values
(anchors that multiply, for instance) is refused with a clear error instead of exhausting memory.

Each ``notebook_task`` mapping that gives a ``notebook_path`` is tagged with the directory of the file it was
written in (under the non-string key :data:`BASE_DIR`), so relative paths resolve against the YAML file that
names them, as Databricks does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    "describe",
    "fail",
    "read_document",
    "tag_notebook_dirs",
    "untagged",
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
        Problems found while reading, reported with the validation problems.
    target
        The bundle target applied (``None`` for a single job file or a bundle without targets).
    variables
        The bundle variables' values, as resolved (recorded with a run, shown by ``validate``).
    written_name
        The job's name as the file writes it, before a ``mode: development`` prefix; it picks the job too.
    user
        The local identity a bundle's ``${workspace.current_user.userName}`` resolved to (recorded with a run).
    path_in_file
        Where ``file`` writes the settings (``resources.jobs.<key>``, ``settings`` in an export, ``""`` for bare
        settings): warnings find the line of a field with it.
    warnings
        Warnings found while reading, each naming its file: those ``databricks-bundles`` reported loading the
        bundle's Python code. They lead the job's :attr:`~..model.JobSpec.warnings`.
    """

    key: str
    settings: dict[Any, Any]
    file: Path
    root: Path
    job_id: str | None = None
    problems: tuple[str, ...] = ()
    target: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    written_name: str | None = None
    user: str | None = None
    path_in_file: str = ""
    warnings: tuple[str, ...] = ()


def fail(path: Path, problem: str) -> JobSpecError:
    """Return the error for a problem with the file ``path`` as a whole."""
    return JobSpecError(f"Job file {str(path)!r}: {problem}", problems=[problem], path=str(path))


def _check_shape(data: Any, path: Path) -> None:
    """Refuse a document too deep or too large to walk safely (aliases counted at each use)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise fail(path, f"it holds more than {MAX_NODES:,} values; a job definition is far smaller.")
        if depth > MAX_DEPTH:
            raise fail(path, f"it is nested more than {MAX_DEPTH} levels deep; a job definition is not.")
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
            raise fail(path, f"it is {size:,} bytes; the limit for a job file is {MAX_FILE_BYTES:,}.")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail(path, "no such file. Check the path.") from None
    except IsADirectoryError:
        raise fail(path, "it is a directory, not a job file.") from None
    except OSError as e:
        raise fail(path, f"cannot be read: {e.strerror or e}.") from e
    except ValueError as e:  # a path the OS cannot name, such as one holding a NUL byte
        raise fail(path, f"it is not a usable path: {e}.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise fail(path, f"it is not UTF-8 text (byte {e.start}); save it as UTF-8 JSON or YAML.") from None
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
        raise fail(
            path, f"it is nested more than {MAX_DEPTH} levels deep; a job definition is not."
        ) from None
    _check_shape(data, path)
    return data


def _parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise fail(path, f"it is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}.") from None
    except ValueError as e:  # a number Python refuses to convert (an integer of more than 4,300 digits)
        raise fail(path, f"it is not valid JSON: {e}.") from None


def _parse_yaml(text: str, path: Path) -> Any:
    from .yaml12 import YamlError, parse_yaml  # only YAML files need it

    try:
        return parse_yaml(text)
    except YamlError as e:
        raise fail(path, str(e)) from None
    except (ValueError, TypeError, OverflowError) as e:  # a scalar its tag cannot build: !!int x
        raise fail(path, f"it holds a value YAML cannot read ({e}); quote it to make it a string.") from None


def tag_notebook_dirs(jobs: Any, folder: Path) -> None:
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


def untagged(node: Any) -> Any:
    """``node`` without the :data:`BASE_DIR` keys :func:`tag_notebook_dirs` adds: as JSON can carry it."""
    if isinstance(node, dict):
        return {k: untagged(v) for k, v in node.items() if isinstance(k, str)}
    if isinstance(node, list):
        return [untagged(v) for v in node]
    return node


def describe(data: Any) -> str:
    """Name the kind of a parsed value for a message: ``empty``, ``a list``..."""
    return "empty" if data is None else f"a {type(data).__name__}"
