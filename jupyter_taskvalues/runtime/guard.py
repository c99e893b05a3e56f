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
- a module the notebook imported from its own code (a helper beside it or in the bundle, not an installed
  package) calls ``<name>.jobs.taskValues.set(...)`` where ``<name>`` is a global of that module bound to a
  ``dbutils`` that is not ours (``dbutils = RemoteDbUtils(...)`` at the top of ``helpers.py``); or
- a ``set`` of ours went to the interactive session instead of the run (an ``%taskvalue attach`` left in a
  task's notebook), so the run did not get it.

A foreign ``dbutils`` that the guard cannot prove was used to set a value (the cells never call ``set``; a
helper may, on an object it was passed) does not fail the task: :func:`check_task_end` returns a **warning**
naming the object and the fix, which the executor reads (:data:`GUARD_WARNINGS`, :func:`read_warnings`) into
the task record's ``warnings``. Nothing is patched to watch the SDK's ``set`` (a no-op that leaves no trace):
what the guard knows, it reads from the namespace, the cells and the helper modules' source.
:func:`task_end_report` returns what the check looked at, for tests and tools.
"""

from __future__ import annotations

import ast
import os
import re
import site
import sys
import sysconfig
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..exceptions import TaskValuesError

__all__ = [
    "GUARD_CODE",
    "GUARD_WARNINGS",
    "LostTaskValuesError",
    "check_task_end",
    "helper_modules",
    "last_warnings",
    "read_warnings",
    "task_end_report",
]

#: What the executor sends, silently, after the last cell of a task.
GUARD_CODE = (
    "import jupyter_taskvalues.runtime.guard as _jtv_guard\n_jtv_guard.check_task_end()\ndel _jtv_guard\n"
)
#: The user expression sent with :data:`GUARD_CODE`: the warnings of the check that just ran.
GUARD_WARNINGS = "__import__('sys').modules['jupyter_taskvalues.runtime.guard'].last_warnings()"

_SET_CALL = re.compile(r"taskValues\s*\.\s*set\s*\(")
# Modules whose source is never read as the notebook's: ours and the SDK's (their docs mention `set`).
_NOT_HELPERS = ("jupyter_taskvalues", "databricks", "pyspark", "IPython", "ipykernel")
_warnings: list[str] = []


class LostTaskValuesError(TaskValuesError, RuntimeError):
    """A task's ``taskValues.set`` went to an object that is not ours, or not to the run."""


def _describe(obj: object) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def _is_sdk_dbutils(obj: object) -> bool:
    # The type only: RemoteDbUtils answers unknown attributes with a remote call.
    kind = type(obj)
    return kind.__module__.startswith("databricks.sdk") and "dbutils" in kind.__name__.lower()


def _is_foreign(name: str, obj: object, ours: object) -> bool:
    """Whether global ``name`` holds a ``dbutils`` that is not ours (``None`` and modules are no dbutils)."""
    if obj is None or obj is ours or isinstance(obj, (types.ModuleType, type)):
        return False
    return name == "dbutils" or _is_sdk_dbutils(obj)


# -- the notebook's own modules ------------------------------------------------------------------------------


def _installed_paths() -> tuple[str, ...]:
    found = [*sysconfig.get_paths().values(), *site.getsitepackages(), site.getusersitepackages()]
    paths = {str(Path(path).resolve()) for path in found if path} | {
        str(Path(path)) for path in found if path
    }
    return tuple(sorted(paths))


#: The installation folders (the standard library, site-packages), found once per process: at import, which
#: the fork server does before it forks the kernels (``jobs/kernels/forkserver.py`` preloads this module), so
#: that the check at each task's end does not pay for it (about 1 ms of ``stat`` calls).
_INSTALLED_PATHS = _installed_paths()


class _Roots:
    """Folders to test paths against: one ``str.startswith`` over all of them (the guard tests every module)."""

    def __init__(self, roots: Iterable[str]) -> None:
        self.exact = frozenset(roots)
        self.prefixes = tuple(root.rstrip(os.sep) + os.sep for root in self.exact)

    def holds(self, path: str) -> bool:
        return path in self.exact or path.startswith(self.prefixes)


def helper_modules(modules: Mapping[str, object] | None = None) -> dict[str, Path]:
    """Return the modules of ``modules`` (default :data:`sys.modules`) that are the notebook's own code.

    That is a ``.py`` file under a :data:`sys.path` folder (or the working directory) that is not an
    installation folder (the standard library, site-packages), and not an installed package's file.
    """
    installed = _Roots(_INSTALLED_PATHS)
    folders = []
    for entry in sys.path:
        folder = str(Path(entry or os.getcwd()).resolve())
        if os.path.isdir(folder) and not installed.holds(folder):
            folders.append(folder)
    roots = _Roots(folders)
    found: dict[str, Path] = {}
    for name, module in list((sys.modules if modules is None else modules).items()):
        file = getattr(module, "__file__", None)
        if not isinstance(module, types.ModuleType) or not isinstance(file, str) or not file.endswith(".py"):
            continue
        if name == "__main__" or name.split(".")[0] in _NOT_HELPERS or installed.holds(file):
            continue  # most modules end here, before any file system call
        path = Path(file).resolve()
        if roots.holds(str(path)) and not installed.holds(str(path)):
            found[name] = path
    return found


def _local_names(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """The names local to ``function``: its parameters and what its own body binds, less its ``global``s."""
    arguments = function.args
    names = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    names |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    declared: set[str] = set()
    pending: list[ast.AST] = list(function.body) if isinstance(function.body, list) else [function.body]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue  # a nested scope binds its own names
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Global):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        pending.extend(ast.iter_child_nodes(node))
    return names - declared


class _SetCalls(ast.NodeVisitor):
    """Finds ``<x>.taskValues.set(...)`` calls: the line, and ``<name>`` when ``<x>`` is ``<name>.jobs`` with
    ``<name>`` a global of the module (``None`` when it is a parameter, a local or anything else)."""

    def __init__(self) -> None:
        self.scopes: list[set[str]] = []
        self.calls: list[tuple[int, str | None]] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.scopes.append(_local_names(node))
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "set"
            and isinstance(func.value, ast.Attribute)
            and func.value.attr == "taskValues"
        ):
            holder = func.value.value
            name = None
            if (
                isinstance(holder, ast.Attribute)
                and holder.attr == "jobs"
                and isinstance(holder.value, ast.Name)
            ):
                name = holder.value.id
            if name is not None and any(name in scope for scope in self.scopes):
                name = None
            self.calls.append((node.lineno, name))
        self.generic_visit(node)


