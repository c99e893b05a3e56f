"""The value log of a local run: one append-only file per run, and a per-process cache of its replay.

Private to :mod:`jupyter_taskvalues.store._local` (whose module docstring states the guarantees). The log,
``<run>/values.log``, is an RFC 7464 JSON text sequence: every record is ``"\\x1e" + JSON object + "\\n"``,
appended by a single ``os.write`` on a file opened ``O_APPEND``. ``json.dumps`` escapes every control
character, so neither the record separator (RS) nor a line feed ever occurs inside a record.

Reading splits on RS. A chunk is a record when it holds a line feed and the text before it is a JSON object.
A chunk without one that another chunk follows is a write that was cut (its writer was killed, or a short write
was written again whole): it is skipped. The last chunk without a line feed is a write in progress: it is not
consumed, and the next read starts again at its RS.

Records:

- a value: ``{"task_key", "key", "iteration", "attempt", "size", "set_at", "value"}``;
- ``{"op": "archive", "task_key", "attempt"}``: the task's values (iterations included) leave the run's values;
  those outside iterations become the values of that attempt (a retry starts empty);
- ``{"op": "clear", "task_key"}``: the task's values (iterations included) leave the run (a repair);
- ``{"op": "start", "nonce", "run_id", "created"}``: the first record of a run (a compacted log starts with a
  new one, with ``"compacted"``: see :mod:`._compact`); other ops are ignored.

A replay keeps each live value as an :data:`Entry`: the value's JSON bytes and its metadata. Reading a value
decodes its bytes again, so every caller gets a fresh copy and the cache is never shared with one.

Writers take the log's ``flock``: a shared one to set a value the run holds, an exclusive one to create a key,
append a marker or compact the log. After taking it a writer checks that the file it opened is still the log
(a compaction may have renamed another one over it meanwhile) and opens the log again if not, so that no
record lands in a file that was replaced.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import os
import threading
from collections.abc import Iterator
from typing import Any

from ..exceptions import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends are not serialized, logs are never compacted
    fcntl = None  # type: ignore[assignment]

#: Whether writers can lock a log (not on Windows: there a log is never compacted).
CAN_LOCK = fcntl is not None

__all__ = [
    "CAN_LOCK",
    "Entry",
    "LogState",
    "Slot",
    "ValueLog",
    "decode_all",
    "decode_values",
    "frame",
    "parse",
    "record_bytes",
    "synced",
    "value_log",
]

RS = b"\x1e"
LOG_NAME = "values.log"
_FILE_MODE = 0o644
_HEAD_BYTES = 64  # the first bytes of a log: a log replaced by another one starts differently
_WRITE_TRIES = 3
_CACHE_RUNS = 64  # replayed logs kept per process, least recently used first out
_CACHE_BYTES = 256 * 1024 * 1024  # ...and at most about this much log between them
_APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)

#: Where a value lives in a run: (task key, iteration or ``None``, value key).
Slot = tuple[str, int | None, str]
#: A live value: (its JSON as UTF-8 bytes, size, set_at, attempt).
Entry = tuple[bytes, int, str, int]
#: The fields of a value record, in the order the store writes them ("value" last, spliced in as text).
FIELDS = ("task_key", "key", "iteration", "attempt", "size", "set_at", "value")
_VALUE_AT = b',"value":'
_EPOCHS = itertools.count(1)
#: About the bytes a value record takes besides its value, keys and time (what compaction would keep of it).
_RECORD_OVERHEAD = 90


def frame(record_json: str) -> bytes:
    """Return a record (one JSON object as text) framed for the log: ``RS + JSON + LF``."""
    return b"\x1e" + record_json.encode("utf-8") + b"\n"


class LogState:
    """What a replay of the log gives: the live values, the archived attempts, the live count."""

    __slots__ = ("archived", "count", "epoch", "live", "live_bytes", "start", "versions")

    def __init__(self) -> None:
        #: Tells this replay from any other one (a log replayed again from its start gets a new epoch).
        self.epoch = next(_EPOCHS)
        #: task key -> how many records changed its values so far (with :attr:`epoch`: a version of them)
        self.versions: dict[str, int] = {}
        #: task key -> iteration (``None`` outside for-each iterations) -> value key -> entry
        self.live: dict[str, dict[int | None, dict[str, Entry]]] = {}
        #: (task key, attempt) -> value key -> entry
        self.archived: dict[tuple[str, int], dict[str, Entry]] = {}
        #: live values of the run, iterations included (the number checked against the run's limit)
        self.count = 0
        #: about the bytes of log that the live and archived values take (what a compaction keeps)
        self.live_bytes = 0
        #: the log's start record, once replayed
        self.start: dict[str, Any] | None = None

    def get(self, task_key: str, iteration: int | None, key: str) -> Entry | None:
        """The entry of a live value, or ``None``."""
        return self.live.get(task_key, {}).get(iteration, {}).get(key)

    def put(self, task_key: str, iteration: int | None, key: str, entry: Entry) -> None:
        """A value set (or set again)."""
        values = self.live.setdefault(task_key, {}).setdefault(iteration, {})
        old = values.get(key)
        if old is None:
            self.count += 1
        else:
            self.live_bytes -= record_bytes(task_key, key, old)
        values[key] = entry
        self.live_bytes += record_bytes(task_key, key, entry)
        self.versions[task_key] = self.versions.get(task_key, 0) + 1

    def drop(self, task_key: str) -> dict[int | None, dict[str, Entry]] | None:
        """Every live value of a task leaves the run; return them by iteration (``None`` if there were none)."""
        dropped = self.live.pop(task_key, None)
        self.versions[task_key] = self.versions.get(task_key, 0) + 1
        if dropped:
            self.count -= sum(len(values) for values in dropped.values())
            self.live_bytes -= sum(_bytes_of(task_key, values) for values in dropped.values())
        return dropped

    def keep_attempt(self, task_key: str, attempt: int, entries: dict[str, Entry]) -> None:
        """Keep ``entries`` as the values of an earlier attempt of the task (they stay in a compacted log)."""
        replaced = self.archived.get((task_key, attempt))
        if replaced:
            self.live_bytes -= _bytes_of(task_key, replaced)
        self.archived[(task_key, attempt)] = entries
        self.live_bytes += _bytes_of(task_key, entries)

    def apply(self, record: Any, line: bytes) -> None:
        """Replay one parsed record (``line`` is its JSON); records of an unknown shape are ignored."""
        if not isinstance(record, dict):
            return
        if record.get("op") == "start":
            if self.start is None:
                self.start = record
            return
        task_key = record.get("task_key")
        if not isinstance(task_key, str):
            return
        op = record.get("op")
        if op is None:
            key, iteration = record.get("key"), record.get("iteration")
            attempt, size, set_at = record.get("attempt", 1), record.get("size", 0), record.get("set_at", "")
            if (
                isinstance(key, str)
                and (iteration is None or type(iteration) is int)
                and type(attempt) is int
                and type(size) is int
                and isinstance(set_at, str)
                and "value" in record
            ):
                self.put(task_key, iteration, key, (_value_json(record, line), size, set_at, attempt))
        elif op == "archive":
            attempt = record.get("attempt")
            if type(attempt) is int:
                dropped = self.drop(task_key)
                if dropped is not None:
                    self.keep_attempt(task_key, attempt, dropped.get(None, {}))
        elif op == "clear":
            self.drop(task_key)


def record_bytes(task_key: str, key: str, entry: Entry) -> int:
    """About how many bytes the record of a value takes in the log (exact but for non-ASCII keys and numbers)."""
    return len(entry[0]) + len(task_key) + len(key) + len(entry[2]) + _RECORD_OVERHEAD


def _bytes_of(task_key: str, entries: dict[str, Entry]) -> int:
    return sum(record_bytes(task_key, key, entry) for key, entry in entries.items())


def _value_json(record: dict[str, Any], line: bytes) -> bytes:
    """The value's JSON inside its record's line: sliced out when the store wrote the record, else re-encoded.

    In a record of :data:`FIELDS` in that order whose other fields are scalars, the first ``,"value":`` is the
    value's (no JSON string holds ``,"``: a quote inside a string is escaped).
    """
    if tuple(record) == FIELDS and line.endswith(b"}"):
        at = line.find(_VALUE_AT)
        if at > 0:
            return line[at + len(_VALUE_AT) : -1]
    return json.dumps(record["value"], ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse(data: bytes) -> tuple[list[bytes], int]:
    """Split log bytes (read from a record boundary) into record lines; return them and the bytes consumed.

    Cut chunks are skipped; a last chunk without a line feed (a write in progress) is not consumed.
    """
    parts = data.split(RS)
    consumed = len(parts[0])  # bytes before the first RS: not a record (a log always starts with RS)
    lines = []
    last = len(parts) - 1
    for i in range(1, last + 1):
        chunk = parts[i]
        end = chunk.find(b"\n")
        if end < 0 and i == last:
            break
        if end >= 0:
            lines.append(chunk[:end])
        consumed += 1 + len(chunk)
    return lines, consumed


def decode_all(lines: list[bytes]) -> list[Any]:
    """Decode many JSON lines, in one call when they are all valid; a line that is not JSON gives ``None``."""
    if not lines:
        return []
    try:
        decoded: list[Any] = json.loads(b"[" + b",".join(lines) + b"]")
        if len(decoded) == len(lines):
            return decoded
    except ValueError:
        pass
    result = []
    for line in lines:
        try:
            result.append(json.loads(line))
        except ValueError:  # a damaged record: skipped, as a cut one
            result.append(None)
    return result


def decode_values(entries: list[Entry]) -> list[Any]:
    """Decode the values of entries (all valid JSON), each a fresh object, in one ``json.loads``."""
    if not entries:
        return []
    decoded: list[Any] = json.loads(b"[" + b",".join([entry[0] for entry in entries]) + b"]")
    return decoded


class ValueLog:
    """One run's log and its replayed state, caught up incrementally (hold :attr:`lock` around every use)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        #: the log's size when this process last failed to compact it (it tries again once the log doubles)
        self.compact_failed_at = 0
        self._reset(None)

    def _reset(self, ident: tuple[int, int] | None) -> None:
        self.state = LogState()
        self._ident = ident
        self._offset = 0  # bytes replayed: always at a record boundary
        self._seen = 0  # bytes looked at: more than the offset while a write is in progress
        self._head = b""

    @property
    def size(self) -> int:
        """Bytes of the log replayed so far."""
        return self._seen

    def sync(self) -> LogState:
        """Catch the state up with the file (one ``stat`` when it did not change) and return it."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._ident is not None:
                self._reset(None)
            return self.state
        if st.st_size == self._seen and (st.st_ino, st.st_dev) == self._ident:
            return self.state
        try:
            fd = os.open(self.path, _READ_FLAGS)
        except FileNotFoundError:
            self._reset(None)
            return self.state
        try:
            self._catch_up(fd)
        finally:
            os.close(fd)
        return self.state

    def _catch_up(self, fd: int) -> None:
        st = os.fstat(fd)
        ident = (st.st_ino, st.st_dev)
        if (
            ident != self._ident
            or st.st_size < self._offset
            or (self._head and os.pread(fd, len(self._head), 0) != self._head)
        ):  # another file (replaced, or deleted and made again), or a shorter one: replay from the start
            self._reset(ident)
        data = _pread_all(fd, st.st_size - self._offset, self._offset)
        lines, consumed = parse(data)
        state = self.state
        for record, line in zip(decode_all(lines), lines, strict=True):
            state.apply(record, line)
        if len(self._head) < _HEAD_BYTES:
            self._head = os.pread(fd, _HEAD_BYTES, 0)
        self._seen = self._offset + len(data)
        self._offset += consumed

    def open(self) -> int:
        """Open the log for appending (created if needed); ``FileNotFoundError`` if the run's directory is gone."""
        return os.open(self.path, _APPEND_FLAGS, _FILE_MODE)

    def open_locked(self, *, exclusive: bool) -> int:
        """Open the log for appending and take its ``flock`` (shared or exclusive); return the descriptor.

        Once the lock is held the file is checked to be the log still: a compaction that renamed another file
        over it meanwhile is followed (the new log is opened and locked instead). Closing the descriptor
        releases the lock. ``FileNotFoundError`` if the run's directory is gone.
        """
        while True:
            fd = self.open()
            if fcntl is None:  # pragma: no cover - Windows
                return fd
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                opened = os.fstat(fd)
                try:
                    current = os.stat(self.path)
                except FileNotFoundError:  # removed meanwhile: open (and create) it again
                    current = None
            except BaseException:  # re-raised: only the descriptor is closed first
                os.close(fd)
                raise
            if current is not None and (current.st_ino, current.st_dev) == (opened.st_ino, opened.st_dev):
                return fd
            os.close(fd)

    @contextlib.contextmanager
    def locked(self, *, exclusive: bool = True) -> Iterator[int]:
        """Hold the log's ``flock`` (:meth:`open_locked`) around a block; yield the log opened for appending."""
        fd = self.open_locked(exclusive=exclusive)
        try:
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    def adopt(self, data: bytes, st: os.stat_result) -> None:
        """Take the file ``st``, holding exactly ``data``, as the log replayed so far (a compaction made it from
        the state, which stays as it is: every reader's copy of a value is still right)."""
        self._ident = (st.st_ino, st.st_dev)
        self._offset = self._seen = len(data)
        self._head = data[:_HEAD_BYTES]

    def append(
        self, data: bytes, slot: Slot | None = None, entry: Entry | None = None, *, fd: int | None = None
    ) -> None:
        """Append one framed record in one write; apply it to the state at once when it is the value ``entry``.

        ``fd`` is the log opened and locked by :meth:`open_locked` (by default it is opened here with a shared
        lock, and closed). A short write (a signal, a full disk) is written again whole, a few times: readers
        skip the cut part. Raises ``FileNotFoundError`` if the run's directory is gone, :class:`StoreError` if
        the write fails.
        """
        own = fd is None
        if fd is None:
            fd = self.open_locked(exclusive=False)
        try:
            for _ in range(_WRITE_TRIES):
                try:
                    written = os.write(fd, data)
                except OSError as e:
                    raise StoreError(f"Cannot write {self.path}: {e.strerror or e}.") from e
                if written == len(data):
                    break
            else:
                raise StoreError(
                    f"Cannot write {self.path}: {_WRITE_TRIES} writes of a {len(data):,}-byte record were cut "
                    "short. Check that the disk has room."
                )
            st = os.fstat(fd)
        finally:
            if own:
                os.close(fd)
        # The file grew by exactly this record since the last replay: apply it without reading it back.
        ident = (st.st_ino, st.st_dev)
        if (
            slot is not None
            and entry is not None
            and self._offset == self._seen
            and st.st_size == self._seen + len(data)
        ):
            if self._ident is None and self._seen == 0:
                self._ident = ident
            if ident == self._ident:
                self.state.put(*slot, entry)
                self._offset = self._seen = st.st_size
                if len(self._head) < _HEAD_BYTES:
                    self._head += data[: _HEAD_BYTES - len(self._head)]


def _pread_all(fd: int, size: int, offset: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


_cache: collections.OrderedDict[str, ValueLog] = collections.OrderedDict()
_cache_lock = threading.Lock()


def _forget_after_fork() -> None:
    """A forked child starts with no replayed log: a lock another thread held at the fork would never open."""
    global _cache_lock
    _cache_lock = threading.Lock()
    _cache.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def value_log(path: str) -> ValueLog:
    """Return this process's :class:`ValueLog` of the log file ``path`` (made once, kept in a bounded LRU)."""
    with _cache_lock:
        log = _cache.get(path)
        if log is not None:
            _cache.move_to_end(path)
            return log
        log = _cache[path] = ValueLog(path)
        while len(_cache) > _CACHE_RUNS or (
            len(_cache) > 1 and sum(entry.size for entry in _cache.values()) > _CACHE_BYTES
        ):
            _cache.popitem(last=False)
        return log


@contextlib.contextmanager
def synced(path: str) -> Iterator[LogState]:
    """Hold the log's lock and yield its state, caught up with the file."""
    log = value_log(path)
    with log.lock:
        yield log.sync()
