"""Databricks-style task values and multi-notebook jobs for open-source Jupyter.

In a notebook::

    %load_ext jupyter_taskvalues
    dbutils.jobs.taskValues.set("rows", 1204)

From Python::

    from jupyter_taskvalues import run_job
    run = run_job("examples/income/job.yml")
    run["tasks"]["Best_Model"]["values"]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .exceptions import (
    InvalidKeyError,
    InvalidValueError,
    JobSpecError,
    RunNotFoundError,
    TaskNotFoundError,
    TaskValuesError,
    ValueLimitError,
    ValueNotFoundError,
    ValueTooLargeError,
)

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from .store import RunStore

__version__ = "0.1.0"

__all__ = [
    "InvalidKeyError",
    "InvalidValueError",
    "JobSpecError",
    "RunNotFoundError",
    "RunStore",
    "TaskNotFoundError",
    "TaskValuesError",
    "ValueLimitError",
    "ValueNotFoundError",
    "ValueTooLargeError",
    "__version__",
    "async_run_job",
    "dbutils",
    "load_ipython_extension",
    "load_job",
    "open_store",
    "repair_run",
    "run_document",
    "run_job",
    "unload_ipython_extension",
]

# Loaded on first use, so that `import jupyter_taskvalues` stays light in kernels and the CLI.
_LAZY = {
    "RunStore": ("jupyter_taskvalues.store", "RunStore"),
    "dbutils": ("jupyter_taskvalues.runtime.dbutils", "dbutils"),
    "run_job": ("jupyter_taskvalues.jobs.api", "run_job"),
    "async_run_job": ("jupyter_taskvalues.jobs.api", "async_run_job"),
    "repair_run": ("jupyter_taskvalues.jobs.api", "repair_run"),
    "load_job": ("jupyter_taskvalues.jobs.spec.loader", "load_job"),
    "run_document": ("jupyter_taskvalues.jobs.api", "read_run"),
    "open_store": ("jupyter_taskvalues.store", "open_store"),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'jupyter_taskvalues' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register ``%taskvalue`` and put ``dbutils`` in the user namespace (``%load_ext jupyter_taskvalues``)."""
    from .ipython.extension import (
        load_ipython_extension as load,  # not .magics: %taskvalue loads it on first use
    )

    load(ipython)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """Undo :func:`load_ipython_extension` (``%unload_ext jupyter_taskvalues``)."""
    from .ipython.extension import unload_ipython_extension as unload

    unload(ipython)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server import _jupyter_server_extension_points as points  # jupyter_server is imported only here

    return points()


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-taskvalues"}]
