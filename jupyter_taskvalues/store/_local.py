"""The run store: every job run, its tasks' records and their task values, in one runs directory.

This module alone knows the layout on disk. Everything else calls :class:`RunStore`. Layout, format 2::

    <runs dir>/<run id>/
        run.json                   the run: job, parameters, state, timings, task list (runner writes)
        tasks/<task>/task.json     one task's record: state, attempts, parameters, error... (runner writes)
        values.log                 every value set in the run, and the runner's markers, appended in order
        notebooks/<task>.ipynb     the executed notebooks
        heartbeat                  touched by a live run's runner

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
- **No lock on the hot path.** Setting a key the run holds takes no lock and reads nothing but a ``stat``.
  Creating a key takes a short ``flock`` on the run's ``values.log`` and counts the run's values from the
  replayed log, so that the per-run limit holds exactly even when many processes race; a writer killed before
  its record landed is not counted.
- **Cheap reading and watching.** ``get`` is a ``stat`` and a lookup in the replayed log;
  :meth:`RunStore.fingerprint` stats the run record, the task records and the log, without reading values.
- Other files (``run.json``, task records, notebooks) are written to a temporary file in the same directory,
  then renamed over their target; a writer killed half-way leaves at most a ``.tmp-*`` file (see
  :meth:`RunStore.sweep`).

No ``fsync`` is done: a value survives any crash of the writing process, not a crash of the operating system.

Backends
--------
``RunStore(root)`` picks its backend from ``root``, as papermill picks an I/O handler: a local path (or a
``file://`` URL) is this module's directory layout; any other URL (``s3://bucket/runs``, ``gs://...``,
``abfs://...``, ``memory://...``) is an fsspec file system, :class:`~jupyter_taskvalues.store._fsspec.FsspecRunStore`,
whose module docstring explains how the guarantees above hold on object storage. :data:`STORE_BACKENDS` maps URL
schemes to store classes; the runs directory travels to kernels and Dask workers as that string.

Is a run still running?
-----------------------
A run whose runner died reads ``INTERRUPTED``, never ``RUNNING`` forever. On the runner's own host its process id
tells (with its start time, against a reused id). Elsewhere (the REST API on another machine, a run on object
storage) the *heartbeat* tells: while a run is live its runner rewrites a small ``heartbeat`` file of the run every
:data:`HEARTBEAT_INTERVAL` seconds (:meth:`RunStore.heartbeat`), and a ``PENDING`` or ``RUNNING`` run whose
heartbeat is older than ``stale_after`` seconds (default :data:`HEARTBEAT_TIMEOUT`) reads ``INTERRUPTED``.
A runner whose machine is suspended longer than that reads ``INTERRUPTED`` until it wakes up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import importlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring as _json_string  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from ..exceptions import (
    InvalidRunIdError,
    RunNotFoundError,
    StoreError,
    TaskNotFoundError,
    TaskValuesError,
    ValueLimitError,
    ValueNotFoundError,
)
from ..values import MAX_VALUES_PER_RUN, check_key, decode_value, encode_value
from . import _attachments
from ._log import LOG_NAME, Entry, LogState, Slot, ValueLog, decode_values, frame, synced, value_log

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: key creation is not serialized
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "FORMAT_VERSION",
    "HEARTBEAT_INTERVAL",
    "HEARTBEAT_TIMEOUT",
    "STORE_BACKENDS",
    "RunStore",
    "ValueRecord",
    "ValueSnapshot",
    "ValueTable",
    "new_run_id",
    "url_scheme",
    "utcnow",
    "value_table",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
#: Seconds between two touches of a live run's heartbeat by its runner.
HEARTBEAT_INTERVAL = 10.0
#: Seconds after which a live run whose heartbeat was not touched reads ``INTERRUPTED`` (default ``stale_after``).
HEARTBEAT_TIMEOUT = 60.0
#: Store classes by URL scheme (``"module:Class"`` strings are imported on first use); ``"*"`` serves every
#: other scheme. A local path, or a ``file://`` URL, is :class:`RunStore` itself.
STORE_BACKENDS: dict[str, str | type[RunStore]] = {"*": "jupyter_taskvalues.store._fsspec:FsspecRunStore"}
_URL_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)(?:://|::)")
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_PLAIN_NAME_RE = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,99}$")
_TMP_PREFIX = ".tmp-"
_FILE_MODE = 0o644
_NOTEBOOK_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$")
_FINAL_TASK_STATES = frozenset(  # a task in one of these writes no more values (the object store indexes it)
    ("SUCCESS", "FAILED", "TIMEDOUT", "CANCELED", "EXCLUDED", "UPSTREAM_FAILED", "UPSTREAM_CANCELED")
)
_DIR_MODE = 0o755


def utcnow() -> str:
    """Return the current UTC time as an ISO 8601 string with milliseconds (``2026-11-29T04:47:35.123Z``)."""
    now = dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def new_run_id() -> str:
    """Return a fresh run id; ids sort by creation time (``20261129-044735-123-a1b2c3``)."""
    now = dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%d-%H%M%S-") + f"{now.microsecond // 1000:03d}-{secrets.token_hex(3)}"


def url_scheme(root: object) -> str | None:
    """Return the URL scheme of a runs directory (``"s3"``), or ``None`` for a local path or ``file://`` URL."""
    if not isinstance(root, str):
        return None
    match = _URL_RE.match(root)
    if match is None:
        return None
    scheme = match.group(1).lower()
    return None if scheme in ("file", "local") and "::" not in root else scheme


