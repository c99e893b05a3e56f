"""Live task output kept in memory, and the output and error of a finished task read from its notebook.

While a run executes in the server, :class:`OutputBuffer` (a :class:`~jupyter_taskvalues.jobs.hooks.RunHooks`
that the runner manager hands to the run) receives every piece of stdout/stderr a task's kernel prints through
the ``task_output`` hook and keeps the last ``max_lines`` lines of each task. Once a task has ended, its
executed notebook (kept by the store) is the record: :func:`notebook_error` reads the failing cell from it, and
the last lines come from the task's output log (everything it printed, up to the log's cap; on a runs directory
on a URL, uploaded when the task ends) through :func:`log_lines`, which reads only the log's end; a task with no
log (it printed nothing; a for-each task, whose iterations have their own) falls back to :func:`notebook_lines`.
So the output route works after a server restart too, and for a run another process executes on a local runs
directory it shows the lines of a running task as they are written.
"""

from __future__ import annotations

import io
import threading
from collections import deque
from typing import IO, Any

from ..jobs.hooks import RunHooks
from ..records import TaskRecord

__all__ = ["OutputBuffer", "TaskLines", "log_lines", "notebook_error", "notebook_lines", "record_error"]

#: Bytes read from the end of an output log at a time, looking for the start of the lines asked for.
_LOG_BLOCK = 64 * 1024
#: Most bytes read from the end of an output log for one request (the route's tail is a few thousand lines).
_LOG_READ_LIMIT = 8 * 1024 * 1024


class TaskLines:
    """The last ``max_lines`` complete lines a task printed, the line it is printing, and how many were dropped."""

    def __init__(self, max_lines: int) -> None:
        self.lines: deque[str] = deque(maxlen=max(1, max_lines))
        self.partial = ""
        self.total = 0

    def add(self, text: str) -> None:
        """Append ``text``; lines are split at newlines, a trailing fragment waits for the rest of its line."""
        pieces = (self.partial + text).split("\n")
        self.partial = pieces.pop()
        for line in pieces:
            self.lines.append(line.rstrip("\r"))
            self.total += 1

    def tail(self, count: int) -> tuple[list[str], bool]:
        """Return the last ``count`` lines (the unfinished one included) and whether earlier lines exist."""
        lines = list(self.lines) + ([self.partial] if self.partial else [])
        total = self.total + (1 if self.partial else 0)
        shown = lines[-count:] if count > 0 else []
        return shown, total > len(shown)


class OutputBuffer(RunHooks):
    """Run hooks that keep each running task's latest output lines (``max_lines`` per task).

    The kernel output hook may be called from the executor's thread or the event loop; a lock keeps the
    buffers consistent for the handlers that read them.
    """

    def __init__(self, max_lines: int) -> None:
        self.max_lines = max_lines
        self.states: dict[str, str] = {}
        self._tasks: dict[str, TaskLines] = {}
        self._lock = threading.Lock()

    def task_output(self, run_id: str, task_key: str, stream: str, text: str) -> None:
        """Keep ``text`` that task ``task_key`` printed on ``stream`` (``stdout`` or ``stderr``)."""
        with self._lock:
            lines = self._tasks.get(task_key)
            if lines is None:
                lines = self._tasks[task_key] = TaskLines(self.max_lines)
            lines.add(text)

    def task_changed(self, run_id: str, task_key: str, record: TaskRecord) -> None:
        """Follow the task's state; a new attempt starts with an empty buffer."""
        state = str(record.get("state") or "PENDING")
        with self._lock:
            previous = self.states.get(task_key)
            self.states[task_key] = state
            if state == "PENDING" or (state == "RUNNING" and previous not in (None, "RUNNING", "QUEUED")):
                self._tasks.pop(task_key, None)

    def tail(self, task_key: str, count: int) -> tuple[list[str], bool] | None:
        """Return the last ``count`` lines of ``task_key`` and whether some were dropped; ``None`` if none."""
        with self._lock:
            lines = self._tasks.get(task_key)
            return None if lines is None else lines.tail(count)


def notebook_lines(notebook: dict[str, Any], count: int) -> tuple[list[str], bool]:
    """Return the last ``count`` lines of the stream outputs of an executed notebook, and whether more exist."""
    lines = TaskLines(max(1, count))
    for cell in notebook.get("cells") or []:
        if not isinstance(cell, dict):
            continue
        for output in cell.get("outputs") or []:
            if isinstance(output, dict) and output.get("output_type") == "stream":
                text = output.get("text", "")
                lines.add("".join(text) if isinstance(text, list) else str(text))
    return lines.tail(count)


def log_lines(log: IO[bytes], count: int) -> tuple[list[str], bool]:
    """Return the last ``count`` lines of an output log (a seekable binary file), and whether more exist.

    Reads blocks back from the end until ``count`` complete lines are found, or the start, or 8 MiB: a log of
    hundreds of MiB costs what its end does.
    """
    end = log.seek(0, io.SEEK_END)
    start, data = end, b""
    while start > 0 and data.count(b"\n") <= count and end - start < _LOG_READ_LIMIT:
        step = min(_LOG_BLOCK, start)
        start -= step
        log.seek(start)
        data = log.read(step) + data
    if start > 0:  # the first line read is only the end of one: drop it
        data = data[data.find(b"\n") + 1 :] if b"\n" in data else b""
    lines = TaskLines(max(1, count))
    lines.add(data.decode("utf-8", "replace"))
    shown, truncated = lines.tail(count)
    return shown, truncated or start > 0


def notebook_error(notebook: dict[str, Any]) -> dict[str, Any] | None:
    """Return ``{"ename", "evalue", "traceback", "cell_source"}`` of the first failing cell, or ``None``."""
    for cell in notebook.get("cells") or []:
        if not isinstance(cell, dict):
            continue
        for output in cell.get("outputs") or []:
            if isinstance(output, dict) and output.get("output_type") == "error":
                source = cell.get("source", "")
                return {
                    "ename": str(output.get("ename", "")),
                    "evalue": str(output.get("evalue", "")),
                    "traceback": [str(line) for line in output.get("traceback") or []],
                    "cell_source": "".join(source) if isinstance(source, list) else str(source),
                }
    return None


def record_error(message: str) -> dict[str, Any]:
    """Return the error shape for a task whose record has an error message but whose notebook shows none."""
    ename, sep, evalue = message.partition(": ")
    if not sep or " " in ename:
        ename, evalue = "Error", message
    return {"ename": ename, "evalue": evalue, "traceback": [], "cell_source": None}
