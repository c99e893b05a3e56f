"""Lifecycle callbacks of a run, which the CLI's live display (and any other observer) subclasses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import JobSpec

__all__ = ["RunHooks"]


class RunHooks:
    """Callbacks the scheduler makes as a run progresses; each does nothing unless overridden."""

    def run_started(self, run_id: str, spec: JobSpec) -> None:
        """The run was created and is about to start its first tasks."""

    def task_changed(self, run_id: str, task_key: str, record: dict[str, Any]) -> None:
        """A task's record changed (a new state, attempt or iteration)."""

    def run_finished(self, run_id: str, state: str) -> None:
        """The run reached its final state."""