def _local_path(root: str | os.PathLike[str]) -> Path:
    text = os.fspath(root)
    for prefix in ("file://", "local://"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    return Path(text).expanduser()


def _backend_class(scheme: str) -> type[RunStore]:
    factory = STORE_BACKENDS.get(scheme, STORE_BACKENDS["*"])
    if isinstance(factory, str):
        module, _, attribute = factory.partition(":")
        factory = getattr(importlib.import_module(module), attribute)
        assert isinstance(factory, type)
    return factory


def _name(key: str) -> str:
    """Return the file-system name that stores ``key`` (see the module docstring)."""
    if _PLAIN_NAME_RE.match(key) and key not in (".", ".."):
        return key
    return "~" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


@dataclass(frozen=True)
class ValueRecord:
    """A stored task value with its metadata."""

    task_key: str
    key: str
    value: Any
    size: int
    set_at: str
    attempt: int
    iteration: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the metadata as a JSON object (the value under ``"value"``)."""
        return {
            "key": self.key,
            "value": self.value,
            "size": self.size,
            "set_at": self.set_at,
            "attempt": self.attempt,
            "iteration": self.iteration,
        }


#: A task's values as the run document holds them: ``values`` (key -> value) and ``value_info`` (key ->
#: ``{"size", "set_at", "attempt"}``), both sorted by key.
ValueTable = tuple[dict[str, Any], dict[str, dict[str, Any]]]


def value_table(records: Mapping[str, ValueRecord]) -> ValueTable:
    """Return the :data:`ValueTable` of value records."""
    keys = sorted(records)
    values = {key: records[key].value for key in keys}
    info = {
        key: {"size": records[key].size, "set_at": records[key].set_at, "attempt": records[key].attempt}
        for key in keys
    }
    return values, info


class ValueSnapshot:
    """Every value of a run at one moment, in the shapes of the run document; every call returns fresh objects.

    This one asks its store for each table; the local store's (:meth:`RunStore.value_snapshot`) answers from
    one replay of the run's log, decoded at once.
    """

    def __init__(self, store: RunStore, run_id: str) -> None:
        self._store = store
        self._run_id = run_id

    def count(self) -> int:
        """How many values the run holds (iterations included)."""
        return self._store.count_values(self._run_id)

    def table(self, task_key: str, iteration: int | None = None) -> ValueTable:
        """The current values of a task, or of one of its for-each iterations."""
        return value_table(self._store.list_values(self._run_id, task_key, iteration=iteration))

    def iterations(self, task_key: str) -> dict[int, ValueTable]:
        """The values of every for-each iteration of a task, by iteration index."""
        per_iteration = self._store.list_iteration_values(self._run_id, task_key)
        return {index: value_table(records) for index, records in per_iteration.items()}

    def attempt(self, task_key: str, attempt: int) -> dict[str, Any]:
        """The values an earlier attempt of a task had set (key -> value, sorted by key)."""
        return value_table(self._store.attempt_values(self._run_id, task_key, attempt))[0]

    def version(self, task_key: str) -> Hashable | None:
        """Something that changes whenever the task's values (current, earlier attempts, iterations) change, or
        ``None`` when this store cannot tell cheaply."""
        return None


class RunStore:
    """Runs, task records and task values under one runs directory.

    ``RunStore(root)`` returns the store class that serves ``root`` (see "Backends" in the module docstring):
    this class for a local path, :class:`~jupyter_taskvalues.store._fsspec.FsspecRunStore` for a URL.

    Parameters
    ----------
    root
        The runs directory (created on first write), or an fsspec URL such as ``s3://bucket/runs``.
    max_values
        The most values one run may hold (Databricks: 250). A run created with another limit keeps its own.
    storage_options
        Passed to the fsspec file system of a URL (credentials, endpoint...); ignored for a local path.
        Without them fsspec's usual configuration applies (``fsspec.config``, ``FSSPEC_<PROTOCOL>_<KEY>``
        environment variables, the cloud SDK's own variables and files).
    stale_after
        Seconds without a heartbeat after which a live run whose runner cannot be checked reads ``INTERRUPTED``.
    """

    #: The runs directory: a :class:`~pathlib.Path` for a local store, the URL string for the others.
    root: Path | str

    def __new__(cls, root: str | os.PathLike[str] | None = None, **kwargs: Any) -> RunStore:
        chosen = cls
        if cls is RunStore:
            scheme = url_scheme(root)
            if scheme is not None:
                chosen = _backend_class(scheme)
        return super().__new__(chosen)

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        max_values: int = MAX_VALUES_PER_RUN,
        storage_options: Mapping[str, Any] | None = None,
        stale_after: float = HEARTBEAT_TIMEOUT,
    ) -> None:
        self._dir = _local_path(root)
        self.root = self._dir
        self.max_values = max_values
        self.stale_after = stale_after

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

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

    def check_run_id(self, run_id: str) -> str:
        """Return ``run_id`` if it is a valid run id; raise :class:`InvalidRunIdError` if it is not."""
        if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id) or ".." in run_id:
            raise InvalidRunIdError(
                f"{run_id!r} is not a valid run id: ids are letters, digits, '_', '-' and '.', "
                "at most 128 characters. List runs with `jupyter-taskvalues runs`.",
                run_id=str(run_id),
            )
        return run_id

    def create_run(
        self,
        *,
        job_name: str,
        tasks: Mapping[str, Mapping[str, Any]],
        parameters: Mapping[str, str] | None = None,
        run_id: str | None = None,
        job_id: str | None = None,
        max_values: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a run and return its id. ``tasks`` maps each task key to its static description."""
        run_id = run_id or new_run_id()
        path = self.run_dir(run_id)
        limit = max_values if max_values is not None else self.max_values
        record = _run_record(run_id, job_name, tasks, parameters, job_id, limit, extra)
        try:
            _makedirs(path.parent)
            path.mkdir(mode=_DIR_MODE)
            (path / "tasks").mkdir(mode=_DIR_MODE)
        except FileExistsError as e:
            raise StoreError(f"Run {run_id!r} already exists in {self.root}.", run_id=run_id) from e
        except OSError as e:
            raise StoreError(
                f"Cannot create run {run_id!r} in {self.root}: {e.strerror}.", run_id=run_id
            ) from e
        # The nonce comes first: a reader tells this log from an earlier run's of the same id by its first bytes.
        start = {"op": "start", "nonce": secrets.token_hex(8), "run_id": run_id, "created": record["created"]}
        value_log(str(path / LOG_NAME)).append(frame(json.dumps(start)))
        _write_json(path / "run.json", record)
        return run_id

    def read_run(self, run_id: str) -> dict[str, Any]:
        """Return the run record, with ``state`` read as ``INTERRUPTED`` if its runner died while running.

        The runner's process id tells on its own host; elsewhere a heartbeat older than ``stale_after`` does.
        """
        record = self._read_run_raw(run_id)
        if record.get("state") in ("PENDING", "RUNNING") and self._interrupted(run_id, record.get("runner")):
            record["state"] = "INTERRUPTED"
        return record

    def _interrupted(self, run_id: str, runner: Any) -> bool:
        alive = _runner_alive_here(runner)
        if alive is not None:
            return not alive
        age = self._heartbeat_age(run_id)
        return age is not None and age > self.stale_after

    # -- heartbeat ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def heartbeat(self, run_id: str, *, interval: float = HEARTBEAT_INTERVAL) -> Iterator[None]:
        """Touch the run's heartbeat now and every ``interval`` seconds while the block runs (a daemon thread).

        The runner holds this around a run, so that readers on other machines can tell a live run from one
        whose runner died (see the module docstring).
        """
        self._touch_heartbeat(run_id)
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(interval):
                try:
                    self._touch_heartbeat(run_id)
                except RunNotFoundError:
                    return
                except (OSError, TaskValuesError) as e:  # a storage hiccup: the next beat may succeed
                    log.warning("Cannot touch the heartbeat of run %s: %s", run_id, e)

        thread = threading.Thread(target=beat, name=f"taskvalues-heartbeat-{run_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5.0)

    def _touch_heartbeat(self, run_id: str) -> None:
        path = self.run_dir(run_id)
        try:
            _write_text(path / "heartbeat", utcnow())
        except FileNotFoundError:
            raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id) from None

    def _heartbeat_age(self, run_id: str) -> float | None:
        """Seconds since the run's heartbeat was touched, or ``None`` if it never was."""
        try:
            return time.time() - os.stat(self.run_dir(run_id) / "heartbeat").st_mtime
        except FileNotFoundError:
            return None

    def _read_run_file(self, run_id: str) -> Any:
        """The parsed ``run.json`` of a run; ``FileNotFoundError`` if there is none."""
        return _read_json(self.run_dir(run_id) / "run.json")

    def _write_run_file(self, run_id: str, record: Mapping[str, Any]) -> None:
        _write_json(self.run_dir(run_id) / "run.json", record)

    def _read_run_raw(self, run_id: str) -> dict[str, Any]:
        try:
            record = self._read_run_file(run_id)
        except FileNotFoundError:
            raise RunNotFoundError(
                f"No run {run_id!r} in {self.root}. List runs with `jupyter-taskvalues runs`.",
                run_id=run_id,
            ) from None
        if not isinstance(record, dict) or record.get("format") != FORMAT_VERSION:
            raise StoreError(
                f"Run {run_id!r} was written in a format this version cannot read "
                f"({record.get('format') if isinstance(record, dict) else 'unknown'}; expected {FORMAT_VERSION}).",
                run_id=run_id,
            )
        return record

    def update_run(self, run_id: str, **fields: Any) -> dict[str, Any]:
        """Update fields of the run record (only the runner calls this) and return the record."""
        record = self._read_run_raw(run_id)
        record.update(fields)
        if record.get("state") in ("PENDING", "RUNNING"):
            record["runner"] = _runner_identity()
        self._write_run_file(run_id, record)
        return record

    def run_ids(self) -> list[str]:
        """Return every run id, newest first."""
        try:
            entries = os.listdir(self._dir)
        except FileNotFoundError:
            return []
        return sorted((name for name in entries if _RUN_ID_RE.match(name)), reverse=True)

    def list_runs(self, *, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Return run records, newest first, reading only the requested page."""
        ids = self.run_ids()
        page = ids[offset : offset + limit if limit is not None else None]
        runs = []
        for run_id in page:
            with contextlib.suppress(RunNotFoundError, StoreError, ValueError):
                runs.append(self.read_run(run_id))
        return runs

    def count_runs(self) -> int:
        """Return how many runs the runs directory holds."""
        return len(self.run_ids())

    def delete_run(self, run_id: str) -> None:
        """Delete a run and everything it stored."""
        path = self.run_dir(run_id)
        if not (path / "run.json").exists():
            raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id)
        shutil.rmtree(path)

    # -- attachments (%taskvalue attach; run retention keeps an attached run) -----------------------------

    def record_attachment(self, run_id: str) -> None:
        """Record that this process is attached to ``run_id`` (:mod:`._attachments`); a URL store records none."""
        if self.is_local:
            try:
                _attachments.record_attachment(self.run_dir(run_id), _runner_identity(), utcnow())
            except OSError as e:
                raise StoreError(f"Cannot record the attachment to run {run_id!r}: {e}", run_id=run_id) from e

    def release_attachment(self, run_id: str) -> None:
        """Remove this process's attachment record of ``run_id``, if any."""
        if self.is_local:
            _attachments.release_attachment(self.run_dir(run_id), _runner_identity())

    def attachments(self, run_id: str) -> list[dict[str, Any]]:
        """Return the records of the live processes attached to ``run_id`` (none on a URL store)."""
        if not self.is_local:
            return []
        return _attachments.live_attachments(self.run_dir(run_id), _runner_alive_here)

    # -- task records -------------------------------------------------------------------------------------

    def task_keys(self, run_id: str) -> list[str]:
        """Return the task keys of the run's job, in definition order."""
        return list(self._read_run_raw(run_id).get("tasks", {}))

    def write_task(self, run_id: str, task_key: str, record: Mapping[str, Any]) -> None:
        """Replace the record of one task of the run (only the runner calls this)."""
        check_key(task_key, what="Task key")
        directory = self.run_dir(run_id) / "tasks" / _name(task_key)
        _makedirs(directory)
        _write_json(directory / "task.json", {"task_key": task_key, **record})

    def task_stamp(self, run_id: str, task_key: str) -> Hashable | None:
        """Something that changes whenever the task's record is written, or ``None`` if this store cannot tell
        cheaply (a record is replaced by a rename: its inode changes on every write)."""
        try:
            st = os.stat(self.run_dir(run_id) / "tasks" / _name(task_key) / "task.json")
        except FileNotFoundError:
            return "absent"
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def read_task(self, run_id: str, task_key: str) -> dict[str, Any] | None:
        """Return the record of one task, or ``None`` if the runner has not written one yet."""
        path = self.run_dir(run_id) / "tasks" / _name(task_key) / "task.json"
        try:
            record = _read_json(path)
        except FileNotFoundError:
            return None
        return record if isinstance(record, dict) else None

    # -- values -------------------------------------------------------------------------------------------

    def _log_path(self, run_id: str) -> str:
        # The hot path of dbutils.jobs.taskValues.get: string paths, no pathlib.
        return os.path.join(os.fspath(self._dir), self.check_run_id(run_id), LOG_NAME)

    def set_value(
        self,
        run_id: str,
        task_key: str,
        key: str,
        value: Any,
        *,
        iteration: int | None = None,
        attempt: int = 1,
        max_values: int | None = None,
    ) -> ValueRecord:
        """Store ``value`` under ``key`` for a task of a run; setting a key again overwrites it.

        Raises :class:`InvalidKeyError` or :class:`InvalidValueError` (nothing is stored) for a key or value
        that breaks a rule, and :class:`ValueLimitError` when a new key would exceed the run's limit.
        """
        check_key(key)
        check_key(task_key, what="Task key")
        text = encode_value(key, value, task_key=task_key)
        size = len(text.encode("utf-8"))
        set_at = utcnow()
        if iteration is not None:
            iteration = int(iteration)
        attempt = int(attempt)
        # The record's fields in store_log.FIELDS order, the value's text spliced in last (json.dumps of the
        # header as a dict gives the same text, slower: this is every set's path).
        payload = (
            f'{{"task_key": {_json_string(task_key)}, "key": {_json_string(key)}, '
            f'"iteration": {"null" if iteration is None else iteration}, "attempt": {attempt}, '
            f'"size": {size}, "set_at": "{set_at}","value":{text}}}'
        )
        entry = (text.encode("utf-8"), size, set_at, attempt)
        self._put_value(run_id, task_key, key, iteration, payload, max_values, entry)
        return _new_record(task_key, key, decode_value(text), size, set_at, attempt, iteration)

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

        Setting a key the run holds appends without a lock: a key leaves the run only by a runner's marker,
        written once the task's kernel is gone. A new key takes the run's lock, so that the limit holds
        exactly when processes race.
        """
        log = value_log(self._log_path(run_id))
        data = frame(payload)
        slot = (task_key, iteration, key)
        if entry is None:
            entry = _entry_of(data)
        with log.lock:
            if log.sync().get(*slot) is not None:
                self._append(run_id, log, data, slot, entry)
                return
            limit = max_values if max_values is not None else self._run_limit(run_id)
            with self._locked_log(run_id, log) as fd:
                state = log.sync()
                if state.get(*slot) is None and state.count >= limit:
                    raise _limit_error(run_id, task_key, key, state.count, limit)
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
            fd = log.open()
        except FileNotFoundError:
            raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id) from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    def _run_limit(self, run_id: str) -> int:
        limit = self._read_run_raw(run_id).get("max_values")
        return int(limit) if limit is not None else self.max_values

    def get_value_record(
        self, run_id: str, task_key: str, key: str, *, iteration: int | None = None
    ) -> ValueRecord:
        """Return the stored value record; raise :class:`TaskNotFoundError` or :class:`ValueNotFoundError`."""
        try:
            return _record_from(self._read_value_file(run_id, task_key, key, iteration))
        except FileNotFoundError:
            pass
        run = self._read_run_raw(run_id)
        if task_key not in run.get("tasks", {}):
            known = ", ".join(repr(k) for k in run.get("tasks", {})) or "none"
            raise TaskNotFoundError(
                f"Task {task_key!r} is not part of run {run_id!r} of job {run.get('job_name')!r}. "
                f"Its tasks are: {known}.",
                task_key=task_key,
                run_id=run_id,
            ) from None
        raise ValueNotFoundError(
            f"Task {task_key!r} of run {run_id!r} set no value {key!r}. Pass a default, or check that the "
            "task sets it and that this task depends on it.",
            task_key=task_key,
            key=key,
            run_id=run_id,
        ) from None

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

    def get_value(self, run_id: str, task_key: str, key: str, *, iteration: int | None = None) -> Any:
        """Return a fresh copy of a stored value (see :meth:`get_value_record`)."""
        return self.get_value_record(run_id, task_key, key, iteration=iteration).value

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
        with synced(self._log_path(run_id)) as state:
            return _LogSnapshot(state)

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

    # -- notebooks and watching ---------------------------------------------------------------------------

    def notebook_path(self, run_id: str, task_key: str, iteration: int | None = None) -> Path:
        """Return the local file an executor writes the executed notebook of a task (or iteration) to.

        For a local store it is where the notebook is kept. A store on a URL returns a staging file on this
        machine instead, uploaded by :meth:`write_task` when the task's record names it (or by
        :meth:`write_notebook`).
        """
        directory = self.run_dir(run_id) / "notebooks"
        _makedirs(directory)
        return directory / _notebook_name(task_key, iteration)

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
        path = self.run_dir(run_id) / "notebooks" / _notebook_name(task_key, iteration)
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

    def fingerprint(self, run_id: str) -> str:
        """Return a short string that changes whenever anything in the run changes.

        It stats the run record, the task records and the value log, and reads no value.
        """
        base = self.run_dir(run_id)
        parts: list[str] = []
        try:
            parts.append(str(os.stat(base / "run.json").st_mtime_ns))
        except FileNotFoundError:
            raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id) from None
        age = self._heartbeat_age(run_id)
        if age is not None and age > self.stale_after:  # a runner that died changes nothing else
            parts.append("stale")
        for entry in _scandir(base / "tasks"):
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                parts.append(f"{entry.name}:{os.stat(os.path.join(entry.path, 'task.json')).st_mtime_ns}")
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


def _write_json(path: Path, data: Any) -> None:
    _write_text(path, json.dumps(data, ensure_ascii=False, indent=1))


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
        key: _new_record(task_key, key, value, size, set_at, attempt, iteration)
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


def _new_record(
    task_key: str, key: str, value: Any, size: int, set_at: str, attempt: int, iteration: int | None
) -> ValueRecord:
    """A :class:`ValueRecord` made without the frozen dataclass's ``__init__`` (a run document makes 10,000)."""
    record = object.__new__(ValueRecord)
    record.__dict__.update(
        task_key=task_key,
        key=key,
        value=value,
        size=size,
        set_at=set_at,
        attempt=attempt,
        iteration=iteration,
    )
    return record


def _record_from(data: Mapping[str, Any]) -> ValueRecord:
    return _new_record(
        data["task_key"],
        data["key"],
        data["value"],
        int(data.get("size", 0)),
        data.get("set_at", ""),
        int(data.get("attempt", 1)),
        data.get("iteration"),
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


def _limit_error(run_id: str, task_key: str, key: str, count: int, limit: int) -> ValueLimitError:
    return ValueLimitError(
        f"Cannot set task value {key!r} of task {task_key!r}: run {run_id!r} already holds "
        f"{count} values, the limit is {limit}. Store fewer, larger values (a dict) instead.",
        key=key,
        task_key=task_key,
        run_id=run_id,
    )


def _notebook_name(task_key: str, iteration: int | None) -> str:
    """The file name of an executed notebook: the task key itself when it is plain ASCII, so people can read it.

    Two task keys that differ only in case would share a name on a case-insensitive file system: those get
    the key's short hash after it.
    """
    suffix = f"@{int(iteration)}" if iteration is not None else ""
    if _NOTEBOOK_NAME_RE.match(task_key):
        stem = task_key if task_key == task_key.lower() else f"{task_key}-{_name(task_key)[1:9]}"
    else:
        stem = _name(task_key)
    return f"{stem}{suffix}.ipynb"


def _run_record(
    run_id: str,
    job_name: str,
    tasks: Mapping[str, Mapping[str, Any]],
    parameters: Mapping[str, str] | None,
    job_id: str | None,
    max_values: int,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The record of a new run (every backend writes the same one)."""
    record: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "run_id": run_id,
        "job_id": job_id,
        "job_name": job_name,
        "state": "PENDING",
        "created": utcnow(),
        "start_time": None,
        "end_time": None,
        "parameters": dict(parameters or {}),
        "repair_count": 0,
        "max_values": max_values,
        "tasks": {key: dict(info) for key, info in tasks.items()},
        "runner": _runner_identity(),
    }
    record.update(extra or {})
    return record


def _runner_identity() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": _process_start(os.getpid())}


def _process_start(pid: int) -> str | None:
    """Return the kernel's start tick of a process on Linux (tells a live runner from a reused pid)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _runner_alive_here(runner: Any) -> bool | None:
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
    return not (started is not None and _process_start(pid) != started)
