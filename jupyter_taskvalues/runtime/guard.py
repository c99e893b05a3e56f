"""The guard at the end of a task: task values must never be lost silently.

A notebook can end up calling ``taskValues.set`` on something that is not ours: a remote ``dbutils`` of the
Databricks SDK (``RemoteDbUtils``, whose ``set`` does nothing off Databricks) bound over ours, say by
``from databricks.sdk.runtime import dbutils`` run before the seam existed, or by ``dbutils =
RemoteDbUtils(...)``. The task would end ``SUCCESS`` with no values. So after the last cell the executor
sends one silent request that calls :func:`check_task_end` in the task's kernel; it raises
:class:`LostTaskValuesError` (and the task fails with its message) when

- ``dbutils`` in the notebook's namespace, or in ``databricks.sdk.runtime``, or any other name of the
  namespace bound to the SDK's ``dbutils``, is not ours, **and** the notebook's code calls
  ``taskValues.set``; or
- a ``set`` of ours went to the interactive session instead of the run (an ``%taskvalue attach`` left in a
  task's notebook), so the run did not get it.

A foreign ``dbutils`` that the notebook never used to set a value loses nothing and passes.
:func:`task_end_report` returns what the check looked at, for tests and tools.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from ..exceptions import TaskValuesError

__all__ = ["GUARD_CODE", "LostTaskValuesError", "check_task_end", "task_end_report"]

#: What the executor sends, silently, after the last cell of a task.
GUARD_CODE = (
    "import jupyter_taskvalues.runtime.guard as _jtv_guard\n_jtv_guard.check_task_end()\ndel _jtv_guard\n"
)

_SET_CALL = re.compile(r"taskValues\s*\.\s*set\s*\(")


class LostTaskValuesError(TaskValuesError, RuntimeError):
    """A task's ``taskValues.set`` went to an object that is not ours, or not to the run."""


def _describe(obj: object) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def _is_sdk_dbutils(obj: object) -> bool:
    # The type only: RemoteDbUtils answers unknown attributes with a remote call.
    kind = type(obj)
    return kind.__module__.startswith("databricks.sdk") and "dbutils" in kind.__name__.lower()


def task_end_report(namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return what the guard sees: foreign ``dbutils`` bindings, cells that call ``set``, values astray.

    Parameters
    ----------
    namespace
        The notebook's namespace; by default the running IPython shell's.
    """
    from ..context import current_context
    from .namespace import runtime_namespace
    from .session import attached_context, session_values

    ours = runtime_namespace()["dbutils"]
    if namespace is None:
        from IPython import get_ipython  # in a kernel IPython is already imported

        shell = get_ipython()
        namespace = shell.user_ns if shell is not None else {}
    history = [str(source) for source in namespace.get("In", [])]  # In[n] is the cell of execution count n
    foreign: dict[str, str] = {}
    bound = namespace.get("dbutils")
    if bound is not None and bound is not ours:
        foreign["dbutils"] = _describe(bound)
    for name, value in namespace.items():
        if name != "dbutils" and not name.startswith("_") and _is_sdk_dbutils(value):
            foreign[name] = _describe(value)
    sdk_runtime = sys.modules.get("databricks.sdk.runtime")
    sdk_dbutils = getattr(sdk_runtime, "dbutils", None)
    if sdk_dbutils is not None and sdk_dbutils is not ours:
        foreign["databricks.sdk.runtime.dbutils"] = _describe(sdk_dbutils)
    set_cells = [number for number, source in enumerate(history) if source and _SET_CALL.search(source)]
    in_task = current_context() is not None
    astray = sorted(session_values()) if in_task else []
    return {
        "foreign": foreign,
        "set_cells": set_cells,
        "astray": astray,
        "attached": attached_context() is not None,
    }


def check_task_end(namespace: dict[str, Any] | None = None) -> None:
    """Raise :class:`LostTaskValuesError` if task values of this task went nowhere (see the module).

    Raises
    ------
    LostTaskValuesError
        The message names the object ``dbutils`` is bound to, the cells that call ``set`` and the fix.
    """
    report = task_end_report(namespace)
    problems: list[str] = []
    if report["foreign"] and report["set_cells"]:
        bindings = "; ".join(f"{name} is a {what}" for name, what in report["foreign"].items())
        cells = ", ".join(f"In [{number}]" for number in report["set_cells"])
        problems.append(
            f"the notebook calls dbutils.jobs.taskValues.set ({cells}), but {bindings}, not jupyter-taskvalues' "
            "dbutils: a remote dbutils drops task values off Databricks. Do not rebind dbutils (remove "
            "`dbutils = ...`; `from databricks.sdk.runtime import dbutils` is fine in a task, where it gives "
            "ours), then run the task again"
        )
    if report["astray"]:
        keys = ", ".join(repr(key) for key in report["astray"])
        problems.append(
            f"task values {keys} were set in the interactive session, not in the run "
            "(the notebook ran %taskvalue attach); remove the attach from the task's notebook"
        )
    if problems:
        raise LostTaskValuesError(
            "Task values were lost: " + "; and ".join(problems) + ".",
            foreign=report["foreign"],
            set_cells=report["set_cells"],
            astray=report["astray"],
        )
