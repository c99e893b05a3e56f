"""Generate :mod:`.fields` from the Jobs API dataclasses of ``databricks-sdk`` (``databricks.sdk.service.jobs``).

The validator's lists of job settings, task fields and task types are not kept by hand: they are the fields
of ``JobSettings``, ``Job``, ``Task`` and of each ``*_task`` type's dataclass. Regenerate after upgrading the
SDK (``tests/jobs/test_bundles_fields.py`` fails when the installed SDK knows a field the file lacks)::

    python -m jupyter_taskvalues.jobs.spec.generate_fields      # rewrites fields.py next to this module
    python -m jupyter_taskvalues.jobs.spec.generate_fields -    # prints it instead

The SDK is needed only here (it is in the ``test`` extra), never when a job loads.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from pathlib import Path
from typing import Any

__all__ = ["generate", "main"]

_HEADER = '''"""The Jobs API fields the validator knows, generated from ``databricks-sdk`` {version}: do not edit.

Regenerate with ``python -m jupyter_taskvalues.jobs.spec.generate_fields`` (see :mod:`.generate_fields`).
"""

from __future__ import annotations

from typing import Final

__all__ = ["JOB_FIELDS", "JOB_SETTINGS_FIELDS", "SDK_VERSION", "TASK_FIELDS", "TASK_TYPES", "TASK_TYPE_FIELDS"]

#: The databricks-sdk version the lists come from.
SDK_VERSION: Final = {version!r}
'''


def _field_names(cls: Any) -> list[str]:
    return sorted(f.name for f in dataclasses.fields(cls))


def _dataclass_of(hint: Any) -> Any:
    for candidate in (hint, *typing.get_args(hint)):
        if dataclasses.is_dataclass(candidate):
            return candidate
    return None


def _frozenset(name: str, doc: str, items: list[str]) -> str:
    body = "".join(f"        {item!r},\n" for item in items)
    return f"\n#: {doc}\n{name}: Final = frozenset(\n    {{\n{body}    }}\n)\n"


def generate() -> str:
    """Return the text of ``fields.py`` for the installed ``databricks-sdk``."""
    from databricks.sdk.service import jobs
    from databricks.sdk.version import __version__

    hints = typing.get_type_hints(jobs.Task)
    task_types = sorted(n for n in _field_names(jobs.Task) if n.endswith("_task"))
    text = _HEADER.format(version=__version__)
    text += _frozenset(
        "JOB_SETTINGS_FIELDS", "The fields of job settings (``JobSettings``).", _field_names(jobs.JobSettings)
    )
    text += _frozenset(
        "JOB_FIELDS", "The fields of a job as ``jobs get`` exports it (``Job``).", _field_names(jobs.Job)
    )
    text += _frozenset(
        "TASK_FIELDS", "The fields of a task (``Task``), task types included.", _field_names(jobs.Task)
    )
    text += _frozenset("TASK_TYPES", "The task types: the ``*_task`` fields of ``Task``.", task_types)
    text += "\n#: The fields of each task type's settings.\nTASK_TYPE_FIELDS: Final[dict[str, frozenset[str]]] = {\n"
    for name in task_types:
        cls = _dataclass_of(hints[name])
        fields = ", ".join(repr(f) for f in _field_names(cls)) if cls is not None else ""
        text += f"    {name!r}: frozenset({{{fields}}}),\n" if fields else f"    {name!r}: frozenset(),\n"
    return text + "}\n"


def main(argv: list[str] | None = None) -> int:
    """Write ``fields.py`` (or print it with ``-``); return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    text = generate()
    if args == ["-"]:
        sys.stdout.write(text)
    else:
        (Path(__file__).parent / "fields.py").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
