"""Who runs a run, and whether that process is still alive (on the host it ran on).

A run record names its runner (:func:`runner_identity`: host, process id and the process's start tick, so a
reused process id is not mistaken for the runner). :func:`runner_alive_here` answers from this host only;
elsewhere the run's heartbeat tells (see :mod:`jupyter_taskvalues.store._base`).
"""

from __future__ import annotations

import os
import socket
from typing import Any

from ..records import RunnerIdentity

__all__ = ["process_start", "runner_alive_here", "runner_identity"]


def runner_identity() -> RunnerIdentity:
    """Return this process's identity as a run record keeps it (``host``, ``pid``, ``started``)."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": process_start(os.getpid())}


def process_start(pid: int) -> str | None:
    """Return the kernel's start tick of a process on Linux (tells a live runner from a reused pid)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def runner_alive_here(runner: Any) -> bool | None:
    """Whether the run's runner process is alive, when it ran on this host; ``None`` when this host cannot tell."""
    if not isinstance(runner, dict) or runner.get("host") != socket.gethostname():
        return None
    pid = runner.get("pid")
    if not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    started = runner.get("started")
    return not (started is not None and process_start(pid) != started)
