"""Packages made truly absent, for the tests of "not installed": a site-packages without them.

A finder that raises for a name would differ from a missing package in how the import machinery gets there.
Instead :func:`site_without` builds a copy of this environment's site-packages out of symbolic links, leaving
out the hidden paths, and the code under test runs with that copy in place of the real one: a fresh
interpreter started with ``-S`` that adds it with :func:`site.addsitedir` (``.pth`` files included), or a
task's kernel whose first cell swaps it in (:func:`swap_cell`) before anything imported a hidden package.
"""

from __future__ import annotations

import fnmatch
import sysconfig
from pathlib import Path

__all__ = ["SDK", "SITE_PACKAGES", "SPARK", "site_without", "swap_cell"]

SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
#: databricks-sdk, leaving the rest of the ``databricks`` namespace package (databricks-bundles) in place.
SDK = ("databricks/sdk", "databricks_sdk-*")
#: pyspark and the py4j it needs.
SPARK = ("pyspark", "pyspark-*", "py4j", "py4j-*")


def site_without(folder: Path, hidden: tuple[str, ...]) -> Path:
    """Return a copy of site-packages under ``folder`` without the paths matching ``hidden`` (globs, ``/``)."""
    copy = folder / "site-packages"

    def mirror(source: Path, target: Path, prefix: str) -> None:
        target.mkdir(parents=True)
        for entry in source.iterdir():
            relative = prefix + entry.name
            if any(fnmatch.fnmatchcase(relative, pattern) for pattern in hidden):
                continue
            if any(pattern.startswith(relative + "/") for pattern in hidden):
                mirror(entry, target / entry.name, relative + "/")
            else:
                (target / entry.name).symlink_to(entry)

    mirror(SITE_PACKAGES, copy, "")
    return copy


def swap_cell(copy: Path, hidden_modules: tuple[str, ...]) -> str:
    """The first cell of a task whose kernel must not find the packages left out of ``copy``.

    It fails the task if a module of ``hidden_modules`` (top-level names) was imported before it ran.
    """
    return (
        "import importlib, site, sys\n"
        f"_early = sorted(m for m in sys.modules if m.split('.')[0] in {hidden_modules!r})\n"
        "assert not _early, f'imported before the swap: {_early}'\n"
        f"sys.path[:] = [p for p in sys.path if p != {str(SITE_PACKAGES)!r}]\n"
        f"site.addsitedir({str(copy)!r})\n"
        "importlib.invalidate_caches()\n"
        "del _early"
    )
