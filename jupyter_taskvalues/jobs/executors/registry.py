"""Executors run notebook tasks; they plug in by name, as papermill's engines do.

An executor takes :class:`~.executor.NotebookRun` requests and returns :class:`~.executor.NotebookResult`\\ s.
``local`` (the default) runs each task in a fresh kernel on this machine; other executors (a Dask cluster)
register themselves in :data:`EXECUTORS` under their name.

An executor class may describe itself to the command line with class attributes (all optional):
``cli_options`` (flag -> ``{"key": executor_options key, "metavar": ..., "help": ...}``), ``default_max_parallel``
(used when ``--max-parallel`` is not given) and ``requires`` (import names that must be installed; the CLI names
the extra to install before the run starts). :func:`executor_factory` returns the class without instantiating it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..scheduler import RunOptions
    from .notebook import NotebookResult, NotebookRun

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "executor_factory", "make_executor"]


class Executor(Protocol):
    """What the scheduler needs from an executor."""

    def expect(self, count: int) -> None:
        """``count`` more notebook runs will come (an executor may prepare for them, e.g. warm kernels)."""

    def forget(self, count: int) -> None:
        """``count`` notebook runs that were expected will not come after all (their tasks were skipped)."""

    async def run(self, request: NotebookRun) -> NotebookResult:
        """Execute one notebook run; a task failure is a result, not an exception. Cancel interrupts it."""

    async def close(self) -> None:
        """Release everything (kernels, connections); wait until it is released."""


class LocalExecutor:
    """Each notebook run in a fresh kernel on this machine, kernels started ahead by a :class:`KernelPool`."""

    def __init__(self, options: RunOptions) -> None:
        # nbclient is imported on a worker thread (executors/notebook.py) while kernels start on this one; a
        # first import of jupyter_client from both threads at once fails on its half-initialised package.
        import jupyter_client  # noqa: F401

        from ..kernels.pool import KernelPool

        warm = options.warm_kernels
        self.pool = KernelPool(
            # Two per task slot: a forked kernel starts in about the time a small task runs, so one ahead per
            # slot leaves tasks waiting for kernels (measured: 50 small tasks 1.6 times faster with two).
            2 * options.max_parallel if warm is None else warm,
            options.kernel_name,
            startup_timeout=options.startup_timeout,
            fork=options.fork_kernels,
        )

    def expect(self, count: int) -> None:
        self.pool.expect(count)

    def forget(self, count: int) -> None:
        self.pool.demand = max(0, self.pool.demand - count)

    async def run(self, request: NotebookRun) -> NotebookResult:
        from .notebook import execute_notebook

        return await execute_notebook(request, self.pool)

    async def close(self) -> None:
        await self.pool.close()


#: Executor factories by name. A value may be a ``"module:attribute"`` string, imported on first use.
EXECUTORS: dict[str, Callable[[RunOptions], Executor] | str] = {
    "local": LocalExecutor,
    "dask": "jupyter_taskvalues.jobs.executors.dask:DaskExecutor",
}


def executor_factory(name: str) -> Callable[[RunOptions], Executor]:
    """Return the factory (usually a class) registered as ``name``, importing it if registered as a string."""
    try:
        factory: Any = EXECUTORS[name]
    except KeyError:
        raise ValueError(
            f"Unknown executor {name!r}; choose one of: {', '.join(sorted(EXECUTORS))}."
        ) from None
    if isinstance(factory, str):
        module, _, attribute = factory.partition(":")
        factory = getattr(importlib.import_module(module), attribute)
    resolved: Callable[[RunOptions], Executor] = factory
    return resolved


def make_executor(options: RunOptions) -> Executor:
    """Return the executor named by ``options.executor``."""
    return executor_factory(options.executor)(options)
