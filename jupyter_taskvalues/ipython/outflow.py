"""Bounded output messages from a task's kernel: the kernel sends what a task prints in pieces of at most 256 KiB.

ipykernel's ``sys.stdout`` buffers what is written and sends it every 0.2 s as one ``stream`` message, however
large: a loop printing 100 MB became five messages of 20 MB, and the runner had to hold each whole (its frame, its
decoded text, nbclient's copy) while it wrote it to the task's output log. :func:`bound_stream_messages` makes
the kernel's ``stdout`` and ``stderr`` send a message as soon as :data:`MESSAGE_BYTES` are buffered (a larger
single write is sent in slices), so the runner holds a few small messages at a time and the output reaches the
log and the panels as it is printed. Output to a kernel that is not ipykernel's (a plain console) is left alone.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["MESSAGE_BYTES", "bound_stream_messages"]

#: The most characters a task's kernel buffers on ``stdout`` or ``stderr`` before it sends them.
MESSAGE_BYTES = 256 * 1024


def bound_stream_messages(limit: int = MESSAGE_BYTES) -> None:
    """Make ``sys.stdout`` and ``sys.stderr`` of this kernel send their buffer once it holds ``limit`` characters.

    IPython puts each stream's ``write`` back as it was after every cell (it tees output into its history), so
    the bound is installed again before each cell (a ``pre_run_cell`` event), wrapping whatever ``write`` is then.
    """
    global _installed
    if _installed:
        return
    _installed = True

    def install(*_info: Any) -> None:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name, None)
            if stream is None or not hasattr(stream, "pub_thread"):
                continue  # not ipykernel's stream: nothing is buffered for a runner
            if not getattr(stream.write, "_jtv_bounded", False):
                stream.write = _bounded_write(stream, stream.write, limit)

    install()
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.events.register("pre_run_cell", install)


_installed = False


def _bounded_write(stream: Any, write: Any, limit: int) -> Any:
    pending = 0

    def bounded(string: str) -> Any:
        nonlocal pending
        if not isinstance(string, str) or len(string) + pending < limit:
            pending += len(string) if isinstance(string, str) else 0
            return write(string)  # the usual path: a short write, sent with the next periodic flush
        for start in range(0, len(string), limit):
            write(string[start : start + limit])
            stream.flush()  # waits until the kernel's I/O thread has sent it
        pending = 0
        return len(string)

    bounded._jtv_bounded = True  # type: ignore[attr-defined]
    return bounded
