"""Load a bundle's Python-defined resources in the bundle's own virtual environment (``python.venv_path``).

::

    python:
      venv_path: .venv
      resources: ["resources:load_resources"]
      mutators: ["mutators:add_tags"]

With ``venv_path`` the functions do not run in this process: as the Databricks CLI does, the venv's interpreter
runs ``python -m databricks.bundles.build`` in the bundle folder, once per phase (``load_resources``, then
``apply_mutators`` when there are mutators), reading the bundle as JSON and writing the resources back as JSON
with a diagnostics file. So the bundle's imports and its ``databricks-bundles`` version are the venv's, and this
environment needs neither. A relative ``venv_path`` is relative to the bundle folder.

A phase may take ``$JUPYTER_TASKVALUES_PYTHON_TIMEOUT`` seconds (default 300, read by
:func:`~jupyter_taskvalues.context.python_timeout`); past it the phase's process group is killed (a resource
function that loops or waits on the network, and what it started) and the load fails naming the bundle, the
phase, the limit and the variable. The interpreter is ``bin/python`` in the venv, ``Scripts/python.exe`` on
Windows (:func:`find_interpreter`).

Starting the venv's interpreter and importing the package takes a second or more, so what a phase wrote is
kept in this process and used again while its input, the files of the bundle folder (size and modification
time) and the venv's packages folder are the same; any change runs the phase again.

**Ours**: the mutators see the bundle's jobs only (as in this process, :mod:`.python_resources`). What the
package reports goes through :mod:`.python_diagnostics`: an error refuses the bundle with its summary and the
exception's last line, a warning joins the jobs' warnings.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from ...context import DEFAULT_PYTHON_TIMEOUT, PYTHON_TIMEOUT_ENV, python_timeout
from .documents import fail, untagged
from .python_diagnostics import BundleWarning, read_diagnostics

__all__ = ["find_interpreter", "run_build_phase", "venv_interpreter"]

#: What a phase wrote, by its input and :func:`_fingerprint`: a bundle read twice (``validate`` lists its
#: jobs, then loads each) starts the venv's interpreter once, which takes a second or more.
_DONE: dict[tuple[Any, ...], tuple[dict[str, Any], list[BundleWarning]]] = {}
#: The most phase results kept.
_MOST_KEPT: Final = 32
#: The most files of a bundle folder looked at to tell whether a phase would read the same; past it, none kept.
_MOST_FILES: Final = 10_000


#: Where a venv keeps its interpreter, first choice first, on Windows (``True``: ``python -m venv`` writes
#: ``Scripts/python.exe``, an MSYS2 Python ``bin/python.exe``) and elsewhere (``bin/python``).
_INTERPRETERS: Final = {
    True: ("Scripts/python.exe", "bin/python.exe"),
    False: ("bin/python", "bin/python3"),
}


def find_interpreter(venv: Path, *, windows: bool = sys.platform == "win32") -> Path | None:
    """Return the interpreter of the virtual environment in the folder ``venv``, or ``None`` if it has none.

    Parameters
    ----------
    venv
        The venv's folder.
    windows
        Look for the Windows layout (``Scripts/python.exe``) rather than the POSIX one (``bin/python``);
        default: whether this platform is Windows.
    """
    for relative in _INTERPRETERS[windows]:
        if (venv / relative).is_file():
            return venv / relative
    return None


def venv_interpreter(root: Path, venv_path: Any) -> Path:
    """The interpreter of the venv ``venv_path`` names (relative to the bundle folder of ``root``).

    Raises
    ------
    JobSpecError
        ``venv_path`` is not a string, or names no virtual environment: the error names the path and the fix.
    """
    if not isinstance(venv_path, str) or not venv_path.strip():
        raise fail(root, "python.venv_path must be the path of a virtual environment, e.g. .venv.")
    venv = (root.parent / venv_path).resolve()
    if not venv.is_dir():
        raise fail(
            root,
            f"python.venv_path: the virtual environment {str(venv)!r} does not exist. Create it "
            f"(python -m venv {venv_path}, then install databricks-bundles and the bundle's imports into it), "
            "or remove venv_path to load the Python resources with this Python.",
        )
    python = find_interpreter(venv)
    if python is None:
        expected = Path(_INTERPRETERS[sys.platform == "win32"][0])
        raise fail(
            root,
            f"python.venv_path: {str(venv)!r} is not a virtual environment: it has no {expected.name} in "
            f"{expected.parent.name}/. Recreate it with python -m venv {venv_path}.",
        )
    return python


def _diagnostics(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except ValueError:  # expected: a line the package did not write as JSON; it says nothing we can use
            continue
        if isinstance(item, dict):
            found.append(item)
    return found


def run_build_phase(
    root: Path,
    python: Path,
    phase: str,
    section: Mapping[Any, Any],
    target: str,
    variables: Mapping[str, Any],
    resources: Mapping[str, Any],
) -> tuple[dict[str, Any], list[BundleWarning]]:
    """Run one phase of ``databricks.bundles.build`` with ``python``; the resources it writes, and its warnings.

    The warnings are the package's warning diagnostics (:func:`~.python_diagnostics.read_diagnostics`).

    Parameters
    ----------
    root
        The bundle's ``databricks.yml``; the phase runs in its folder, which is first on the venv's ``sys.path``.
    python
        The venv's interpreter (:func:`venv_interpreter`).
    phase
        ``load_resources`` (``resources`` is empty: what comes back is what the functions define) or
        ``apply_mutators`` (what comes back is ``resources`` mutated).
    section, target, variables
        The bundle's ``python:`` mapping, the target's name and the variables' values, as the functions see them.

    Raises
    ------
    JobSpecError
        The venv has no ``databricks-bundles``, a function cannot be loaded or raises, the package reports an
        error, the phase runs past its time limit or writes no output: each error names the venv and the fix.
    """
    bundle = {
        "bundle": {"target": target},
        "variables": {name: {"value": value} for name, value in variables.items()},
        "python": {k: v for k, v in untagged(dict(section)).items() if k in ("resources", "mutators")},
        "resources": untagged(dict(resources)),
    }
    text = json.dumps(bundle, default=str, sort_keys=True)
    fingerprint = _fingerprint(root, python)
    key = (str(root), str(python), phase, text, fingerprint)
    if fingerprint is None or key not in _DONE:
        found = _run_phase(root, python, phase, text)
        if fingerprint is None:
            return found
        while len(_DONE) >= _MOST_KEPT:
            del _DONE[next(iter(_DONE))]
        _DONE[key] = found
    return copy.deepcopy(_DONE[key])  # the caller tags and keeps what it gets


def _fingerprint(root: Path, python: Path) -> tuple[Any, ...] | None:
    """The state of what a phase may read: each file of the bundle folder and the venv's packages folders.

    ``None`` (nothing is kept) when the bundle folder holds more than :data:`_MOST_FILES` files.
    """
    venv = python.parent.parent
    seen: list[tuple[Any, ...]] = []
    for folder, folders, names in os.walk(root.parent):
        folders[:] = [
            d for d in folders if not d.startswith(".") and d != "__pycache__" and Path(folder, d) != venv
        ]
        for name in names:
            try:
                stat = os.stat(os.path.join(folder, name))
            except OSError:  # expected: the file went away while the folder was listed; it is not read then
                continue
            seen.append((folder, name, stat.st_mtime_ns, stat.st_size))
            if len(seen) > _MOST_FILES:
                return None
    for packages in sorted([*venv.glob("lib/*/site-packages"), *venv.glob("Lib/site-packages")]):
        seen.append((str(packages), packages.stat().st_mtime_ns))  # a package installed or removed
    return tuple(seen)


def _run_bounded(
    root: Path, python: Path, phase: str, command: list[str], environment: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in the bundle folder; past ``timeout`` seconds it, and what it started, is killed.

    On Windows, which has no process groups here, only the phase's own process is killed.
    """
    try:
        process = subprocess.Popen(
            command,
            cwd=root.parent,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: a timeout kills what the bundle's code started too
        )
    except OSError as e:
        raise fail(root, f"python.venv_path: {str(python)!r} cannot be started ({e}).") from None
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise fail(
            root,
            f"python (in the venv {str(python.parent.parent)!r}): the {phase} phase of the bundle's Python code "
            f"did not finish within {timeout:g} s and was stopped; a resource function or mutator may loop or "
            f"wait on the network. Fix it, or allow more time with {PYTHON_TIMEOUT_ENV}=SECONDS "
            f"(default {DEFAULT_PYTHON_TIMEOUT:g}).",
        ) from None
    except BaseException:  # Ctrl-C: its own session does not get the signal, and it must not outlive the load
        _kill_group(process)
        raise
    return subprocess.CompletedProcess(command, process.returncode, "", stderr)


