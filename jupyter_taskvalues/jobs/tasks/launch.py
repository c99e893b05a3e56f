"""The entry of a script or wheel task's process: make it a task as a kernel is, then run the user's code.

``python -m jupyter_taskvalues.jobs.tasks.launch script FILE ARG...`` runs ``FILE`` as ``__main__`` with
``sys.argv = [FILE, ARG...]``; ``... entry PACKAGE ENTRY_POINT ARG...`` calls that entry point of the
distribution ``PACKAGE`` (any group, console scripts first; when its metadata has none of that name, the function
``PACKAGE.ENTRY_POINT``, as Databricks does) with ``sys.argv = [ENTRY_POINT, ARG...]`` and exits with what it
returns.

Before that the runtime seam is installed (as ``%load_ext jupyter_taskvalues`` does in a task's kernel), so
``from databricks.sdk.runtime import dbutils`` and ``from jupyter_taskvalues import dbutils`` both reach the
run's store. The task context itself comes from the environment (:mod:`jupyter_taskvalues.context`). stdout is
line-buffered, as on a terminal: the runner reads stdout and stderr from two pipes into one output log, and a
line printed before a traceback must reach it first.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
import runpy
import sys
from collections.abc import Callable
from importlib import metadata
from typing import Any

__all__ = ["find_entry_point", "main", "missing_entry_point"]


def find_entry_point(package: str, name: str) -> metadata.EntryPoint | None:
    """Return the entry point ``name`` (any group, console scripts first) of distribution ``package``."""
    try:
        distribution = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None
    points = sorted(distribution.entry_points, key=lambda p: p.group != "console_scripts")
    return next((p for p in points if p.name == name), None)


def main(argv: list[str]) -> int:
    """Run what ``argv`` names (see the module docstring); return the process's exit code."""
    from ...runtime import seam

    seam.install()
    if isinstance(sys.stdout, io.TextIOWrapper):  # a pipe is block-buffered otherwise (see the docstring)
        sys.stdout.reconfigure(line_buffering=True)
    mode, target, *rest = argv
    if mode == "script":
        sys.argv = [target, *rest]
        sys.path.insert(0, os.path.dirname(target))
        runpy.run_path(target, run_name="__main__")
        return 0
    entry_name, *args = rest
    function = _entry_function(target, entry_name)
    if function is None:
        print(missing_entry_point(target, entry_name), file=sys.stderr)
        return 1
    sys.argv = [entry_name, *args]
    returned = function()
    return returned if isinstance(returned, int) else 0


def _entry_function(package: str, name: str) -> Callable[[], Any] | None:
    """The entry point ``name`` of ``package``; else, as Databricks does, the function ``<package>.<name>``."""
    point = find_entry_point(package, name)
    if point is not None:
        loaded: Callable[[], Any] = point.load()
        return loaded
    module_name = package.replace("-", "_")
    if importlib.util.find_spec(module_name) is None:
        return None
    function = getattr(importlib.import_module(module_name), name, None)  # its own import errors propagate
    return function if callable(function) else None


def missing_entry_point(package: str, name: str) -> str:
    """The error of a wheel task whose entry point is neither in the package's metadata nor a function of it."""
    try:
        known = sorted({p.name for p in metadata.distribution(package).entry_points})
    except metadata.PackageNotFoundError:
        known = []
    return (
        f"Package {package!r} has no entry point {name!r} (its entry points: {', '.join(known) or 'none'}), "
        f"and its module {package.replace('-', '_')!r} has no function {name!r}; fix entry_point, or add it "
        "under [project.scripts] of the package."
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
