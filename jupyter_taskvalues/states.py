"""Task and job result states, and the ``run_if`` rules that decide whether a task runs (SPEC §4).

A dependency counts as *succeeded* when it is ``SUCCESS`` or ``EXCLUDED`` (a skipped branch counts as success),
*failed* when it is ``FAILED``, ``TIMEDOUT`` or ``UPSTREAM_FAILED``, and *canceled* when it is ``CANCELED`` or
``UPSTREAM_CANCELED``. A dependency on a condition task whose outcome is not the one named in ``depends_on``
counts as ``EXCLUDED``.

- A task whose dependencies are all ``EXCLUDED`` is ``EXCLUDED``.
- A canceled dependency makes the task ``UPSTREAM_CANCELED`` unless its ``run_if`` is ``ALL_DONE``.
- ``ALL_SUCCESS``, ``AT_LEAST_ONE_SUCCESS`` and ``NONE_FAILED`` not met: ``UPSTREAM_FAILED``.
- ``AT_LEAST_ONE_FAILED`` and ``ALL_FAILED`` not met: ``EXCLUDED``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ACTIVE_STATES",
    "CANCELED_STATES",
    "FAILED_STATES",
    "FINAL_STATES",
    "SUCCEEDED_STATES",
    "job_result",
    "run_if_verdict",
]

SUCCEEDED_STATES = frozenset({"SUCCESS", "EXCLUDED"})
FAILED_STATES = frozenset({"FAILED", "TIMEDOUT", "UPSTREAM_FAILED"})
CANCELED_STATES = frozenset({"CANCELED", "UPSTREAM_CANCELED"})
FINAL_STATES = SUCCEEDED_STATES | FAILED_STATES | CANCELED_STATES
#: States of a run that has not ended: its runner may still write to it (a dead runner's run reads ``INTERRUPTED``).
ACTIVE_STATES = frozenset({"PENDING", "RUNNING"})
#: States a repair re-runs by default.
REPAIRABLE_STATES = frozenset({"FAILED", "TIMEDOUT", "CANCELED", "UPSTREAM_FAILED", "UPSTREAM_CANCELED"})


def run_if_verdict(run_if: str, dependency_states: Sequence[str]) -> str | None:
    """Return ``None`` if the task should run, else the final state it takes without running."""
    if not dependency_states:
        return None
    if all(state == "EXCLUDED" for state in dependency_states):
        return "EXCLUDED"
    if run_if == "ALL_DONE":
        return None
    if any(state in CANCELED_STATES for state in dependency_states):
        return "UPSTREAM_CANCELED"
    succeeded = [state in SUCCEEDED_STATES for state in dependency_states]
    failed = [state in FAILED_STATES for state in dependency_states]
    executed = [state != "EXCLUDED" for state in dependency_states]
    if run_if == "ALL_SUCCESS":
        return None if all(succeeded) else "UPSTREAM_FAILED"
    if run_if == "AT_LEAST_ONE_SUCCESS":
        return None if any(s and e for s, e in zip(succeeded, executed)) else "UPSTREAM_FAILED"
    if run_if == "NONE_FAILED":
        return None if not any(failed) and any(executed) else "UPSTREAM_FAILED"
    if run_if == "AT_LEAST_ONE_FAILED":
        return None if any(failed) else "EXCLUDED"
    if run_if == "ALL_FAILED":
        relevant = [f for f, e in zip(failed, executed) if e]
        return None if relevant and all(relevant) else "EXCLUDED"
    raise ValueError(f"Unknown run_if condition {run_if!r}.")


def job_result(task_states: dict[str, str], leaves: Sequence[str], *, canceled: bool, timed_out: bool) -> str:
    """Return the job's result state from its tasks' states, judged by its leaf tasks (SPEC §4)."""
    if timed_out:
        return "TIMEDOUT"
    if canceled:
        return "CANCELED"
    if any(task_states[key] not in SUCCEEDED_STATES for key in leaves):
        if any(task_states[key] in CANCELED_STATES for key in leaves) and not any(
            state in FAILED_STATES for state in task_states.values()
        ):
            return "CANCELED"
        return "FAILED"
    if any(state in FAILED_STATES | CANCELED_STATES for state in task_states.values()):
        return "SUCCESS_WITH_FAILURES"
    return "SUCCESS"
