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

**Ours**: the functions run in this process with the bundle folder first on ``sys.path`` (``venv_path`` is not
used: the package and the bundle's own imports must be importable here; install them into this
environment). The package is the optional extra ``jupyter-taskvalues[bundles]``.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .documents import fail, tag_notebook_dirs

if TYPE_CHECKING:
    from .bundle import _Bundle

__all__ = ["load_python_resources"]


def _functions(root: Path, section: Mapping[Any, Any], field: str) -> list[tuple[str, Callable[..., Any]]]:
    names = section.get(field) or []
    if not isinstance(names, list) or not all(isinstance(n, str) and ":" in n for n in names):
        raise fail(
            root,
            f'python.{field} must be a list of "module:function" names, e.g. "resources:load_resources".',
        )
    found = []
    for name in names:
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


def load_python_resources(found: _Bundle, target: str | None, variables: Mapping[str, Any]) -> None:
    """Add the resources the bundle's Python functions define to ``found``, then apply its mutators.

    Raises
    ------
    JobSpecError
        ``databricks-bundles`` is not installed (the error names the extra), a function cannot be loaded or
        raises (the error names it and the exception), or it does not return ``Resources``.
    """
    root = found.root
    section = found.python
    if not isinstance(section, Mapping):
        raise fail(root, "python: must be a mapping (resources: [...], mutators: [...]).")
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
        values = {k: v.get("default") if isinstance(v, Mapping) else v for k, v in found.variables.items()}
        values.update(variables)
        bundle = Bundle(target=target or "default", variables=values)
        loaded = Resources()  # type: ignore[no-untyped-call]
        for name, function in _functions(root, section, "resources"):
            result = _call(root, name, function, copy.deepcopy(bundle))
            if not isinstance(result, Resources):
                raise fail(root, f"python: {name} returned {type(result).__name__}, not Resources.")
            loaded.add_resources(result)
        mutators = _functions(root, section, "mutators")
    finally:
        sys.path.remove(folder)
    for kind in ("jobs", "pipelines", "schemas", "volumes"):
        items = getattr(loaded, kind, None) or {}
        if items:
            plain = {key: resource.as_dict() for key, resource in items.items()}
            if kind == "jobs":
                tag_notebook_dirs(plain, root.parent)
            found.add_resources(kind, plain, root)
    if mutators:
        _mutate_jobs(found, bundle, mutators)


def _mutate_jobs(found: _Bundle, bundle: Any, mutators: list[tuple[str, Callable[..., Any]]]) -> None:
    from databricks.bundles.core import ResourceMutator
    from databricks.bundles.jobs import Job

    jobs = found.resources.get("jobs", {})
    for key, settings in list(jobs.items()):
        plain = {k: v for k, v in settings.items() if isinstance(k, str)}
        job = Job.from_dict(plain)  # type: ignore[arg-type]
        for name, mutator in mutators:
            if not isinstance(mutator, ResourceMutator):
                raise fail(
                    found.root, f"python.mutators: {name} is not a mutator; decorate it with @job_mutator."
                )
            if mutator.resource_type is not Job:
                continue
            job = _call(found.root, name, mutator.function, copy.deepcopy(bundle), job)
        mutated = job.as_dict()
        tag_notebook_dirs({key: mutated}, found.defined_in[("jobs", key)].parent)
        jobs[key] = mutated
