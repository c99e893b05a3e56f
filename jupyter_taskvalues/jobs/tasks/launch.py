"""The entry of a script or wheel task's process: make it a task as a kernel is, then run the user's code.

``python -m jupyter_taskvalues.jobs.tasks.launch script FILE ARG...`` runs ``FILE`` as ``__main__`` with
``sys.argv = [FILE, ARG...]``; ``... entry PACKAGE ENTRY_POINT ARG...`` calls that entry point of the
distribution ``PACKAGE`` with ``sys.argv = [ENTRY_POINT, ARG...]`` and exits with what it returns.

Before that the runtime seam is installed (as ``%load_ext jupyter_taskvalues`` does in a task's kernel), so
``from databricks.sdk.runtime import dbutils`` and ``from jupyter_taskvalues import dbutils`` both reach the
run's store. The task context itself comes from the environment (:mod:`jupyter_taskvalues.context`).
"""

from __future__ import annotations

import os
import runpy
import sys
from importlib import metadata

__all__ = ["find_entry_point", "main"]


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
    mode, target, *rest = argv
    if mode == "script":
        sys.argv = [target, *rest]
        sys.path.insert(0, os.path.dirname(target))
        runpy.run_path(target, run_name="__main__")
        return 0
    entry_name, *args = rest
    point = find_entry_point(target, entry_name)
    if point is None:
        print(f"Package {target!r} has no entry point {entry_name!r}.", file=sys.stderr)
        return 1
    sys.argv = [entry_name, *args]
    returned = point.load()()
    return returned if isinstance(returned, int) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