def _kill_group(process: subprocess.Popen[str]) -> None:
    """Kill ``process`` and its process group, and reap it."""
    try:
        if sys.platform == "win32":
            process.kill()
        else:
            os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:  # expected: it ended between the timeout and the kill
        pass
    try:
        process.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # a process it started left the group and holds the pipe: stop reading
        process.kill()
        process.wait()


def _run_phase(root: Path, python: Path, phase: str, text: str) -> tuple[dict[str, Any], list[BundleWarning]]:
    """Run the phase over the bundle JSON ``text`` in a fresh process of ``python``; the resources written,
    and the warnings the package reported."""
    venv = str(python.parent.parent)
    try:
        timeout = python_timeout()
    except ValueError as e:
        raise fail(root, str(e)) from None
    with tempfile.TemporaryDirectory(prefix="taskvalues-bundle-") as folder:
        files = {name: Path(folder, f"{name}.json") for name in ("input", "output", "diagnostics")}
        files["input"].write_text(text, encoding="utf-8")
        command = [str(python), "-m", "databricks.bundles.build", "--phase", phase]
        for name, file in files.items():
            command += [f"--{name}", str(file)]
        environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
        environment["VIRTUAL_ENV"] = venv
        # the bundle's own venv runs the bundle's own code, as the Databricks CLI does
        done = _run_bounded(root, python, phase, command, environment, timeout)
        diagnostics = _diagnostics(
            files["diagnostics"].read_text(encoding="utf-8") if files["diagnostics"].exists() else ""
        )
        warnings = read_diagnostics(root, diagnostics, f"python (in the venv {venv!r})")
        if (
            "No module named databricks.bundles" in done.stderr
            or "No module named 'databricks" in done.stderr
        ):
            raise fail(
                root,
                f"python.venv_path: the venv {venv!r} has no databricks-bundles package, which loads the "
                f"bundle's Python resources. Install it there: {python} -m pip install databricks-bundles.",
            )
        if done.returncode != 0 or not files["output"].exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise fail(
                root,
                f"python (in the venv {venv!r}): {phase} exited with code {done.returncode} ({last}). "
                "Fix the bundle's Python code and run again.",
            )
        written = json.loads(files["output"].read_text(encoding="utf-8"))
    found = written.get("resources") if isinstance(written, dict) else None
    return (found if isinstance(found, dict) else {}), warnings
