"""A task's output log: everything it printed, in order, up to its cap; uploaded when the task ends on a URL.

Every task kind that prints writes its **output log**, ``notebooks/<task>.output.log`` of the run (a for-each
iteration's: ``<task>.<index>.output.log``): a notebook task through its :class:`~.notebooks.streaming.OutputStream`,
a script or wheel task from its process's stdout and stderr (:mod:`.tasks.process`). :class:`OutputLog` is the
file: text appended as it arrives, readable while the task runs, up to ``max_bytes`` (``--max-output-log-bytes``,
``c.RunnerManager.max_output_log_bytes``; default :data:`MAX_LOG_BYTES`, 256 MiB). Past the cap nothing more is
written, only counted, and :meth:`OutputLog.close` appends one line, starting with :data:`LOG_CUT_NOTE`, saying how
many bytes were dropped. The log keeps the head, so a task printing without end cannot fill the disk. Each
attempt of a task starts its log afresh.

The log is a file on this machine. For a runs directory on a URL it is the store's staging file, which
:func:`keep_output_log` uploads when the task ends, whatever its state
(:meth:`~jupyter_taskvalues.store.RunStore.write_output_log`), then removes.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from ..context import TaskContext
from ..exceptions import TaskValuesError
from ..store import open_store, url_scheme

__all__ = ["LOG_CUT_NOTE", "MAX_LOG_BYTES", "OutputLog", "close_and_keep", "keep_output_log", "utf8_size"]

#: Default cap of a task's output log: past it the log keeps its first bytes and a line saying how many were dropped.
MAX_LOG_BYTES = 256 * 1024 * 1024
#: How the last line of an output log cut at its cap begins (readers that want the task's end look for it).
LOG_CUT_NOTE = "[... output log truncated: "

#: Characters of a text encoded at a time when it is appended (a 100 MB message is not copied whole).
_SLICE = 1 << 20


class OutputLog:
    """The output log of one attempt of a task: text appended in order, its first ``max_bytes`` kept.

    Parameters
    ----------
    path
        The file (created by :meth:`start` or on the first :meth:`write`, truncated then; ``None``: no log,
        everything written is ignored).
    max_bytes
        The most bytes of output written; past it the rest is counted, not written, and :meth:`close` appends
        a line saying how much was dropped.
    where_the_end_is
        The last sentence of that line: where the task's end can still be found (the executed notebook keeps
        each cell's end; a failed script's error quotes its last lines of stderr).
    """

    def __init__(self, path: Path | None, max_bytes: int = MAX_LOG_BYTES, where_the_end_is: str = "") -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_log_bytes must be positive, not {max_bytes!r}.")
        self.path = path
        self.max_bytes = max_bytes
        self.where_the_end_is = where_the_end_is
        #: Why the log could not be written (a full disk), once it could not; later writes are ignored.
        self.error: OSError | None = None
        #: Bytes of output written, and bytes dropped past ``max_bytes``.
        self.written = 0
        self.dropped = 0
        self._fd: int | None = None

    def start(self) -> None:
        """Create the log empty now (a new attempt that prints nothing must not leave the last one's log)."""
        if self.path is None or self.error is not None or self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # A new attempt (a retry, a repair) starts the log afresh.
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND
            self._fd = os.open(self.path, flags, 0o644)
        except OSError as e:
            self.error = e

    def replace_previous(self) -> None:
        """Empty the log now if an earlier attempt left one; else leave it to be created on the first output.

        A notebook task's log is created on its first output (most tasks print nothing), so a retry or a repair
        that prints nothing must still not show the last attempt's log as its own. On a runs directory on a URL
        the earlier log is the uploaded one, which stays until an attempt prints.
        """
        if self.path is not None and self.path.exists():
            self.start()

    def write(self, text: str) -> None:
        """Append ``text``, encoded a slice at a time; past the cap only count its bytes."""
        if self.path is None or self.error is not None or not text:
            return
        if self.dropped:  # past the cap: count, never encode or write
            self.dropped += utf8_size(text)
            return
        self.start()
        if self._fd is None:
            return
        try:
            for start in range(0, len(text), _SLICE):
                data = text[start : start + _SLICE].encode("utf-8", "surrogatepass")
                room = self.max_bytes - self.written
                if len(data) > room:
                    kept = data[:room].decode("utf-8", "ignore").encode("utf-8", "surrogatepass")
                    self.dropped = len(data) - len(kept) + utf8_size(text[start + _SLICE :])
                    data = kept
                self.written += len(data)
                _write_all(self._fd, data)
                if self.dropped:
                    return
        except OSError as e:  # a full disk: the caller's note says so
            self.error = e

    def close(self) -> None:
        """Close the log (idempotent), after a line saying how much was dropped past its cap, if any."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if self.dropped and self.error is None:
                end = f" {self.where_the_end_is}" if self.where_the_end_is else ""
                _write_all(
                    fd,
                    (
                        f"\n{LOG_CUT_NOTE}{self.dropped:,} more bytes were printed after the first "
                        f"{self.written:,}, over the {self.max_bytes:,}-byte limit of the output log "
                        f"(--max-output-log-bytes); they were dropped.{end} ...]\n"
                    ).encode(),
                )
        except OSError as e:
            self.error = e
        finally:
            os.close(fd)


async def keep_output_log(task: TaskContext, path: Path | None) -> str | None:
    """Keep the closed output log ``path`` of ``task``: for a runs directory on a URL, upload it and return its URL.

    A local store's log is already where it is kept: ``None``. On a URL the log is the store's staging file on
    this machine; it is uploaded in a thread (the other tasks go on meanwhile), then removed. Raises
    ``OSError`` or :class:`~jupyter_taskvalues.exceptions.TaskValuesError` when it cannot be uploaded.
    """
    if path is None or url_scheme(task.runs_dir) is None or not path.is_file():
        return None

    def upload() -> str:
        url = open_store(task.runs_dir).write_output_log(task.run_id, task.task_key, task.iteration, path)
        path.unlink(missing_ok=True)
        return url

    return await asyncio.to_thread(upload)


async def close_and_keep(log: OutputLog, task: TaskContext) -> tuple[str | None, str | None]:
    """Close ``log`` and keep it (:func:`keep_output_log`), whatever the task's state.

    Returns where it was uploaded (``None`` for a local store), and a sentence for the task's error when it
    could not be kept (``None`` when it was): a task whose log is lost says so.
    """
    log.close()
    try:
        return await keep_output_log(task, log.path), None
    except (OSError, TaskValuesError) as e:
        return None, f"Could not keep the output log: {e}"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def utf8_size(text: str) -> int:
    """UTF-8 bytes of ``text`` (no copy for ASCII text, the common case of a flood)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
