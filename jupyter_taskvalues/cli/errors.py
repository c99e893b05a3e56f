"""The CLI's edge: its exit codes, and how an error becomes one line on stderr.

Exit codes::

    0    the run succeeded (or the command worked)
    1    the run did not succeed, or the runs directory cannot be read or written
    2    a bad job file, bad usage, an unknown run/task/key, or a missing optional dependency
    3    the run ended SUCCESS_WITH_FAILURES: every leaf task succeeded, but some task failed
    130  interrupted (Ctrl-C outside a run; inside a run, Ctrl-C cancels it and the run's state decides)
"""

from __future__ import annotations

import logging
import sys
import traceback

from ..exceptions import JobSpecError, StoreError, TaskValuesError

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_RUN_FAILED",
    "EXIT_SUCCESS_WITH_FAILURES",
    "EXIT_USAGE",
    "UsageError",
    "exit_code_for",
    "exit_code_for_state",
    "print_error",
]

log = logging.getLogger("jupyter_taskvalues.cli")

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
#: Its own code, not 0: a CI step sees that a task failed even though the job's leaf tasks all succeeded.
EXIT_SUCCESS_WITH_FAILURES = 3
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A mistake in the command line (or its environment) that the user can fix; exits 2."""


def exit_code_for(error: BaseException) -> int:
    """Return the exit code of an error that ended a command."""
    if isinstance(error, StoreError):
        return EXIT_RUN_FAILED
    if isinstance(error, (UsageError, JobSpecError, TaskValuesError)):
        return EXIT_USAGE  # an unknown run, task or key is a usage mistake too
    return EXIT_RUN_FAILED


def exit_code_for_state(state: str) -> int:
    """Return the exit code of a finished run: 0 ``SUCCESS``, 3 ``SUCCESS_WITH_FAILURES``, else 1."""
    if state == "SUCCESS":
        return EXIT_OK
    return EXIT_SUCCESS_WITH_FAILURES if state == "SUCCESS_WITH_FAILURES" else EXIT_RUN_FAILED


def print_error(error: BaseException, *, show_traceback: bool) -> None:
    """Print ``error`` as one line on stderr (after its traceback, with ``--traceback``)."""
    if show_traceback:
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    log.debug("command failed", exc_info=error)
    print(f"error: {error}", file=sys.stderr)
