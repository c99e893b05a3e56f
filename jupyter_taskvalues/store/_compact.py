"""Compaction of a local run's value log: the live records written to a new log, renamed over the old one.

Private to :mod:`jupyter_taskvalues.store._local`. A value set again, an archived task's iterations, a cleared
task: each leaves dead records in ``<run>/values.log``, which every reader replays. A log is *due* for
compaction (:func:`due`) when it is at least :data:`MIN_BYTES` long (:data:`TASK_END_MIN_BYTES` when a task
ends: then its writer is gone and the next read of the run should be fast), its live records take less than
half of it, and (when it was compacted before) it grew to twice what its last compaction kept, so that a log
whose live records cannot be shrunk further is not rewritten on every read.

:func:`compact` holds the log's exclusive ``flock`` throughout, so no writer appends meanwhile (writers take the
lock, shared, and follow a log that was renamed over theirs: :meth:`.ValueLog.open_locked`):

1. catch the replay up with the file;
2. write a new start record (a new nonce, so every reader's head check replays the new log from its start),
   then every archived attempt's values and its ``archive`` marker, then every live value, in the store's
   record format, to ``.tmp-compact-*`` in the run's folder, and ``fsync`` it;
3. ``os.replace`` it over ``values.log`` and ``fsync`` the folder.

A process killed at any step leaves the old log (and at most a temporary file, removed by the next compaction
or :meth:`~jupyter_taskvalues.store._local.LocalRunStore.sweep`) or the new one: both complete, both readable,
with every value, every archived attempt and the run's value count.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable
from json.encoder import encode_basestring as _json_string  # type: ignore[attr-defined]

from ..timestamps import utcnow
from ._log import CAN_LOCK, Entry, LogState, ValueLog, frame

__all__ = ["MIN_BYTES", "TASK_END_MIN_BYTES", "TMP_PREFIX", "compact", "due"]

#: A log shorter than this is not compacted by a writer or a reader: replaying it costs milliseconds.
MIN_BYTES = 1024 * 1024
#: ...nor by the runner when a task ends, if shorter than this.
TASK_END_MIN_BYTES = 64 * 1024
#: Compact when the live records take less than this share of the log.
LIVE_SHARE = 0.5
#: The name prefix of a compaction's new log before it is renamed (``.tmp-``: :meth:`sweep` removes it too).
TMP_PREFIX = ".tmp-compact-"
_FILE_MODE = 0o644
_CHUNK = 1024 * 1024

#: Tests only: called with the name of each step (``"locked"``, ``"written"``, ``"synced"``, ``"replaced"``), so
#: that a test can stop a compacting process there and kill it.
step_hook: Callable[[str], None] | None = None


def due(state: LogState, size: int, *, task_ended: bool = False) -> bool:
    """Whether a log of ``size`` bytes replayed to ``state`` is worth compacting (see the module docstring)."""
    least = TASK_END_MIN_BYTES if task_ended else MIN_BYTES
    if not CAN_LOCK or size < least or state.live_bytes >= size * LIVE_SHARE:
        return False
    compacted = (state.start or {}).get("compacted")
    left = compacted.get("bytes") if isinstance(compacted, dict) else None
    return not isinstance(left, int) or size >= 2 * left


def compact(log: ValueLog, run_id: str) -> tuple[int, int]:
    """Compact the log (the caller holds ``log.lock``); return its size before and after, in bytes.

    Raises ``OSError`` if the new log cannot be written (a read-only or full disk): the old log is left as it
    was, and the temporary file removed.
    """
    folder = os.path.dirname(log.path)
    with log.locked(exclusive=True):
        _step("locked")
        state = log.sync()
        before = log.size
        _remove_leftovers(folder)  # the lock is ours: a temporary file there is a killed compaction's
        data = b"".join(_records(state, run_id, before))
        tmp = os.path.join(folder, f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), _FILE_MODE)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view[:_CHUNK]) :]
                _step("written")
                os.fsync(fd)
                st = os.fstat(fd)
            finally:
                os.close(fd)
            _step("synced")
            os.replace(tmp, log.path)
        except BaseException:  # any failure, a kill signal too: remove the temp file, then re-raise
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _step("replaced")
        _fsync_dir(folder)
        log.adopt(data, st)
        state.start = json.loads(data[1 : data.index(b"\n")])
    return before, len(data)


def _records(state: LogState, run_id: str, before: int) -> list[bytes]:
    """The framed records of a log that replays to ``state``: a start record, archived attempts, live values.

    Each task's archived attempts come before its live values: an ``archive`` marker drops the task's values.
    """
    body: list[bytes] = []
    for (task_key, attempt), entries in state.archived.items():
        if entries:  # an attempt that kept no value needs no record
            body += [_value_record(task_key, key, None, entry) for key, entry in entries.items()]
            body.append(frame(json.dumps({"op": "archive", "task_key": task_key, "attempt": attempt})))
    body += [
        _value_record(task_key, key, iteration, entry)
        for task_key, per_iteration in state.live.items()
        for iteration, entries in per_iteration.items()
        for key, entry in entries.items()
    ]
    start = state.start or {}
    header = {
        "op": "start",
        "nonce": secrets.token_hex(8),
        "run_id": start.get("run_id", run_id),
        "created": start.get("created"),
        "compacted": {"at": utcnow(), "from_bytes": before, "bytes": sum(map(len, body))},
    }
    return [frame(json.dumps(header)), *body]


def _value_record(task_key: str, key: str, iteration: int | None, entry: Entry) -> bytes:
    """A value's record in the store's format (``RunStore.set_value``), so that replaying it slices the value."""
    value, size, set_at, attempt = entry
    header = (
        f'\x1e{{"task_key": {_json_string(task_key)}, "key": {_json_string(key)}, '
        f'"iteration": {"null" if iteration is None else iteration}, "attempt": {attempt}, '
        f'"size": {size}, "set_at": {_json_string(set_at)},"value":'
    )
    return header.encode("utf-8") + value + b"}\n"


def _remove_leftovers(folder: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(folder):
            if name.startswith(TMP_PREFIX):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, name))


def _fsync_dir(folder: str) -> None:
    """Make the rename durable (where a directory can be opened: not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform that cannot open a directory
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _step(name: str) -> None:
    if step_hook is not None:
        step_hook(name)
