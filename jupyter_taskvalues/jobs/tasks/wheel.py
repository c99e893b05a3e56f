"""``python_wheel_task``: call the entry point of a package, in a fresh interpreter.

Which package runs (**ours**, documented in the README):

1. the wheels the task's ``libraries: [{whl: ...}]`` name, when they exist; else
2. the bundle's ``artifacts`` (``type: whl``), built with ``pip wheel --no-deps --no-build-isolation`` into the
   run's folder, once per run; else
3. the distribution already installed in this Python, when it provides the entry point.

A bundle's wheel wins over an installed distribution of the same name, as the task's library is what a
cluster would install. Wheels are installed with ``pip install --no-index --no-deps --target`` into the run's
folder (no network) and put first on the process's ``PYTHONPATH``. ``parameters`` are argv as written, then
``named_parameters`` as ``--name=value``. An entry point missing from the package's metadata is looked for as
the function ``<package>.<entry_point>`` (as Databricks does); missing there too, the task fails with an error
that names both and lists the entry points the package has.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from ...store import utcnow
from ..model import WheelTask
from .base import TaskRequest, TaskResult
from .process import STDERR_TAIL_LINES, run_python

__all__ = ["WheelError", "argv_of", "prepare_wheels", "run_wheel"]

_locks: dict[str, asyncio.Lock] = {}


class WheelError(RuntimeError):
    """The package or its entry point cannot be found, or its wheel cannot be built or installed."""


def argv_of(wheel: WheelTask, parameters: list[str], named: dict[str, str]) -> list[str]:
    """Return the entry point's arguments: ``parameters``, then ``--name=value`` for each named parameter."""
    return [*parameters, *(f"--{name}={value}" for name, value in named.items())]


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-STDERR_TAIL_LINES:])
        raise WheelError(f"pip {args[0]} failed:\n{tail}")


def prepare_wheels(wheel: WheelTask, folder: Path) -> Path | None:
    """Build (if needed) and install the task's wheels under ``folder``; return the install folder.

    Returns ``None`` when the task names no wheel and the bundle has no artifact: the installed distribution
    is used then. Building and installing happen once per folder.
    """
    files = [p for p in wheel.wheels if p.is_file()]
    if not files and not wheel.projects:
        return None
    target = folder / "site"
    if (folder / ".installed").is_file():
        return target
    if not files:
        dist = folder / "dist"
        for project in wheel.projects:
            if not project.is_dir():
                raise WheelError(
                    f"Artifact folder {str(project)!r} does not exist; fix artifacts.<name>.path in the bundle."
                )
            _pip(
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "--no-index",
                "-q",
                "-w",
                str(dist),
                str(project),
            )
        files = sorted(dist.glob("*.whl"))
    _pip("install", "--no-index", "--no-deps", "-q", "--target", str(target), *map(str, files))
    (folder / ".installed").write_text("\n".join(map(str, files)), encoding="utf-8")
    return target


def _check_package(wheel: WheelTask, site: Path | None) -> None:
    """Refuse a package that is neither installed nor in the task's wheels; the entry point is the process's."""
    if site is None:
        try:
            metadata.distribution(wheel.package_name)
        except metadata.PackageNotFoundError:
            raise WheelError(
                f"Package {wheel.package_name!r} is neither installed nor built from the bundle; add its project "
                "to the bundle's artifacts, name its wheel in the task's libraries, or pip install it."
            ) from None
        return
    names = {
        _normalize(d.metadata["Name"] or ""): d.metadata["Name"]
        for d in metadata.distributions(path=[str(site)])
    }
    if _normalize(wheel.package_name) not in names:
        raise WheelError(
            f"The task's wheels provide {', '.join(sorted(names.values())) or 'no package'}, not package "
            f"{wheel.package_name!r}; fix package_name or the wheel."
        )


async def run_wheel(wheel: WheelTask, argv: list[str], request: TaskRequest, folder: Path) -> TaskResult:
    """Run the entry point of ``wheel`` with ``argv`` as the task of ``request``; wheels go under ``folder``.

    ``folder`` is the run's; each set of wheel sources gets its own folder under it, built and installed once.
    """
    start = utcnow()
    # One install per set of wheel sources: two tasks of a run with other wheels must not share one.
    sources = "\n".join(map(str, (*wheel.wheels, *wheel.projects)))
    folder = folder / hashlib.sha256(sources.encode()).hexdigest()[:12]
    lock = _locks.setdefault(str(folder), asyncio.Lock())
    try:
        async with lock:
            site = await asyncio.to_thread(prepare_wheels, wheel, folder)
        _check_package(wheel, site)
    except WheelError as e:
        return TaskResult("FAILED", start, utcnow(), str(e))
    env = {}
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])
    return await run_python(request, ["entry", wheel.package_name, wheel.entry_point, *argv], extra_env=env)
