"""Cancel a run from another process: the request through the store, and the runner's watch for it.

A run executes in one process (the CLI's, or a Jupyter Server's runner manager). Any other process that sees the
runs directory cancels it by writing a request (:meth:`RunStore.request_cancel`): ``jupyter-taskvalues cancel``
does, and so does a server asked to cancel a run it did not start. The runner looks for requests every
:data:`REQUEST_POLL_INTERVAL` seconds (:func:`watch_cancel_requests`, run by
:class:`~jupyter_taskvalues.jobs.scheduler.JobRun`) and cancels exactly as an in-process cancel does: the run's
running tasks become ``CANCELED`` and their kernels are shut down, or the one task is canceled and its dependants
follow their ``run_if``. Who asked, through what and when is recorded in the task's error and in the run or task
record (``cancel_request``).

:func:`cancel_refusal` says why a request would not be honoured (the run finished, the task is not running), so
that the CLI and the server refuse it up front instead of writing a request nobody reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..exceptions import TaskValuesError
from ..records import CancelRequest
from ..store import RunStore

__all__ = ["REQUEST_POLL_INTERVAL", "cancel_refusal", "describe_request", "watch_cancel_requests"]

log = logging.getLogger(__name__)

#: Seconds between two looks of a runner for cancel requests (a cancel takes effect within about that long).
REQUEST_POLL_INTERVAL = 0.5

_LIVE_RUN_STATES = frozenset({"PENDING", "RUNNING"})


def cancel_refusal(store: RunStore, run_id: str, task_key: str | None = None) -> str | None:
    """Return why the run (or its task ``task_key``) cannot be canceled now, or ``None`` when it can.

    Raises
    ------
    RunNotFoundError, TaskNotFoundError
        No such run, or its job has no task ``task_key``.
    """
    run = store.read_run(run_id) if task_key is None else store.require_task(run_id, task_key)
    state = run.get("state")
    if state == "INTERRUPTED":
        return (
            f"Run {run_id!r} is INTERRUPTED: its runner stopped without recording an end, so there is nothing "
            f"to cancel. Repair it to finish it (`jupyter-taskvalues repair {run_id}`)."
        )
    if state not in _LIVE_RUN_STATES:
        return f"Run {run_id!r} has finished ({state}); there is nothing to cancel."
    if task_key is not None:
        task_state = (store.read_task(run_id, task_key) or {}).get("state", "PENDING")
        if task_state != "RUNNING":
            return (
                f"Task {task_key!r} of run {run_id!r} is {task_state}, not running; only a running task can be "
                "canceled (cancel the run to stop the tasks that have not started)."
            )
    return None


def describe_request(request: CancelRequest) -> str:
    """Who asked, through what and when: ``"by ada (cli on host1) at 2026-12-07T16:40:01.123Z"``."""
    who = request.get("requested_by") or "someone"
    via = request.get("via") or "api"
    host = request.get("host")
    place = f"{via} on {host}" if host else str(via)
    return f"by {who} ({place}) at {request.get('requested_at') or 'an unknown time'}"


def _take_requests(store: RunStore, run_id: str) -> list[CancelRequest]:
    """Read the run's requests and remove their files (unreadable ones too: they were logged)."""
    requests, garbage = store.cancel_requests(run_id)
    for name in [*garbage, *(str(r["name"]) for r in requests)]:
        store.remove_request(run_id, name)
    for request in requests:
        del request["name"]  # the file's name, gone with the file: not part of what the runner records
    return list(requests)


async def watch_cancel_requests(
    store: RunStore,
    run_id: str,
    on_request: Callable[[CancelRequest], None],
    *,
    interval: float = REQUEST_POLL_INTERVAL,
) -> None:
    """Call ``on_request`` with each cancel request written for the run, until cancelled (the runner's task).

    The store is read in a worker thread (a listing on object storage takes a round trip), the callback runs
    on the loop. A storage error is logged and the next look tries again.
    """
    while True:
        await asyncio.sleep(interval)
        try:
            requests = await asyncio.to_thread(_take_requests, store, run_id)
        except (OSError, TaskValuesError) as e:
            log.warning("Cannot read the cancel requests of run %s: %s", run_id, e)
            continue
        for request in requests:
            on_request(request)
