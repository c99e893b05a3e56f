"""Stubs: a task that needs a workspace succeeds with given task values, so the rest of the job runs.

A stub comes from ``RunOptions(stubs={task_key: {values}})`` (the CLI's ``--stub TASK[=VALUES.json]``) or from
the job tag ``jupyter_taskvalues_stub_<task_key>`` (Databricks ignores tags), whose value is a JSON object or
the path of a JSON file holding one, relative to the job file. The options' stub wins over the tag's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...exceptions import JobSpecError
from ...store import RunStore, utcnow
from .base import TaskResult

__all__ = ["StubError", "parse_stub_option", "read_stub", "run_stub"]


class StubError(JobSpecError):
    """A stub's values cannot be read: not JSON, not an object, or a file that does not exist."""


def read_stub(text: str, folder: Path) -> dict[str, Any]:
    """Return the task values a stub gives: ``text`` is a JSON object, or a path (relative to ``folder``).

    An empty text is a stub with no values.

    Raises
    ------
    StubError
        The text is neither a JSON object nor the path of a file holding one.
    """
    text = text.strip()
    if not text:
        return {}
    source = "the stub"
    if not text.startswith(("{", "[")):  # inline JSON; anything else is a file path
        path = Path(text).expanduser()
        path = path if path.is_absolute() else folder / path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise StubError(
                f"Stub values file {str(path)!r} cannot be read ({e.strerror or e}); give a JSON file of "
                'task values such as {"rows": 10}, or the JSON object itself.'
            ) from None
        source = f"stub values file {str(path)!r}"
    try:
        values = json.loads(text)
    except ValueError as e:
        raise StubError(
            f"{source[0].upper()}{source[1:]} is not JSON ({e}); write the task values as a JSON object, "
            'such as {"rows": 10}.'
        ) from None
    if not isinstance(values, dict):
        raise StubError(
            f"{source[0].upper()}{source[1:]} holds a {type(values).__name__}; it must be a JSON object of "
            'task values, such as {"rows": 10}.'
        )
    return values


def parse_stub_option(item: str, folder: Path | None = None) -> tuple[str, dict[str, Any]]:
    """Parse ``TASK`` or ``TASK=VALUES`` (a JSON object or a JSON file's path) into ``(task_key, values)``."""
    key, _, values = item.partition("=")
    if not key.strip():
        raise StubError(f"--stub {item!r} names no task; write --stub TASK or --stub TASK=VALUES.json.")
    return key.strip(), read_stub(values, folder or Path.cwd())


def run_stub(store: RunStore, run_id: str, task_key: str, values: Mapping[str, Any]) -> TaskResult:
    """Record ``values`` as the task's and succeed, running nothing."""
    start = utcnow()
    for key, value in values.items():
        store.set_value(run_id, task_key, str(key), value)
    return TaskResult("SUCCESS", start, utcnow(), stubbed=True)
