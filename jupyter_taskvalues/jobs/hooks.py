"""Lifecycle callbacks of a run, which the CLI's live display (and any other observer) subclasses.

The scheduler calls :meth:`RunHooks.run_started`, :meth:`RunHooks.task_changed` and :meth:`RunHooks.run_finished`
on the hooks given to the run. Task output (what a notebook prints while it runs) comes from deeper down, from
the executor that watches the kernel's messages; an observer that wants it wraps the run in
:func:`streaming_output`, and the executor calls :func:`report_output` for each piece of output::

    with streaming_output(display):
        await async_run_job("job.yml", hooks=display)

The observer travels in a :class:`~contextvars.ContextVar`, so each run started in its own asyncio task (the
server starts several) reports to its own observer, and a run nobody watches costs one lookup per output.
Only executors that run kernels in this process stream output (``local``); a Dask worker's output stays in the
executed notebook.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from ..records import TaskRecord

if TYPE_CHECKING:
    from .model import JobSpec

__all__ = ["RunHooks", "output_wanted", "report_output", "streaming_output"]


class RunHooks:
    """Callbacks the scheduler makes as a run progresses; each does nothing unless overridden."""

    def run_started(self, run_id: str, spec: JobSpec) -> None:
        """The run was created and is about to start its first tasks."""

    def task_changed(self, run_id: str, task_key: str, record: TaskRecord) -> None:
        """A task's record changed (a new state, attempt or iteration)."""

    def task_output(self, run_id: str, task_key: str, stream: str, text: str) -> None:
        """A running task printed ``text`` on ``stream`` (``"stdout"`` or ``"stderr"``).

        Called only inside :func:`streaming_output`, on the event loop's thread, as the output arrives.
        """

    def run_finished(self, run_id: str, state: str) -> None:
        """The run reached its final state."""


_observer: ContextVar[RunHooks | None] = ContextVar("jupyter_taskvalues_output_observer", default=None)


@contextmanager
def streaming_output(hooks: RunHooks) -> Iterator[None]:
    """Send the output of the tasks of runs started inside this block to ``hooks.task_output``."""
    token = _observer.set(hooks)
    try:
        yield
    finally:
        _observer.reset(token)


def output_wanted() -> bool:
    """Whether someone listens to task output here (an executor skips the work otherwise)."""
    return _observer.get() is not None


def report_output(run_id: str, task_key: str, stream: str, text: str) -> None:
    """Hand a piece of a task's output to the observer of this context, if there is one."""
    observer = _observer.get()
    if observer is not None and text:
        observer.task_output(run_id, task_key, stream, text)