def _set_calls(path: Path) -> list[tuple[int, str | None]]:
    try:
        source = path.read_text(encoding="utf-8")
        if not _SET_CALL.search(source):
            return []
        tree = ast.parse(source, str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return []  # a module that cannot be read again cannot be judged
    visitor = _SetCalls()
    visitor.visit(tree)
    return visitor.calls


def _globals_of(module: object) -> dict[str, Any]:
    return dict(getattr(module, "__dict__", {}))


def _foreign_globals(
    helpers: Mapping[str, Path], modules: Mapping[str, object], ours: object
) -> dict[str, str]:
    """The globals of the helper modules bound to a ``dbutils`` that is not ours, qualified by module."""
    return {
        f"{name}.{attribute}": _describe(value)
        for name in helpers
        for attribute, value in _globals_of(modules[name]).items()
        if not attribute.startswith("__") and _is_foreign(attribute, value, ours)
    }


def _helper_set_calls(
    helpers: Mapping[str, Path], modules: Mapping[str, object], ours: object
) -> list[dict[str, Any]]:
    """Each ``taskValues.set`` call of the helpers' source; ``foreign`` names what a global it goes through is."""
    calls = []
    for name, path in helpers.items():
        namespace = _globals_of(modules[name])
        for line, through in _set_calls(path):
            bound = namespace.get(through) if through else None
            foreign = _describe(bound) if through and _is_foreign(through, bound, ours) else None
            calls.append(
                {"module": name, "path": str(path), "line": line, "through": through, "foreign": foreign}
            )
    return calls


# -- the check -----------------------------------------------------------------------------------------------


def task_end_report(
    namespace: dict[str, Any] | None = None, modules: Mapping[str, object] | None = None
) -> dict[str, Any]:
    """Return what the guard sees: foreign ``dbutils`` bindings, cells and helpers that call ``set``, values astray.

    Parameters
    ----------
    namespace
        The notebook's namespace; by default the running IPython shell's.
    modules
        The imported modules to look for helpers in; by default :data:`sys.modules`.
    """
    from ..context import current_context
    from .namespace import runtime_namespace
    from .session import attached_context, session_values

    ours = runtime_namespace()["dbutils"]
    if namespace is None:
        from IPython import get_ipython  # in a kernel IPython is already imported

        shell = get_ipython()
        namespace = shell.user_ns if shell is not None else {}
    modules = sys.modules if modules is None else modules
    history = [str(source) for source in namespace.get("In", [])]  # In[n] is the cell of execution count n
    foreign: dict[str, str] = {}
    bound = namespace.get("dbutils")
    if bound is not None and bound is not ours:
        foreign["dbutils"] = _describe(bound)
    for name, value in namespace.items():
        if name != "dbutils" and not name.startswith("_") and _is_sdk_dbutils(value):
            foreign[name] = _describe(value)
    sdk_runtime = modules.get("databricks.sdk.runtime")
    sdk_dbutils = getattr(sdk_runtime, "dbutils", None)
    if sdk_dbutils is not None and sdk_dbutils is not ours:
        foreign["databricks.sdk.runtime.dbutils"] = _describe(sdk_dbutils)
    helpers = helper_modules(modules)
    helper_foreign = _foreign_globals(helpers, modules, ours)
    # Reading the helpers' source costs a little: only when some dbutils is foreign.
    helper_sets = _helper_set_calls(helpers, modules, ours) if foreign or helper_foreign else []
    set_cells = [number for number, source in enumerate(history) if source and _SET_CALL.search(source)]
    in_task = current_context() is not None
    astray = sorted(session_values()) if in_task else []
    return {
        "foreign": foreign,
        "set_cells": set_cells,
        "helper_foreign": helper_foreign,
        "helper_sets": helper_sets,
        "astray": astray,
        "attached": attached_context() is not None,
    }


_FIX = (
    "Do not rebind dbutils (remove `dbutils = ...`; `from databricks.sdk.runtime import dbutils` is fine in a "
    "task, where it gives ours), then run the task again"
)


def _where(call: Mapping[str, Any]) -> str:
    return f"{call['module']} ({call['path']}) line {call['line']}"


def _problems(report: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if report["foreign"] and report["set_cells"]:
        bindings = "; ".join(f"{name} is a {what}" for name, what in report["foreign"].items())
        cells = ", ".join(f"In [{number}]" for number in report["set_cells"])
        problems.append(
            f"the notebook calls dbutils.jobs.taskValues.set ({cells}), but {bindings}, not jupyter-taskvalues' "
            f"dbutils: a remote dbutils drops task values off Databricks. {_FIX}"
        )
    for call in report["helper_sets"]:
        if call["foreign"] is not None:
            problems.append(
                f"{_where(call)} calls {call['through']}.jobs.taskValues.set on its global {call['through']}, "
                f"a {call['foreign']}, not jupyter-taskvalues' dbutils: a remote dbutils drops task values off "
                f"Databricks. In {call['module']}, bind {call['through']} to ours: `from databricks.sdk.runtime "
                "import dbutils` gives it in a task (a RemoteDbUtils never does), then run the task again"
            )
    if report["astray"]:
        keys = ", ".join(repr(key) for key in report["astray"])
        problems.append(
            f"task values {keys} were set in the interactive session, not in the run "
            "(the notebook ran %taskvalue attach); remove the attach from the task's notebook"
        )
    return problems


def _warnings_of(report: Mapping[str, Any]) -> list[str]:
    """One warning per foreign ``dbutils`` the guard cannot prove a value was set through."""
    unknown = [call for call in report["helper_sets"] if call["foreign"] is None]
    seen = (
        " The guard cannot tell whether a value was set through it: "
        + "; ".join(f"{_where(call)} calls taskValues.set on an object it was given" for call in unknown)
        + "."
        if unknown
        else " No cell calls taskValues.set through it, but code the guard cannot follow may."
    )
    bound = {**report["foreign"], **report["helper_foreign"]}
    return [
        f"{name} is a {what}, not jupyter-taskvalues' dbutils.{seen} A value set through it is lost (a remote "
        f"dbutils drops task values off Databricks). {_FIX}."
        for name, what in bound.items()
    ]


def check_task_end(
    namespace: dict[str, Any] | None = None, modules: Mapping[str, object] | None = None
) -> list[str]:
    """Raise :class:`LostTaskValuesError` if task values of this task went nowhere; return the warnings.

    See the module for what fails and what warns. The warnings are also kept for :data:`GUARD_WARNINGS`.

    Raises
    ------
    LostTaskValuesError
        The message names the object ``dbutils`` is bound to, the cells (or the helper's line) that call
        ``set`` and the fix.
    """
    _warnings.clear()
    report = task_end_report(namespace, modules)
    problems = _problems(report)
    if problems:
        raise LostTaskValuesError(
            "Task values were lost: " + "; and ".join(problems) + ".",
            foreign={**report["foreign"], **report["helper_foreign"]},
            set_cells=report["set_cells"],
            astray=report["astray"],
        )
    _warnings.extend(_warnings_of(report))
    return list(_warnings)


def last_warnings() -> list[str]:
    """Return the warnings of the last :func:`check_task_end` in this process."""
    return list(_warnings)


def read_warnings(reply_content: Mapping[str, Any]) -> list[str]:
    """Return the warnings from the ``execute_reply`` content of :data:`GUARD_CODE` sent with
    ``user_expressions={"warnings": GUARD_WARNINGS}`` (the kernel shows them as the ``repr`` of a list)."""
    from ..task_cell import user_expression

    shown = user_expression(reply_content, "warnings")
    return [str(warning) for warning in shown] if isinstance(shown, list) else []
