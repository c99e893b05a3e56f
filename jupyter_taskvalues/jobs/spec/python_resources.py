"""Load a bundle's Python-defined resources through the ``databricks-bundles`` package.

A bundle may define resources in Python::

    python:
      venv_path: .venv
      resources: ["resources:load_resources"]
      mutators: ["mutators:add_tags"]

Each ``module:function`` in ``resources`` is called with a ``databricks.bundles.core.Bundle`` (the target and
the variables' values) and returns ``Resources``; its jobs (``Job.as_dict()``), volumes, schemas... join the
YAML-defined ones (a key defined in both is an error). Each mutator (a function decorated with
``@job_mutator`` and the like) is then applied, in order, to every resource of its type, YAML-defined or not.

Without ``venv_path`` (**ours**) the functions run in this process with the bundle folder first on ``sys.path``:
the package (the optional extra ``jupyter-taskvalues[bundles]``) and the bundle's own imports must be importable
here. With ``venv_path`` they run in that venv's interpreter, as the Databricks CLI runs them (see
:mod:`.python_venv`), and this environment needs neither.

**Only the venv has a time limit.** In the venv a phase that runs past ``$JUPYTER_TASKVALUES_PYTHON_TIMEOUT``
seconds (default 300) is killed with what it started, and the load fails saying so. In this process a function
that loops or waits on the network hangs the load: a thread cannot be stopped, and a timeout that gave up
waiting would leave the function running (in the Jupyter Server, for as long as the server lives) with the
bundle folder on ``sys.path``, a limit in name only. Running these functions in a child of this interpreter
instead would cost a second or more per load and change what they see (this process's ``sys.path`` and
imports); whoever wants the limit sets ``venv_path``, and this environment's own venv will do.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .documents import fail, tag_notebook_dirs, untagged
from .python_diagnostics import BundleWarning, read_diagnostics

__all__ = ["load_python_resources"]


#: The resource types Python functions may define that this package reads.
_KINDS = ("jobs", "pipelines", "schemas", "volumes")


def _names(root: Path, section: Mapping[Any, Any], field: str) -> list[str]:
    names = section.get(field) or []
    if not isinstance(names, list) or not all(isinstance(n, str) and ":" in n for n in names):
        raise fail(
            root,
            f'python.{field} must be a list of "module:function" names, e.g. "resources:load_resources".',
        )
    return names


def _functions(root: Path, section: Mapping[Any, Any], field: str) -> list[tuple[str, Callable[..., Any]]]:
    found = []
    for name in _names(root, section, field):
        module_name, _, attribute = name.partition(":")
        try:
            module = importlib.import_module(module_name)
            function = getattr(module, attribute)
        except (ImportError, AttributeError) as e:
            raise fail(
                root,
                f"python.{field}: {name!r} cannot be loaded ({type(e).__name__}: {e}). Check the module is in "
                f"the bundle folder {str(root.parent)!r} and defines {attribute!r}.",
            ) from None
        found.append((name, function))
    return found


def _call(root: Path, name: str, function: Callable[..., Any], *args: Any) -> Any:
    try:
        wanted = len(inspect.signature(function).parameters)
        return function(*args[len(args) - wanted :]) if wanted < len(args) else function(*args)
    except Exception as e:  # the bundle's own code: any exception is reported with the function's name
        raise fail(
            root, f"python: {name} raised {type(e).__name__}: {e}. Fix the function and run again."
        ) from e


def load_python_resources(
    root: Path,
    section: Any,
    target: str,
    variables: Mapping[str, Any],
    resources: dict[str, dict[str, Any]],
    defined_in: dict[tuple[str, str], Path],
) -> list[BundleWarning]:
    """Add the resources the bundle's Python functions define to ``resources``, then apply its mutators.

    Returns the warnings ``databricks-bundles`` reported, each with the job it is about (``None``: every job).

    Parameters
    ----------
    root
        The bundle's ``databricks.yml``; its folder goes first on ``sys.path`` while the functions load.
    section
        The bundle's ``python:`` mapping.
    target, variables
        What the functions see as ``bundle.target`` and ``bundle.variables``.
    resources, defined_in
        The bundle's resources by type and key (target overrides applied), and the file of each: updated.

    Raises
    ------
    JobSpecError
        ``databricks-bundles`` is not installed (the error names the extra), a function cannot be loaded or
        raises (the error names it and the exception), it does not return ``Resources``, or the package
        reports an error (:mod:`.python_diagnostics`).
    """
    if not isinstance(section, Mapping):
        raise fail(root, "python: must be a mapping (resources: [...], mutators: [...]).")
    if section.get("venv_path") is not None:
        return _load_in_venv(root, section, target, variables, resources, defined_in)
    try:
        from databricks.bundles.core import Bundle, Resources
    except ImportError:
        raise fail(
            root,
            "python: the bundle defines its resources (jobs) in Python, which needs the databricks-bundles "
            "package. Install it: pip install 'jupyter-taskvalues[bundles]'.",
        ) from None
    folder = str(root.parent)
    sys.path.insert(0, folder)
    try:
        bundle = Bundle(target=target, variables=dict(variables))
        loaded = Resources()  # type: ignore[no-untyped-call]
        for name, function in _functions(root, section, "resources"):
            result = _call(root, name, function, copy.deepcopy(bundle))
            if not isinstance(result, Resources):
                raise fail(root, f"python: {name} returned {type(result).__name__}, not Resources.")
            loaded.add_resources(result)
        mutators = _functions(root, section, "mutators")
    finally:
        sys.path.remove(folder)
    reported = [d.as_dict() for d in loaded.diagnostics.items]
    warnings = read_diagnostics(root, reported, "python", base=Path.cwd())
    defined = {
        kind: {k: r.as_dict() for k, r in (getattr(loaded, kind, None) or {}).items()} for kind in _KINDS
    }
    _merge(root, defined, resources, defined_in)
    if mutators:
        _mutate_jobs(root, resources.get("jobs", {}), defined_in, bundle, mutators)
    return warnings


def _merge(
    root: Path,
    defined: Mapping[str, Any],
    resources: dict[str, dict[str, Any]],
    defined_in: dict[tuple[str, str], Path],
) -> None:
    """Add the resources the Python functions ``defined`` (plain settings by type and key) to ``resources``."""
    for kind in _KINDS:
        have = resources.setdefault(kind, {})
        items = defined.get(kind)
        for key, plain in (items if isinstance(items, dict) else {}).items():
            if key in have:
                where = defined_in[(kind, key)]
                raise fail(
                    root, f"python: resources.{kind}.{key} is defined in Python and in {str(where)!r}."
                )
            if kind == "jobs":
                tag_notebook_dirs({key: plain}, root.parent)
            have[key], defined_in[(kind, key)] = plain, root


def _load_in_venv(
    root: Path,
    section: Mapping[Any, Any],
    target: str,
    variables: Mapping[str, Any],
    resources: dict[str, dict[str, Any]],
    defined_in: dict[tuple[str, str], Path],
) -> list[BundleWarning]:
    """:func:`load_python_resources` in the interpreter of the bundle's ``python.venv_path``."""
    from .python_venv import run_build_phase, venv_interpreter

    python = venv_interpreter(root, section["venv_path"])
    _names(root, section, "resources")
    loaded, warnings = run_build_phase(root, python, "load_resources", section, target, variables, {})
    _merge(root, loaded, resources, defined_in)
    if not _names(root, section, "mutators"):
        return warnings
    jobs = resources.get("jobs", {})
    mutated, more = run_build_phase(
        root, python, "apply_mutators", section, target, variables, {"jobs": jobs}
    )
    for key, settings in (mutated.get("jobs") or {}).items():
        if key in jobs and isinstance(settings, dict):
            tag_notebook_dirs({key: settings}, defined_in[("jobs", key)].parent)
            jobs[key] = settings
    return warnings + more


def _mutate_jobs(
    root: Path,
    jobs: dict[str, Any],
    defined_in: dict[tuple[str, str], Path],
    bundle: Any,
    mutators: list[tuple[str, Callable[..., Any]]],
) -> None:
    from databricks.bundles.core import ResourceMutator
    from databricks.bundles.jobs import Job

    for key, settings in list(jobs.items()):
        file = defined_in[("jobs", key)]
        try:
            job = Job.from_dict(untagged(settings))  # type: ignore[arg-type]
        except (ValueError, TypeError) as e:
            raise fail(
                file, f"resources.jobs.{key}: the mutators cannot read this job ({e}); fix the field."
            ) from None
        for name, mutator in mutators:
            if not isinstance(mutator, ResourceMutator):
                raise fail(root, f"python.mutators: {name} is not a mutator; decorate it with @job_mutator.")
            if mutator.resource_type is not Job:
                continue
            job = _call(root, name, mutator.function, copy.deepcopy(bundle), job)
        mutated = job.as_dict()
        tag_notebook_dirs({key: mutated}, file.parent)
        jobs[key] = mutated
