"""``cancel``: cancel a run, or one task of it, that another process executes.

The run may be running in another terminal's ``jupyter-taskvalues run`` or in a Jupyter Server: the command writes
a cancel request through the run store (:mod:`jupyter_taskvalues.jobs.cancel`) and the run's runner cancels
within a second, as Ctrl-C in its own terminal would. Exit code 1 when there is nothing to cancel (the run has
finished, or the task is not running); ``--wait`` waits for the run (or task) to end and prints its state.
"""

from __future__ import annotations

import argparse
import sys
import time

from .errors import EXIT_OK, EXIT_RUN_FAILED

__all__ = ["add_cancel_arguments", "cancel"]

#: Seconds ``--wait`` waits at most for the runner to act on the request.
WAIT_SECONDS = 60.0


def add_cancel_arguments(sub: argparse.ArgumentParser) -> None:
    """Arguments of ``cancel``."""
    from .jobs import add_runs_dir

    add_runs_dir(sub)
    sub.add_argument("run_id", metavar="RUN_ID", help="a run id, or 'latest'")
    sub.add_argument(
        "--task", metavar="T", help="cancel only this running task (its dependants follow run_if)"
    )
    sub.add_argument(
        "--wait",
        action="store_true",
        help=f"wait (up to {WAIT_SECONDS:.0f} s) until the run or task has ended, and print its state",
    )


def cancel(args: argparse.Namespace) -> int:
    """``cancel``: ask the runner of a live run to cancel it (or ``--task``) through the run store."""
    from ..jobs.cancel import cancel_refusal
    from ..states import FINAL_STATES
    from ..store import open_store

    store = open_store(args.runs_dir)
    run_id = store.resolve_run_id(args.run_id, hint="Start one with `jupyter-taskvalues run JOB_FILE`.")
    refusal = cancel_refusal(store, run_id, args.task)
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return EXIT_RUN_FAILED
    store.request_cancel(run_id, args.task, via="cli")
    what = f"task {args.task!r} of run {run_id}" if args.task else f"run {run_id}"
    print(f"Asked the runner of {what} to cancel it.")
    if not args.wait:
        return EXIT_OK
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        record = store.read_task(run_id, args.task) if args.task else store.read_run(run_id)
        state = (record or {}).get("state")
        if state in FINAL_STATES or (not args.task and state not in ("PENDING", "RUNNING")):
            print(f"{what[0].upper()}{what[1:]} ended {state}.")
            return EXIT_OK
        time.sleep(0.2)
    print(
        f"{what[0].upper()}{what[1:]} has not ended after {WAIT_SECONDS:.0f} s; its runner may be busy "
        f"shutting kernels down. Check with `jupyter-taskvalues show {run_id}`.",
        file=sys.stderr,
    )
    return EXIT_RUN_FAILED
