"""What ``databricks-bundles`` reports while it loads a bundle's Python code: errors refuse, warnings are kept.

The package reports diagnostics, each ``{"severity": "error" | "warning", "summary", "detail"?, "path"?,
"location"?: {"file", "line"?, "column"?}}`` (``Diagnostic.as_dict()`` in this process, one JSON line each in
the diagnostics file of ``databricks.bundles.build`` in a venv). As ``databricks bundle validate`` does, the
first error refuses the bundle, its summary and the last line of its detail (an exception's) in the message;
each warning becomes a warning of the bundle's jobs (:attr:`~..model.JobSpec.warnings`, the list that
``validate``, ``run``, the run record and the REST jobs route show), naming the file and line the diagnostic
gives (else the bundle's ``databricks.yml``), its summary and its detail. A warning whose ``path`` is
``resources.jobs.<key>...`` belongs to that job only; any other to every job of the bundle.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from .documents import fail

__all__ = ["BundleWarning", "read_diagnostics"]

#: A warning of the Python code and the job it is about: the key of ``resources.jobs.<key>``, or ``None``.
BundleWarning = tuple[str | None, str]

#: Terminal colour codes the package writes into some details.
_ANSI: Final = re.compile(r"\x1b\[[0-9;]*m")


def read_diagnostics(
    root: Path, diagnostics: Iterable[Mapping[str, Any]], label: str, *, base: Path | None = None
) -> list[BundleWarning]:
    """Refuse the bundle at its first error diagnostic; return its warnings, each with the job it is about.

    Parameters
    ----------
    root
        The bundle's ``databricks.yml``: the errors name it.
    diagnostics
        The diagnostics as plain mappings, in the order the package reported them.
    label
        What reported them, which starts each message: ``python``, or ``python (in the venv '...')``.
    base
        The folder a relative ``location.file`` is relative to (the package writes it relative to the working
        directory of the process that loaded the code); default: the bundle folder.

    Raises
    ------
    JobSpecError
        A diagnostic is an error.
    """
    found = [d for d in diagnostics if isinstance(d, Mapping)]
    errors = [d for d in found if d.get("severity") == "error"]
    if errors:
        raise fail(root, _problem(label, errors[0]))
    folder = root.parent if base is None else base
    return [
        (_job_key(d.get("path")), _warning(root, folder, label, d))
        for d in found
        if d.get("severity") == "warning"
    ]


def _problem(label: str, diagnostic: Mapping[str, Any]) -> str:
    """One error diagnostic as a sentence: its summary, where, and the exception's last line."""
    summary = _plain(diagnostic.get("summary") or "an error").strip().rstrip(".")
    location = diagnostic.get("location")
    where = ""
    if isinstance(location, Mapping) and location.get("file"):
        where = f" ({location['file']}" + (f", line {location['line']}" if location.get("line") else "") + ")"
    path = _dotted(diagnostic.get("path"))
    at = f" at {path}" if path else ""
    detail = [line for line in _plain(diagnostic.get("detail")).splitlines() if line.strip()]
    last = f": {detail[-1].strip().rstrip('.')}" if detail else ""
    return f"{label}: {summary}{at}{where}{last}. Fix the function and run again."


def _warning(root: Path, folder: Path, label: str, diagnostic: Mapping[str, Any]) -> str:
    """One warning diagnostic as the loader writes a warning: ``file: line N: what``."""
    location = diagnostic.get("location")
    file, line = str(root), None
    if isinstance(location, Mapping) and location.get("file"):
        file = str(folder / str(location["file"]))  # an absolute file stays as it is
        line = location.get("line")
    summary = _plain(diagnostic.get("summary") or "a warning").strip().rstrip(".")
    path = _dotted(diagnostic.get("path"))
    detail = " ".join(_plain(diagnostic.get("detail")).split()).rstrip(".")
    return (
        f"{file}: "
        + (f"line {line}: " if isinstance(line, int) else "")
        + f"{label}: warning: {summary}"
        + (f" (at {path})" if path else "")
        + (f": {detail}" if detail else "")
        + "."
    )


def _plain(text: Any) -> str:
    return _ANSI.sub("", str(text or ""))


def _dotted(path: Any) -> str:
    """A diagnostic's ``path`` (``["resources", "jobs", "x"]``) as ``resources.jobs.x``."""
    if isinstance(path, (list, tuple)):
        return ".".join(str(part) for part in path)
    return str(path) if path else ""


def _job_key(path: Any) -> str | None:
    parts = [str(p) for p in path] if isinstance(path, (list, tuple)) else str(path or "").split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["resources", "jobs"] else None
