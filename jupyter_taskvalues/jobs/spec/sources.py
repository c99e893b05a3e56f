"""Read job files: Jobs API JSON or YAML, and Databricks Asset Bundles.

This module turns a file into raw job settings (plain dicts as the Jobs API spells them) and knows nothing of
their meaning; :mod:`.loader` builds and validates the :class:`~..model.JobSpec`. It reads:

- Jobs API 2.1/2.2 settings, bare (``{"name", "tasks": [...]}``) or as ``databricks jobs get`` exports them
  (``{"job_id", "settings": {...}}``), as JSON or YAML (see :mod:`.documents`);
- an Asset Bundle root (``databricks.yml``; a directory holding one works too), read as the Databricks CLI
  reads it: includes, targets, variables and every ``${...}`` reference (see :mod:`.bundle`).

A bundle's jobs get a stable local id (:func:`.bundle.local_id`), so ``{{job.id}}`` is never empty there; a
single job file keeps its export's ``job_id`` (none for bare settings).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .bundle import read_bundle
from .documents import (
    BASE_DIR,
    BUNDLE_FILE_NAMES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    RawJob,
    describe,
    fail,
    read_document,
    tag_notebook_dirs,
)

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


def read_jobs(
    path: str | Path,
    *,
    target: str | None = None,
    variables: Mapping[str, Any] | None = None,
    user: str | None = None,
) -> list[RawJob]:
    """Read every job a file defines, in file order.

    Parameters
    ----------
    path
        A JSON/YAML job file, a bundle root, or a directory holding a ``databricks.yml``.
    target
        The bundle target to apply (``--target``; default: the bundle's default target).
    variables
        Bundle variable values (``--var``), beating ``BUNDLE_VAR_<name>``, the target's and the defaults.
    user
        The local identity for ``${workspace.current_user.*}`` (``--user``; default:
        ``$JUPYTER_TASKVALUES_USER``, else the OS user).

    Raises
    ------
    JobSpecError
        The file cannot be read, is not a job definition, the bundle is malformed, or one of its references
        cannot be resolved.
    """
    path = Path(path)
    if path.is_dir():
        for name in BUNDLE_FILE_NAMES:
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise fail(path, f"it is a directory without a bundle file ({', '.join(BUNDLE_FILE_NAMES)}).")
    path = path.absolute()
    data = read_document(path)
    if not isinstance(data, dict):
        raise fail(
            path,
            f"it is {describe(data)}, not a job definition. Give Jobs API settings "
            '({"name": ..., "tasks": [...]}), a job export ({"job_id": ..., "settings": {...}}) or a '
            "Databricks Asset Bundle (databricks.yml with bundle: and resources.jobs).",
        )
    if "tasks" not in data and any(k in data for k in ("bundle", "resources", "include", "python")):
        return read_bundle(path, data, target=target, variables=variables, user=user)
    if target is not None:
        raise fail(path, f"--target {target!r} applies to Asset Bundles only; this file is a single job.")
    if variables:
        raise fail(path, "--var applies to Asset Bundles only; this file is a single job (use --param).")
    if isinstance(data.get("settings"), dict) and "tasks" not in data:
        settings = data["settings"]
        job_id = data.get("job_id")
        job_id = None if job_id is None else str(job_id)
    else:
        settings, job_id = data, None
    in_file = "settings" if settings is not data else ""
    tag_notebook_dirs({"job": settings}, path.parent)
    name = settings.get("name")
    key = name if isinstance(name, str) and name else path.stem
    return [RawJob(key, settings, path, path, job_id, path_in_file=in_file)]
