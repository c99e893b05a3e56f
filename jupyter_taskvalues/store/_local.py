"""The run store: every job run, its tasks' records and their task values, in one runs directory.

This module alone knows the layout on disk. Everything else calls the store API,
:class:`~jupyter_taskvalues.store._base.RunStore`; :func:`~jupyter_taskvalues.store.open_store` (or
``RunStore(root)``) returns this store, :class:`LocalRunStore`, for a local path (or a ``file://`` URL).
Layout, format 2::

    <runs dir>/<run id>/
        run.json                   the run: job, parameters, state, timings, task list (runner writes)
        tasks/<task>/task.json     one task's record: state, attempts, parameters, error... (runner writes)
        values.log                 every value set in the run, and the runner's markers, appended in order
        notebooks/<task>.ipynb     the executed notebooks
        logs/                      script and wheel tasks' stdout and stderr (and the wheels they install)
        heartbeat                  touched by a live run's runner
        requests/cancel*.json      requests to cancel the run or a task, from other processes (runner removes)
    <runs dir>/.gc-<run id>/       a run being deleted (no longer listed; ``sweep_removed`` finishes it)
    <runs dir>/.runs-index         the heads of the runs, a cache for run lists (:mod:`._index`)

``values.log`` is a JSON text sequence (RFC 7464), one record per value set: task key, key, iteration, attempt,
size, time and the value. The runner appends markers to it: ``archive`` when a task is retried (its values
become those of the failed attempt) and ``clear`` when a repair re-runs a task. Replaying the log gives the run's
values; ``jupyter_taskvalues.store._log`` does it, and keeps each run's replay in the reading process, caught up
from the bytes appended since (a ``stat`` tells whether there are any). ``<task>`` in file names is the task key
itself when it is short, lower-case and plain; anything else is stored under ``~`` plus a SHA-256 prefix, so that
no key can reach outside the run, collide on a case-insensitive file system, or exceed a file-name limit.

Guarantees:

- **Atomic records.** Every value is one record appended by a single ``write`` on a file opened ``O_APPEND``:
  on a local file system concurrent appends never interleave, so a reader sees the old value or the new one,
  never a torn one. A writer killed mid-write leaves a cut record, which readers skip (as they skip a record
  still being written). NFS does not make ``O_APPEND`` writes atomic: keep a runs directory shared between
  machines on object storage (a URL, below), not on NFS.
- **No waiting on the hot path.** Setting a key the run holds takes a shared ``flock`` on the run's
  ``values.log`` (writers never wait for each other, only for a compaction) and reads nothing but a ``stat``.
  Creating a key takes the ``flock`` exclusively and counts the run's values from the replayed log, so that
  the per-run limit holds exactly even when many processes race; a writer killed before its record landed is
  not counted.
- **Compacted logs.** A log whose dead records (values set again, cleared or archived tasks' iterations) take
  more than half of it is rewritten with only its live records: past 1 MiB by the writer that set a value
  again and by a reader of the run document, past 64 KiB by the runner when a task ends
  (:mod:`jupyter_taskvalues.store._compact`). Under the exclusive lock, to a temporary file, ``fsync``,
  renamed over the log; a writer waiting meanwhile appends to the new log. A process killed at any point
  leaves the old log or the new one, each with every value.
- **A runs index.** Run lists read each run's head from ``<runs dir>/.runs-index``, trusted only for a
  ``run.json`` whose inode, size and times are those it was read with: a stale, racy or corrupt index is
  read past, never believed (:mod:`jupyter_taskvalues.store._index`).
- **Cheap reading and watching.** ``get`` is a ``stat`` and a lookup in the replayed log;
  :meth:`LocalRunStore.fingerprint` stats the run record, the task records and the log, without reading values.
- Other files (``run.json``, task records, notebooks) are written to a temporary file in the same directory,
  then renamed over their target; a writer killed half-way leaves at most a ``.tmp-*`` file (see
  :meth:`LocalRunStore.sweep`).

No ``fsync`` is done (but by a compaction, before its rename): a value survives any crash of the writing
process, not a crash of the operating system.

A store on a URL is :mod:`jupyter_taskvalues.store._fsspec`, whose docstring explains how the same guarantees hold
on object storage; :mod:`jupyter_taskvalues.store._base` explains how a run whose runner died reads ``INTERRUPTED``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Hashable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

from ..exceptions import RunNotFoundError, StoreError
from ..records import RunHead, RunRecord, TaskInfo, TaskRecord, dumps
from ..states import FINAL_STATES
from ..timestamps import utcnow
from ..values import MAX_VALUES_PER_RUN, check_key
from . import _attachments, _compact
from ._base import (
    FORMAT_VERSION,
    HEARTBEAT_TIMEOUT,
    RunStore,
    ValueRecord,
    ValueSnapshot,
    ValueTable,
    limit_error,
    new_record,
    new_run_id,
    run_record,
)
from ._index import RunsIndex
from ._layout import (
    HEARTBEAT_NAME,
    LOGS_DIR,
    NOTEBOOKS_DIR,
    REQUESTS_DIR,
    RUN_ID_RE,
    RUN_RECORD_NAME,
    TASK_RECORD_NAME,
    TASKS_DIR,
    TRASH_PREFIX,
    entry_name,
    notebook_name,
    output_log_name,
)
from ._log import LOG_NAME, Entry, LogState, Slot, ValueLog, decode_values, frame, synced, value_log
from ._registry import local_path
from ._runner import runner_alive_here, runner_identity

__all__ = ["FORMAT_VERSION", "LocalRunStore"]

_logger = logging.getLogger(__name__)

_TMP_PREFIX = ".tmp-"
_FILE_MODE = 0o644
_DIR_MODE = 0o755


class LocalRunStore(RunStore):
    """Runs in a local runs directory, in the layout of the module docstring.

    Parameters are those of :class:`~jupyter_taskvalues.store._base.RunStore`; ``storage_options`` is ignored.
    """

    root: Path

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        max_values: int = MAX_VALUES_PER_RUN,
        storage_options: Mapping[str, Any] | None = None,
        stale_after: float = HEARTBEAT_TIMEOUT,
    ) -> None:
        self._dir = local_path(root)
        self.root = self._dir
        self.max_values = max_values
        self.stale_after = stale_after

    @property
    def is_local(self) -> bool:
        """Whether the runs directory is a local directory (paths from :meth:`run_dir` can be opened)."""
        return True

    # -- runs ---------------------------------------------------------------------------------------------

    def run_dir(self, run_id: str) -> Path:
        """Return the directory of ``run_id``; raise :class:`InvalidRunIdError` for an id that is not one.

        Only a local store has directories: a store on a URL raises :class:`StoreError` (see :meth:`run_url`).
        """
        return self._dir / self.check_run_id(run_id)

    def run_url(self, run_id: str) -> str:
        """Return where the run is kept, as a string: its directory, or its URL for a store on a URL."""
        return str(self.run_dir(run_id))

    def create_run(
        self,
        *,
        job_name: str,
        tasks: Mapping[str, TaskInfo],
        parameters: Mapping[str, str] | None = None,
        run_id: str | None = None,
        job_id: str | None = None,
        max_values: int | None = None,
        extra: RunRecord | None = None,
    ) -> str:
        """Create a run and return its id. ``tasks`` maps each task key to its static description; ``extra``
        holds more fields of the run record (the job file, bundle settings...)."""
        run_id = run_id or new_run_id()
        path = self.run_dir(run_id)
        limit = max_values if max_values is not None else self.max_values
        record = run_record(run_id, job_name, tasks, parameters, job_id, limit, extra)
        try:
            _makedirs(path.parent)
            path.mkdir(mode=_DIR_MODE)
            (path / TASKS_DIR).mkdir(mode=_DIR_MODE)
        except FileExistsError as e:
            raise StoreError(f"Run {run_id!r} already exists in {self.root}.", run_id=run_id) from e
        except OSError as e:
            raise StoreError(
                f"Cannot create run {run_id!r} in {self.root}: {e.strerror}.", run_id=run_id
            ) from e
        # The nonce comes first: a reader tells this log from an earlier run's of the same id by its first bytes.
        start = {"op": "start", "nonce": secrets.token_hex(8), "run_id": run_id, "created": record["created"]}
        value_log(str(path / LOG_NAME)).append(frame(json.dumps(start)))
        _write_json(path / RUN_RECORD_NAME, record)
        return run_id

    def has_run(self, run_id: str) -> bool:
        """Whether the runs directory holds run ``run_id`` (its ``run.json`` is there)."""
        return (self.run_dir(run_id) / RUN_RECORD_NAME).is_file()

    def _touch_heartbeat(self, run_id: str) -> None:
        path = self.run_dir(run_id)
        try:
            _write_text(path / HEARTBEAT_NAME, utcnow())
        except FileNotFoundError:
            raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id) from None

    def _heartbeat_age(self, run_id: str) -> float | None:
        """Seconds since the run's heartbeat was touched, or ``None`` if it never was."""
        try:
            return time.time() - os.stat(self.run_dir(run_id) / HEARTBEAT_NAME).st_mtime
        except FileNotFoundError:
            return None

    def _write_request(self, run_id: str, name: str, text: str) -> None:
        folder = self.run_dir(run_id) / REQUESTS_DIR
        try:
            folder.mkdir(mode=_DIR_MODE, exist_ok=True)
            _write_text(folder / name, text)
        except FileNotFoundError:
            raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id) from None

    def _read_requests(self, run_id: str) -> dict[str, bytes]:
        found = {}
        for entry in _scandir(self.run_dir(run_id) / REQUESTS_DIR):
            if entry.name.startswith(_TMP_PREFIX):
                continue
            # Removed meanwhile, or not a file: not a request.
            with contextlib.suppress(FileNotFoundError, IsADirectoryError), open(entry.path, "rb") as f:
                found[entry.name] = f.read(65_536)
        return found

    def _remove_request(self, run_id: str, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.run_dir(run_id) / REQUESTS_DIR / name)

    def _read_run_file(self, run_id: str) -> Any:
        """The parsed ``run.json`` of a run; ``FileNotFoundError`` if there is none."""
        return _read_json(self.run_dir(run_id) / RUN_RECORD_NAME)

    def _write_run_file(self, run_id: str, record: RunRecord) -> None:
        _write_json(self.run_dir(run_id) / RUN_RECORD_NAME, record)

    def run_ids(self) -> list[str]:
        """Return every run id, newest first."""
        try:
            entries = os.listdir(self._dir)
        except FileNotFoundError:
            return []
        return sorted((name for name in entries if RUN_ID_RE.match(name)), reverse=True)

    def list_run_heads(self, *, limit: int | None = None, offset: int = 0) -> list[RunHead]:
        """Return the heads of the runs, newest first, reading only the requested page (see
        :meth:`RunStore.list_run_heads`), from the runs index (:mod:`._index`): one read of the index and a
        ``stat`` per run; a run the index holds no true head of is read from its ``run.json``."""
        ids = self.run_ids()
        index = RunsIndex(os.fspath(self._dir))
        index.load()
        page = ids[offset : offset + limit if limit is not None else None]
        heads = []
        for run_id, head in index.heads(page, _readable):
            if head.get("state") in ("PENDING", "RUNNING") and self._interrupted(run_id, head.get("runner")):
                head["state"] = "INTERRUPTED"
            heads.append(head)
        index.save(ids)
        return heads

    def delete_run(self, run_id: str) -> None:
        """Delete a run and everything it stored.

        The run's folder is first renamed to ``.gc-<run id>`` (one atomic step: from then on no reader lists
        it), then deleted; a process killed half-way leaves no half-deleted run, only a ``.gc-*`` folder that
        :meth:`sweep_removed` deletes.
        """
        path = self.run_dir(run_id)
        if not (path / RUN_RECORD_NAME).exists():
            raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id)
        trash = path.with_name(f"{TRASH_PREFIX}{run_id}")
        try:
            os.replace(path, trash)
        except FileNotFoundError:  # another process deleted it meanwhile
            raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id) from None
        shutil.rmtree(trash)

    def sweep_removed(self) -> int:
        """Finish deleting the runs a killed :meth:`delete_run` left as ``.gc-*`` folders; return how many went."""
        removed = 0
        for entry in _scandir(self._dir):
            if entry.name.startswith(TRASH_PREFIX) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)  # another process may be deleting it too
                removed += not os.path.lexists(entry.path)
        return removed

    # -- attachments (%taskvalue attach; run retention keeps an attached run) -----------------------------

    def record_attachment(self, run_id: str) -> None:
        """Record that this process is attached to ``run_id`` (:mod:`._attachments`); a URL store records none."""
        if self.is_local:
            try:
                _attachments.record_attachment(self.run_dir(run_id), runner_identity(), utcnow())
            except OSError as e:
                raise StoreError(f"Cannot record the attachment to run {run_id!r}: {e}", run_id=run_id) from e

    def release_attachment(self, run_id: str) -> None:
        """Remove this process's attachment record of ``run_id``, if any."""
        if self.is_local:
            _attachments.release_attachment(self.run_dir(run_id), runner_identity())

    def attachments(self, run_id: str) -> list[dict[str, Any]]:
        """Return the records of the live processes attached to ``run_id`` (none on a URL store)."""
        if not self.is_local:
            return []
        return _attachments.live_attachments(self.run_dir(run_id), runner_alive_here)

    def write_task(self, run_id: str, task_key: str, record: TaskRecord) -> None:
        """Replace the record of one task of the run (only the runner calls this)."""
        check_key(task_key, what="Task key")
        directory = self.run_dir(run_id) / TASKS_DIR / entry_name(task_key)
        _makedirs(directory)
        _write_json(directory / TASK_RECORD_NAME, {"task_key": task_key, **record})
        if record.get("state") in FINAL_STATES:  # a task ended: its overwritten values are dead records now
            self._compact_when_due(run_id, task_ended=True)

    def task_stamp(self, run_id: str, task_key: str) -> Hashable | None:
        """Something that changes whenever the task's record is written, or ``None`` if this store cannot tell
        cheaply (a record is replaced by a rename: its inode changes on every write)."""
        try:
            st = os.stat(self.run_dir(run_id) / TASKS_DIR / entry_name(task_key) / TASK_RECORD_NAME)
        except FileNotFoundError:
            return "absent"
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def read_task(self, run_id: str, task_key: str) -> TaskRecord | None:
        """Return the record of one task, or ``None`` if the runner has not written one yet."""
        path = self.run_dir(run_id) / TASKS_DIR / entry_name(task_key) / TASK_RECORD_NAME
        try:
            record = _read_json(path)
        except FileNotFoundError:
            return None
        # A JSON object is the task's record (records are not validated key by key).
        return cast("TaskRecord", record) if isinstance(record, dict) else None

    def _log_path(self, run_id: str) -> str:
        # The hot path of dbutils.jobs.taskValues.get: string paths, no pathlib.
        return os.path.join(os.fspath(self._dir), self.check_run_id(run_id), LOG_NAME)

    def _put_value(
        self,
        run_id: str,
        task_key: str,
        key: str,
        iteration: int | None,
        payload: str,
        max_values: int | None,
        entry: Entry | None = None,
    ) -> None:
        """Append the value's record (``payload``, a JSON object; ``entry``, its replay) to the run's log.

        Setting a key the run holds appends under the log's shared lock (a compaction holds it exclusively):
        a key leaves the run only by a runner's marker, written once the task's kernel is gone. A new key takes
        the exclusive lock, so that the limit holds exactly when processes race.
        """
        log = value_log(self._log_path(run_id))
        data = frame(payload)
        slot = (task_key, iteration, key)
        if entry is None:
            entry = _entry_of(data)
        with log.lock:
            if log.sync().get(*slot) is not None:
                self._append(run_id, log, data, slot, entry)
                # A value set again and again (a training loop's metric) keeps its log at about twice its
                # live records, not growing until the task ends.
                self._compact_when_due(run_id, log, log.state)
                return
            limit = max_values if max_values is not None else self._run_limit(run_id)
            with self._locked_log(run_id, log) as fd:
                state = log.sync()
                if state.get(*slot) is None and state.count >= limit:
                    raise limit_error(run_id, task_key, key, state.count, limit)
                log.append(data, slot, entry, fd=fd)

    def _append(
        self, run_id: str, log: ValueLog, data: bytes, slot: Slot | None = None, entry: Entry | None = None
    ) -> None:
        try:
            log.append(data, slot, entry)
        except FileNotFoundError:
            raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id) from None

    @contextlib.contextmanager
    def _locked_log(self, run_id: str, log: ValueLog) -> Iterator[int]:
        """Open the run's log for appending and hold its ``flock``: key creation and markers, one at a time."""
        try:
            fd = log.open_locked(exclusive=True)
        except FileNotFoundError:
            raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id) from None
        try:
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    def _read_value_file(self, run_id: str, task_key: str, key: str, iteration: int | None) -> Any:
        """The stored record of one value, freshly decoded; ``FileNotFoundError`` if the run holds none."""
        log = value_log(self._log_path(run_id))
        with log.lock:
            entry = log.sync().get(task_key, None if iteration is None else int(iteration), key)
        if entry is None:
            raise FileNotFoundError(key)
        text, size, set_at, attempt = entry
        return {
            "task_key": task_key,
            "key": key,
            "iteration": iteration,
            "attempt": attempt,
            "size": size,
            "set_at": set_at,
            "value": json.loads(text),
        }

    def list_values(
        self, run_id: str, task_key: str, *, iteration: int | None = None
    ) -> dict[str, ValueRecord]:
        """Return the current values of one task (or one of its iterations), keyed by value key."""
        index = None if iteration is None else int(iteration)
        with synced(self._log_path(run_id)) as state:
            entries = dict(state.live.get(task_key, {}).get(index, {}))
        return _records(task_key, index, entries)

    def list_iteration_values(self, run_id: str, task_key: str) -> dict[int, dict[str, ValueRecord]]:
        """Return the values of every for-each iteration of a task, keyed by iteration index."""
        with synced(self._log_path(run_id)) as state:
            per_iteration = {
                index: dict(entries)
                for index, entries in state.live.get(task_key, {}).items()
                if index is not None
            }
        return {index: _records(task_key, index, entries) for index, entries in per_iteration.items()}

    def all_values(self, run_id: str) -> dict[str, dict[str, ValueRecord]]:
        """Return the current values of every task of the run (iterations excluded)."""
        tasks = self.task_keys(run_id)
        with synced(self._log_path(run_id)) as state:
            per_task = {task: dict(state.live.get(task, {}).get(None, {})) for task in tasks}
        return {task: _records(task, None, entries) for task, entries in per_task.items()}

    def count_values(self, run_id: str) -> int:
        """Return how many values the run holds (the number checked against its limit)."""
        with synced(self._log_path(run_id)) as state:
            return state.count

    def value_snapshot(self, run_id: str) -> ValueSnapshot:
        """Return every value of the run at this moment, in the shapes the run document shows.

        One replay of the log and one decoding of all its values, however many tasks ask.
        """
        log = value_log(self._log_path(run_id))
        with log.lock:
            state = log.sync()
            snapshot = _LogSnapshot(state)
            self._compact_when_due(run_id, log, state)
        return snapshot

    def compact_values(self, run_id: str, *, force: bool = False) -> tuple[int, int] | None:
        """Compact the run's value log now if it is due (:mod:`._compact`), or whatever its size if ``force``.

        The runner does it when a task ends and readers of the run document when a log is due; this is for
        maintenance and tests. Returns the log's size before and after, in bytes, or ``None`` if it was left
        as it was. Raises :class:`StoreError` if the new log cannot be written (the old one is kept).
        """
        log = value_log(self._log_path(run_id))
        with log.lock:
            state = log.sync()
            if not (force or _compact.due(state, log.size)):
                return None
            return self._compact(run_id, log)

    def _compact(self, run_id: str, log: ValueLog) -> tuple[int, int]:
        try:
            return _compact.compact(log, run_id)
        except OSError as e:
            if isinstance(e, FileNotFoundError) and not os.path.isdir(os.path.dirname(log.path)):
                raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id) from None
            raise StoreError(
                f"Cannot compact the value log {log.path}: {e.strerror or e}. The log is kept as it was; check "
                "that the disk has room and that the runs directory is writable.",
                run_id=run_id,
            ) from e

    def _compact_when_due(
        self,
        run_id: str,
        log: ValueLog | None = None,
        state: LogState | None = None,
        *,
        task_ended: bool = False,
    ) -> None:
        """Compact the run's log if it is due; a log that cannot be compacted is logged once and left as it is
        until it doubles (a read-only runs directory is read as fast as it can be, never refused)."""
        path = self._log_path(run_id)
        if log is None or state is None:
            least = _compact.TASK_END_MIN_BYTES if task_ended else _compact.MIN_BYTES
            try:
                if os.stat(path).st_size < least:  # most logs: one stat, no replay
                    return
            except FileNotFoundError:
                return
            log = value_log(path)
            with log.lock:
                self._compact_when_due(run_id, log, log.sync(), task_ended=task_ended)
            return
        if log.size < 2 * log.compact_failed_at or not _compact.due(state, log.size, task_ended=task_ended):
            return
        try:
            self._compact(run_id, log)
        except (RunNotFoundError, StoreError) as e:
            log.compact_failed_at = log.size
            _logger.warning("%s", e)

    def archive_attempt(self, run_id: str, task_key: str, attempt: int) -> None:
        """Move the task's current values aside as those of ``attempt``, so that the next attempt starts empty."""
        self._mark(run_id, task_key, {"op": "archive", "task_key": task_key, "attempt": int(attempt)})

    def attempt_values(self, run_id: str, task_key: str, attempt: int) -> dict[str, ValueRecord]:
        """Return the values an earlier attempt of a task had set when it was moved aside."""
        with synced(self._log_path(run_id)) as state:
            entries = dict(state.archived.get((task_key, attempt), {}))
        return _records(task_key, None, entries)

    def clear_task_values(self, run_id: str, task_key: str) -> None:
        """Delete every value of a task, iterations included (a repair re-runs it from scratch)."""
        self._mark(run_id, task_key, {"op": "clear", "task_key": task_key})

    def _mark(self, run_id: str, task_key: str, marker: dict[str, Any]) -> None:
        """Append a runner's marker to the log, under the run's lock, if the task holds values."""
        log = value_log(self._log_path(run_id))
        with log.lock, self._locked_log(run_id, log) as fd:
            if task_key in log.sync().live:
                log.append(frame(json.dumps(marker, ensure_ascii=False)), fd=fd)

    def notebook_path(self, run_id: str, task_key: str, iteration: int | None = None) -> Path:
        """Return the local file an executor writes the executed notebook of a task (or iteration) to.

        For a local store it is where the notebook is kept. A store on a URL returns a staging file on this
        machine instead, uploaded by :meth:`write_task` when the task's record names it (or by
        :meth:`write_notebook`).
        """
        directory = self.run_dir(run_id) / NOTEBOOKS_DIR
        _makedirs(directory)
        return directory / notebook_name(task_key, iteration)

    def logs_dir(self, run_id: str) -> Path:
        """Return the run's ``logs`` folder, where wheel tasks build and install their wheels."""
        return self.run_dir(run_id) / LOGS_DIR

    def write_notebook(
        self, run_id: str, task_key: str, iteration: int | None, source: str | os.PathLike[str] | bytes
    ) -> str:
        """Keep an executed notebook as the task's (or iteration's); return where it is kept.

        ``source`` is the file holding it, or its JSON as ``bytes``; either way it is written atomically (a
        temporary file renamed, mode ``0o644``). The returned string is what a task record's
        ``output_notebook`` holds: a path for a local store, a URL for the others.
        """
        target = self.notebook_path(run_id, task_key, iteration)
        if isinstance(source, bytes):
            _write_text(target, source.decode("utf-8"))
        elif Path(source).resolve() != target.resolve():
            _write_text(target, Path(source).read_text(encoding="utf-8"))
        return str(target)

    def read_notebook(self, run_id: str, task_key: str, iteration: int | None = None) -> dict[str, Any]:
        """Return the executed notebook of a task (or iteration) as JSON; raise ``FileNotFoundError`` if none."""
        path = self.run_dir(run_id) / NOTEBOOKS_DIR / notebook_name(task_key, iteration)
        try:  # never through a link: the REST API serves this, and the file must be the store's own
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise FileNotFoundError(f"{path} is a symbolic link, not a notebook the store kept.") from e
            raise
        with open(fd, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise StoreError(f"The executed notebook {path} is not a notebook.", run_id=run_id)
        return data

    def write_output_log(
        self, run_id: str, task_key: str, iteration: int | None, source: str | os.PathLike[str]
    ) -> str:
        """Keep a task's output log; return its path. The executor streams it in place (next to
        :meth:`notebook_path`): then there is nothing to do; another file is copied in and renamed over it."""
        target = self.output_log_path(run_id, task_key, iteration)
        if Path(source).resolve() == target.resolve():
            return str(target)
        tmp = target.with_name(f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}")
        try:
            with (
                open(source, "rb") as src,
                open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE), "wb") as dst,
            ):
                shutil.copyfileobj(src, dst)
            os.replace(tmp, target)
        except OSError as e:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise StoreError(f"Cannot keep the output log {target}: {e.strerror or e}.", run_id=run_id) from e
        return str(target)

    def open_output_log(self, run_id: str, task_key: str, iteration: int | None = None) -> BinaryIO:
        """Open a task's output log (never through a link); raise ``FileNotFoundError`` if it has none."""
        path = self.run_dir(run_id) / NOTEBOOKS_DIR / output_log_name(task_key, iteration)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise FileNotFoundError(
                    f"{path} is a symbolic link, not an output log the store kept."
                ) from e
            raise
        return open(fd, "rb")

    def kept_notebook(self, run_id: str, recorded: str) -> Path | None:
        """Return the file a task record's ``output_notebook`` names (relative: inside the run's folder), or
        ``None`` if it is not a file."""
        path = Path(recorded)
        if not path.is_absolute():
            path = self.run_dir(run_id) / path
        path = path.resolve()
        return path if path.is_file() else None

    def fingerprint(self, run_id: str) -> str:
        """Return a short string that changes whenever anything in the run changes.

        It stats the run record, the task records and the value log, and reads no value.
        """
        base = self.run_dir(run_id)
        parts: list[str] = []
        try:
            parts.append(str(os.stat(base / RUN_RECORD_NAME).st_mtime_ns))
        except FileNotFoundError:
            raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id) from None
        age = self._heartbeat_age(run_id)
        if age is not None and age > self.stale_after:  # a runner that died changes nothing else
            parts.append("stale")
        for entry in _scandir(base / TASKS_DIR):
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                parts.append(
                    f"{entry.name}:{os.stat(os.path.join(entry.path, TASK_RECORD_NAME)).st_mtime_ns}"
                )
        with contextlib.suppress(FileNotFoundError):
            st = os.stat(base / LOG_NAME)
            parts.append(f"{LOG_NAME}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
        return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]

    def sweep(self, run_id: str) -> int:
        """Remove temporary files left by writers that were killed mid-write; return how many."""
        removed = 0
        for dirpath, _dirs, files in os.walk(self.run_dir(run_id)):
            for name in files:
                if name.startswith(_TMP_PREFIX):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(dirpath, name))
                        removed += 1
        return removed


