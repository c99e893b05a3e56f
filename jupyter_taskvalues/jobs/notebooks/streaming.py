"""Stream output of a running task: written to disk as it arrives, capped in memory while the task runs.

nbclient keeps every output message of a cell in the notebook it executes, so a task printing 100 MB used to
make the runner hold 100 MB (and more, in copies) until the notebook was capped at the end. An
:class:`OutputStream` sits in front of nbclient's output handler (:meth:`OutputStream.wrap`) and, for each
``stream`` message (``stdout``/``stderr``):

- appends its text to the task's **output log** (:class:`~jupyter_taskvalues.jobs.output_log.OutputLog`),
  ``notebooks/<task>.output.log`` next to the executed notebook (everything the task printed, in order, flushed
  per message: readable while the task runs), up to the log's own cap (``--max-output-log-bytes``): the log
  keeps the head, the notebook keeps the tail, so a task printing without end cannot fill the disk;
- keeps the first half of the cap per cell and stream in the notebook as usual, and only a rolling **tail** of
  the second half in memory, dropping the middle as it arrives.

When the task ends, :meth:`OutputStream.finish` adds the kept tail to each cut cell, after a note saying how much
was cut and where the whole output is. The cap is the run's ``max_output_bytes`` per output (``--max-output-bytes``,
``c.RunnerManager.max_output_bytes``; default :data:`~jupyter_taskvalues.jobs.executors.notebook.MAX_OUTPUT_BYTES`),
the same limit the kept notebook's other outputs get; rich outputs (images, HTML) and errors are not streams and
are capped when the notebook is kept. Each attempt of a task starts its log afresh.

For a runs directory on a URL the log is uploaded when the task ends
(:func:`~jupyter_taskvalues.jobs.output_log.keep_output_log`); the note then names the log's URL (``where`` of
:meth:`OutputStream.finish`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..output_log import LOG_CUT_NOTE, MAX_LOG_BYTES, OutputLog
from ..output_log import utf8_size as _size

__all__ = ["LOG_CUT_NOTE", "MAX_LOG_BYTES", "OutputStream"]

#: Bytes of each cut stream's budget left for the note, so that head + note + tail stays within the cap.
_NOTE_ROOM = 1024


@dataclass
class _Stream:
    """One stream (``stdout`` or ``stderr``) of one cell: bytes kept at its head, its rolling tail, its total."""

    head: int = 0
    total: int = 0
    tail: deque[str] = field(default_factory=deque)
    tail_bytes: int = 0
    cut: bool = False


class OutputStream:
    """Caps a running notebook's stream outputs as they arrive and appends them all to an output log.

    Parameters
    ----------
    log_path
        The file every stream's text is appended to (created on the first output; ``None``: no log).
    max_bytes
        The most bytes of one stream of one cell kept in the notebook (its head and tail halves, plus a note).
    max_log_bytes
        The most bytes of output appended to the log (all streams and cells together); past it the rest is
        counted, not written, and :meth:`close` appends a line saying how much was dropped.
    """

    def __init__(self, log_path: Path | None, max_bytes: int, max_log_bytes: int = MAX_LOG_BYTES) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, not {max_bytes!r}.")
        self.log = OutputLog(
            log_path, max_log_bytes, "The executed notebook keeps the end of each cell's output"
        )
        self.max_bytes = max_bytes
        self._half = (
            max(1, (max_bytes - _NOTE_ROOM) // 2) if max_bytes > 2 * _NOTE_ROOM else max(1, max_bytes // 2)
        )
        self._streams: dict[tuple[int, str], _Stream] = {}

    @property
    def log_path(self) -> Path | None:
        """The output log's file (``None``: no log)."""
        return self.log.path

    @property
    def log_error(self) -> OSError | None:
        """Why the output log could not be written, if it could not."""
        return self.log.error

    @property
    def written(self) -> int:
        """Bytes of output appended to the log."""
        return self.log.written

    @property
    def dropped(self) -> int:
        """Bytes of output dropped past the log's cap."""
        return self.log.dropped

    def wrap(self, client: Any) -> None:
        """Put this stream in front of ``client.output`` (an nbclient ``NotebookClient``)."""
        record: Callable[..., Any] = client.output

        def output(outs: Any, msg: dict[str, Any], display_id: Any, cell_index: int) -> Any:
            if msg.get("msg_type") != "stream":
                return record(outs, msg, display_id, cell_index)
            content = msg.get("content") or {}
            text = str(content.get("text", ""))
            self.log.write(text)
            keep = self._keep(cell_index, str(content.get("name", "stdout")), text)
            if not keep:
                return None
            if len(keep) != len(text):
                msg = {**msg, "content": {**content, "text": keep}}
            return record(outs, msg, display_id, cell_index)

        client.output = output

    def _keep(self, cell_index: int, name: str, text: str) -> str:
        """Return the part of ``text`` the notebook keeps now (maybe ``""``); the rest feeds the rolling tail."""
        stream = self._streams.setdefault((cell_index, name), _Stream())
        size = _size(text)
        stream.total += size
        room = self._half - stream.head
        if room >= size and not stream.cut:
            stream.head += size
            return text
        stream.cut = True
        kept = _byte_prefix(text, room) if room > 0 else ""
        stream.head += _size(kept)
        # Only the last `half` characters can reach the tail (a character is at least one byte).
        rest = text[len(kept) :][-self._half :]
        stream.tail.append(rest)
        stream.tail_bytes += _size(rest)
        while stream.tail and stream.tail_bytes - _size(stream.tail[0]) >= self._half:
            stream.tail_bytes -= _size(stream.tail.popleft())
        return kept

    def finish(self, nb: Any, where: str | None = None) -> bool:
        """Close the log and add each cut stream's tail, after a note, to its cell; return whether any was cut.

        ``where`` names the log in the note (its URL once uploaded); default: ``log_path``.
        """
        self.close()
        log_name = where or str(self.log_path)
        cut = False
        for (cell_index, name), stream in self._streams.items():
            if not stream.cut:
                continue
            cut = True
            tail = _byte_suffix("".join(stream.tail), self._half)
            dropped = stream.total - stream.head - _size(tail)
            told = (
                f"the first {self.written:,} bytes of the output are in {log_name} (its cap)"
                if self.log_path is not None and self.log_error is None and self.dropped
                else f"the whole output is in {log_name}"
                if self.log_path is not None and self.log_error is None
                else f"the output log could not be written ({self.log_error})"
                if self.log_error is not None
                else "no output log was kept"
            )
            note = (
                f"\n[... output truncated: {stream.total:,} bytes of {name} while the task ran, over the "
                f"{self.max_bytes:,}-byte limit per output; the first {stream.head:,} and last {_size(tail):,} "
                f"bytes are kept, {dropped:,} dropped; {told} ...]\n"
            )
            cells = getattr(nb, "cells", None) or nb["cells"]
            if 0 <= cell_index < len(cells):
                outputs = cells[cell_index].setdefault("outputs", [])
                outputs.append(_stream_output(name, note + tail))
        return cut

    def close(self) -> None:
        """Close the output log (idempotent), after a line saying how much was dropped past its cap, if any."""
        self.log.close()


def _byte_prefix(text: str, limit: int) -> str:
    """The longest start of ``text`` of at most ``limit`` UTF-8 bytes."""
    head = text[:limit]
    return head if head.isascii() else head.encode("utf-8", "surrogatepass")[:limit].decode("utf-8", "ignore")


def _byte_suffix(text: str, limit: int) -> str:
    """The longest end of ``text`` of at most ``limit`` UTF-8 bytes."""
    tail = text[-limit:] if limit else ""
    return (
        tail if tail.isascii() else tail.encode("utf-8", "surrogatepass")[-limit:].decode("utf-8", "ignore")
    )


def _stream_output(name: str, text: str) -> Any:
    from nbformat import v4

    return v4.new_output("stream", name=name, text=text)  # type: ignore[no-untyped-call]
