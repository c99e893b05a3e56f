"""Job files the server may run: a path inside the server's root directory, and what the file defines.

:func:`job_file` turns a path from the browser (relative to the server's root, as the file browser shows it)
into the file to read, refusing anything outside the root (``..``, absolute paths, links that lead out) before
the file is opened. :func:`describe_job_file` lists the jobs of a file with their parameters and tasks and the
targets of a bundle, for the "Run job" dialog; a file that does not validate is described by its problems.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from ..exceptions import JobSpecError, TaskValuesError
from ..jobs.spec.loader import load_job
from ..jobs.spec.sources import read_document, read_jobs

__all__ = ["JobPathError", "describe_job_file", "job_file"]


class JobPathError(TaskValuesError, ValueError):
    """A job path is not a file inside the server's root directory (``status`` is the HTTP status to reply)."""

    status: int


def job_file(root_dir: str, path: str) -> Path:
    """Return the file ``path`` (relative to ``root_dir``) names; raise :class:`JobPathError` if it is not one.

    A path that leaves the root is refused without touching the file system outside it (400); a path inside
    it that is not a file is unknown (404).
    """
    relative = PurePosixPath(path.replace("\\", "/"))
    drive = bool(relative.parts) and ":" in relative.parts[0]  # C:/... on Windows
    if not path or relative.is_absolute() or ".." in relative.parts or drive:
        raise JobPathError(
            f"Job path {path!r} is not a path inside the server's root directory; give it relative to the "
            "root, as the file browser shows it.",
            status=400,
        )
    root = Path(root_dir).resolve()
    candidate = (root / Path(*relative.parts)).resolve()
    if not candidate.is_relative_to(root):
        raise JobPathError(f"Job path {path!r} leads outside the server's root directory.", status=400)
    if not candidate.is_file():
        raise JobPathError(f"There is no job file {path!r} in the server's root directory.", status=404)
    return candidate


def _targets(path: Path) -> tuple[list[str], str | None]:
    """Return the targets a bundle's root file declares and its default target (none for a job file)."""
    try:
        data = read_document(path)
    except JobSpecError:
        return [], None
    if not isinstance(data, dict) or not isinstance(data.get("targets"), dict):
        return [], None
    names = [str(name) for name in data["targets"]]
    default = next(
        (str(n) for n, t in data["targets"].items() if isinstance(t, dict) and t.get("default") is True), None
    )
    return names, default


def describe_job_file(path: Path, relative: str, *, target: str | None = None) -> dict[str, Any]:
    """Return ``{"path", "jobs", "targets", "default_target", "problems", "warnings"}`` for the job file ``path``.

    Each job is ``{"name", "parameters": [{"name", "default"}], "tasks": [task_key...]}``. A job that does not
    validate is left out and its problems are listed, each prefixed by the job's name when the file has several.
    ``warnings`` (fields the loader ignored) are listed the same way; they never stop a run.
    """
    targets, default_target = _targets(path)
    reply: dict[str, Any] = {
        "path": relative,
        "jobs": [],
        "targets": targets,
        "default_target": default_target,
        "problems": [],
        "warnings": [],
    }
    try:
        keys = [raw.key for raw in read_jobs(path, target=target)]
    except JobSpecError as e:
        reply["problems"] = list(e.problems or [e.message])
        return reply
    for key in keys:
        prefix = f"{key}: " if len(keys) > 1 else ""
        try:
            spec = load_job(path, job=key, target=target)
        except JobSpecError as e:
            reply["problems"].extend(prefix + problem for problem in (e.problems or [e.message]))
            reply["warnings"].extend(prefix + warning for warning in e.warnings)
            continue
        reply["warnings"].extend(prefix + warning for warning in spec.warnings)
        reply["jobs"].append(
            {
                "name": key,
                "job_name": spec.name,
                "parameters": [{"name": p.name, "default": p.default} for p in spec.parameters],
                "tasks": list(spec.task_keys),
            }
        )
    return reply
