"""The runs index of a local runs directory: each run's head, kept in one file, trusted only while it is true.

Private to :mod:`jupyter_taskvalues.store._local`. Listing runs (``jupyter-taskvalues runs``, ``GET runs``, the
panel) needs each run's *head*: the fields of its ``run.json`` a run list shows (:data:`HEAD_FIELDS`) and its
number of tasks (``task_count``), not the task descriptions. Reading and parsing 5,000 ``run.json`` files
takes seconds; ``<runs dir>/.runs-index`` keeps the heads, each under the identity of the ``run.json`` it was
read from (inode, size, modification and change times in nanoseconds), so a listing reads one small file and
stats the runs it lists.

A head is used only if its ``run.json`` still has that identity: a run written since (``run.json`` is always
replaced by a rename: a new inode and new times), or not in the index, is read from its ``run.json``, and the
index is written again with what was read. The index is a cache, never the truth:

- **Stale**: an entry whose identity differs from the ``run.json`` there now is read again, never used; the
  entries of removed runs leave the index when it is next written.
- **Racy**: a ``run.json`` changed less than :data:`RACY_SECONDS` before it was read is not put in the index
  (as git treats a racily clean file): two changes within one tick of the file system's clock could otherwise
  leave the same identity. Such runs (the live ones, mostly) are read from their ``run.json`` every time.
- **Corrupt**: the index's first line holds a CRC-32 of the rest; an index whose first line or checksum does
  not match (cut, damaged, another version's) is ignored whole, and written again.
- **Crash-safe**: it is written to a temporary file in the runs directory and renamed over the index, so a
  process killed meanwhile leaves the old index or the new one (and a temporary file that a later write
  removes). Two processes writing it at once each leave a true index; the last rename wins.

The index never changes an answer, only how fast it comes. It relies on the file system's timestamps: a
``run.json`` put back with its old inode, size and times would not be seen as changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from ..records import RunHead
from ._log import decode_all

__all__ = ["HEAD_FIELDS", "INDEX_NAME", "RACY_SECONDS", "RunsIndex", "head_of"]

#: The index's file name in the runs directory (not a run id: those start with a letter or digit).
INDEX_NAME = ".runs-index"
_MAGIC = "jupyter-taskvalues runs index 1"
_TMP_PREFIX = f"{INDEX_NAME}.tmp-"
#: The fields of a run record a head keeps (with ``task_count``), in the order an index entry lists them.
HEAD_FIELDS = (
    "format",
    "run_id",
    "job_id",
    "job_name",
    "state",
    "created",
    "start_time",
    "end_time",
    "repair_count",
    "source",
    "runner",
)
#: A ``run.json`` younger than this (by its change time) is read from the file, never from the index.
RACY_SECONDS = 2.0
_STALE_TMP_SECONDS = 600.0  # a temporary index this old is a killed writer's
_ENTRY_LENGTH = 1 + 4 + len(HEAD_FIELDS) + 1  # run id, identity, the fields, the task count

#: Tests only: called with ``"written"`` (the new index written, not yet renamed) and ``"replaced"``.
step_hook: Callable[[str], None] | None = None

Identity = tuple[int, int, int, int]


def head_of(record: Mapping[str, Any]) -> RunHead:
    """A run record's head: those of its :data:`HEAD_FIELDS` it has, and ``task_count``."""
    head = cast("RunHead", {field: record[field] for field in HEAD_FIELDS if field in record})
    tasks = record.get("tasks")
    head["task_count"] = len(tasks) if isinstance(tasks, dict) else 0
    return head