# -- file helpers ---------------------------------------------------------------------------------------------


def _scandir(path: Path) -> Sequence[os.DirEntry[str]]:
    try:
        return list(os.scandir(path))
    except FileNotFoundError:
        return []


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file in the same directory, then a rename."""
    tmp = path.with_name(f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
        try:
            data = text.encode("utf-8")
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except FileNotFoundError:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    except OSError as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise StoreError(f"Cannot write {path}: {e.strerror or e}.") from e


def _write_json(path: Path, record: RunRecord | TaskRecord) -> None:
    _write_text(path, dumps(record))


def _readable(record: Any) -> bool:
    """Whether a parsed ``run.json`` is a run record this version reads (as ``RunStore.read_run`` checks)."""
    return isinstance(record, dict) and record.get("format") == FORMAT_VERSION


def _read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _entry_of(data: bytes) -> Entry:
    """The replay entry of a value record the store framed (``set_value``'s header, then the value's JSON)."""
    at = data.index(b',"value":')
    header = json.loads(data[1:at] + b"}")
    return data[at + 9 : -2], int(header["size"]), str(header["set_at"]), int(header["attempt"])


def _records(task_key: str, iteration: int | None, entries: Mapping[str, Entry]) -> dict[str, ValueRecord]:
    """Value records of the entries of one task (or iteration), their values decoded at once."""
    values = decode_values(list(entries.values()))
    return {
        key: new_record(task_key, key, value, size, set_at, attempt, iteration)
        for (key, (_text, size, set_at, attempt)), value in zip(entries.items(), values, strict=True)
    }


class _LogSnapshot(ValueSnapshot):
    """A :class:`ValueSnapshot` of a replayed log: its entries copied at once, decoded a task at a time."""

    def __init__(self, state: LogState) -> None:
        self._count = state.count
        self._live = {
            task: {index: dict(entries) for index, entries in per_index.items()}
            for task, per_index in state.live.items()
        }
        self._archived = {scope: dict(entries) for scope, entries in state.archived.items()}
        self._epoch = state.epoch
        self._versions = dict(state.versions)

    def count(self) -> int:
        """How many values the run holds (iterations included)."""
        return self._count

    def table(self, task_key: str, iteration: int | None = None) -> ValueTable:
        """The current values of a task, or of one of its for-each iterations."""
        entries = self._live.get(task_key, {}).get(iteration, {})
        return _table(entries, decode_values(list(entries.values())))

    def iterations(self, task_key: str) -> dict[int, ValueTable]:
        """The values of every for-each iteration of a task, by iteration index."""
        return {
            index: self.table(task_key, index) for index in self._live.get(task_key, {}) if index is not None
        }

    def attempt(self, task_key: str, attempt: int) -> dict[str, Any]:
        """The values an earlier attempt of a task had set (key -> value, sorted by key)."""
        entries = self._archived.get((task_key, attempt), {})
        return _table(entries, decode_values(list(entries.values())))[0]

    def version(self, task_key: str) -> Hashable | None:
        """The replay this snapshot comes from, and how many records changed the task's values in it."""
        return (self._epoch, self._versions.get(task_key, 0))


def _table(entries: dict[str, Entry], values: list[Any]) -> ValueTable:
    decoded = dict(zip(entries, values, strict=True))
    keys = sorted(decoded)
    return (
        {key: decoded[key] for key in keys},
        {
            key: {"size": entries[key][1], "set_at": entries[key][2], "attempt": entries[key][3]}
            for key in keys
        },
    )


def _makedirs(path: Path) -> None:
    """Create ``path`` and its missing parents, each ``0o755`` (not the umask's default, which may be 0o777)."""
    missing = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=_DIR_MODE)
