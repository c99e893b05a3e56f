"""Ending every process a task's kernel started, also those that left its process group.

Killing a kernel's process group ends the children that stayed in it (a ``Popen``, a shell's ``&``). A daemon
that calls ``setsid``, a double fork and ``nohup`` leave the group, and a double fork also leaves the kernel's
process tree once its middle process exits. Two records find them, both made with ``psutil``:

- **A mark in the environment.** Every kernel starts with :data:`TOKEN_ENV` set to a token of its own (a fork
  sets it in its ``os.environ`` as it becomes the kernel), and every process it starts inherits it: a process
  whose initial environment holds the token belongs to the task, wherever it moved. Processes are scanned only
  if they are ours (same user) and younger than the kernel.
- **The process tree**, walked while the kernel still runs (before it is asked to shut down): it finds
  descendants that cleared their environment, as long as they are still below the kernel.

Both are ended with SIGKILL when the kernel is stopped or killed: at the task's end, its cancel or its timeout.
A process found by the tree walk is killed only if it is still the same process (its creation time), so a pid
reused meanwhile is left alone. cgroup v2 would hold every descendant without a scan, but it needs a delegated
cgroup to write to, which a plain user session does not have; the scan needs nothing.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
from typing import Any

__all__ = ["TOKEN_ENV", "Leftovers", "descendants", "end", "marked", "new_token"]

log = logging.getLogger(__name__)

#: The environment variable that marks every process started by one kernel.
TOKEN_ENV = "JUPYTER_TASKVALUES_KERNEL_TOKEN"

#: Processes recorded by a tree walk: ``(pid, creation time)``.
Leftovers = list[tuple[int, float]]


def new_token() -> str:
    """A token for one kernel's processes."""
    return secrets.token_hex(12)


def descendants(pid: int) -> Leftovers:
    """The processes below ``pid`` now (children, grandchildren...), each with its creation time."""
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []
    found = []
    for child in children:
        try:
            found.append((child.pid, child.create_time()))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # gone meanwhile, or not ours: nothing to end
    return found


def marked(token: str, since: float) -> Leftovers:
    """Our processes created at or after ``since`` (``time.time()``) whose environment holds ``token``."""
    import psutil

    me, uid = os.getpid(), os.getuid() if hasattr(os, "getuid") else None
    found = []
    for process in psutil.process_iter(["create_time", "uids"]):
        info: dict[str, Any] = process.info
        if process.pid == me or info["create_time"] is None or info["create_time"] < since - 1.0:
            continue
        if uid is not None and info["uids"] is not None and info["uids"].real != uid:
            continue
        try:
            environ = process.environ()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue  # gone, a zombie or not readable: nothing left to end
        if environ.get(TOKEN_ENV) == token:
            found.append((process.pid, info["create_time"]))
    return found


def end(processes: Leftovers) -> int:
    """SIGKILL each process that is still the one recorded; return how many were ended."""
    import psutil

    ended = 0
    for pid, created in processes:
        try:
            process = psutil.Process(pid)
            if abs(process.create_time() - created) > 0.01 or process.status() == psutil.STATUS_ZOMBIE:
                continue
            process.send_signal(signal.SIGKILL)
            ended += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # it exited meanwhile, or is not ours to end
    if ended:
        log.debug("ended %d process(es) that outlived their kernel's process group", ended)
    return ended