class RunsIndex:
    """The index file of one runs directory, read once per listing (see the module docstring)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.path = os.path.join(root, INDEX_NAME)
        self._lines: dict[str, bytes] = {}
        self._fresh: dict[str, bytes] = {}  # entries read now, to write
        self._corrupt = False

    def load(self) -> None:
        """Read the index; a missing one reads as empty, and so does a corrupt one (then written again)."""
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return
        except OSError:  # not a file, unreadable: as good as corrupt
            self._corrupt = True
            return
        first, _, body = data.partition(b"\n")
        if first != f"{_MAGIC} {zlib.crc32(body):08x}".encode():
            self._corrupt = True
            return
        lines = {}
        for line in body.split(b"\n"):
            end = line.find(b'"', 2)
            if line.startswith(b'["') and end > 2:
                lines[line[2:end].decode("ascii", "replace")] = line
        self._lines = lines

    def heads(self, run_ids: Iterable[str], accept: Callable[[Any], bool]) -> list[tuple[str, RunHead]]:
        """Return ``(run id, head)`` for each run of ``run_ids`` whose ``run.json`` is a record ``accept`` takes,
        in their order.

        A run whose ``run.json`` is missing (being created, or removed), unreadable or not accepted is left out.
        """
        now = time.time_ns()
        listed: list[tuple[str, Identity]] = []
        for run_id in run_ids:
            try:
                listed.append((run_id, _identity(os.stat(f"{self.root}{os.sep}{run_id}{os.sep}run.json"))))
            except (FileNotFoundError, NotADirectoryError):
                continue
        entries = decode_all([self._lines.get(run_id, b"null") for run_id, _ in listed])
        found = []
        for (run_id, identity), entry in zip(listed, entries, strict=True):
            head = _head_in(entry, identity)
            if head is None:
                read = _read(os.path.join(self.root, run_id, "run.json"))
                if read is None or not accept(read[0]):
                    continue
                head = head_of(read[0])
                st = read[1]  # the identity of the very file read, should it have been replaced meanwhile
                if now - max(st.st_mtime_ns, st.st_ctime_ns) >= RACY_SECONDS * 1e9:
                    self._fresh[run_id] = _entry(run_id, _identity(st), head)
            found.append((run_id, head))
        return found

    def save(self, run_ids: list[str]) -> None:
        """Write the index again, with the entries of ``run_ids`` only, if this listing read runs it lacked, or
        it was corrupt, or it holds runs that were removed.

        A failure to write (a read-only runs directory) is no error: the next listing reads those runs again.
        """
        present = set(run_ids)
        if not self._fresh and not self._corrupt and all(run_id in present for run_id in self._lines):
            return
        lines = self._lines | self._fresh
        body = b"".join(lines[run_id] + b"\n" for run_id in run_ids if run_id in lines)
        tmp = os.path.join(self.root, f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}")
        try:
            with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), "wb") as f:
                f.write(f"{_MAGIC} {zlib.crc32(body):08x}\n".encode() + body)
            _step("written")
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return
        _step("replaced")
        self._lines, self._fresh, self._corrupt = lines, {}, False
        self._remove_leftovers()

    def _remove_leftovers(self) -> None:
        """Remove the temporary files of writers killed before their rename (old enough not to be in use)."""
        with contextlib.suppress(OSError), os.scandir(self.root) as entries:
            for entry in entries:
                if entry.name.startswith(_TMP_PREFIX):
                    with contextlib.suppress(OSError):
                        if time.time() - entry.stat().st_mtime > _STALE_TMP_SECONDS:
                            os.unlink(entry.path)


def _identity(st: os.stat_result) -> Identity:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _entry(run_id: str, identity: Identity, head: RunHead) -> bytes:
    """An index line: the run id, the identity, the head's values in :data:`HEAD_FIELDS` order (``[]`` for a
    field the record lacks: no field of a head holds a list), then the task count."""
    values = [head.get(field, []) for field in HEAD_FIELDS]
    line = [run_id, *identity, *values, head["task_count"]]
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _head_in(entry: Any, identity: Identity) -> RunHead | None:
    """The head an index entry holds if it is the entry of the file ``identity`` names, else ``None``."""
    if not isinstance(entry, list) or len(entry) != _ENTRY_LENGTH or tuple(entry[1:5]) != identity:
        return None
    head = cast(
        "RunHead",
        {field: value for field, value in zip(HEAD_FIELDS, entry[5:-1], strict=True) if value != []},
    )
    head["task_count"] = entry[-1]
    return head


def _read(path: str) -> tuple[Any, os.stat_result] | None:
    """A ``run.json``'s parsed JSON and the identity of the file read; ``None`` if it cannot be read."""
    try:
        with open(path, "rb") as f:
            return json.loads(f.read()), os.fstat(f.fileno())
    except (OSError, ValueError):  # removed meanwhile, or not JSON (UnicodeDecodeError is a ValueError)
        return None


def _step(name: str) -> None:
    if step_hook is not None:
        step_hook(name)
