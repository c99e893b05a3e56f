"""The run store API (DESIGN.md contract 2): :class:`RunStore`, the base every backend implements.

A run store keeps job runs under one runs directory: each run's record, its tasks' records, their task values
and executed notebooks. Only the store knows how they are laid out; everything else calls these methods.
:func:`~jupyter_taskvalues.store.open_store` (or ``RunStore(root)``) returns the backend that serves a runs
directory (:mod:`._registry`): the local store (:mod:`._local`, whose docstring draws the layout on disk) or the
fsspec store (:mod:`._fsspec`, for object storage).

What every backend provides:

- **Runs**: :meth:`RunStore.create_run`, :meth:`~RunStore.read_run`, :meth:`~RunStore.update_run`,
  :meth:`~RunStore.run_ids` / :meth:`~RunStore.list_runs` / :meth:`~RunStore.list_run_heads` (newest first),
  :meth:`~RunStore.has_run`,
  :meth:`~RunStore.delete_run` (and :meth:`~RunStore.sweep_removed`, which finishes one that was killed).
- **Task records**: :meth:`~RunStore.write_task`, :meth:`~RunStore.read_task`, :meth:`~RunStore.task_stamp`.
- **Values**: :meth:`~RunStore.set_value`, :meth:`~RunStore.get_value` / :meth:`~RunStore.get_value_record`,
  :meth:`~RunStore.list_values`, :meth:`~RunStore.all_values`, :meth:`~RunStore.value_snapshot`, archiving a
  failed attempt's values and clearing a task's for a repair.
- **Executed notebooks**: :meth:`~RunStore.notebook_path` (the local file an executor writes),
  :meth:`~RunStore.write_notebook`, :meth:`~RunStore.read_notebook`, :meth:`~RunStore.kept_notebook`; the output
  log next to it: :meth:`~RunStore.write_output_log`, :meth:`~RunStore.open_output_log`.
- **Watching**: :meth:`~RunStore.fingerprint` changes whenever anything in the run does, without reading values.
- **Wheel task files**: :meth:`~RunStore.logs_dir`, the local folder a wheel task's wheels are built and
  installed in. What a script or wheel task prints goes to its output log, as a notebook task's does.
- **Requests to the runner**: :meth:`~RunStore.request_cancel` lets any process (the CLI, a server that did not
  start the run) ask a live run's runner to cancel it or one task; the runner reads them with
  :meth:`~RunStore.cancel_requests`.

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

import abc
import contextlib
import datetime as dt
import getpass
import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring as _json_string  # type: ignore[attr-defined]
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from ..exceptions import (
    InvalidRunIdError,
    RunNotFoundError,
    StoreError,
    TaskNotFoundError,
    TaskValuesError,
    ValueLimitError,
    ValueNotFoundError,
)
from ..records import (
    CancelRequest,
    RunHead,
    RunRecord,
    TaskInfo,
    TaskRecord,
    WaitingCancelRequest,
    new_cancel_request,
)
from ..timestamps import utcnow
from ..values import MAX_VALUES_PER_RUN, check_key, decode_value, encode_value
from ._index import head_of
from ._layout import RUN_ID_RE, cancel_request_name, output_log_name
from ._registry import store_class
from ._runner import runner_alive_here, runner_identity

if TYPE_CHECKING:  # typing_extensions is not a dependency: only the type checker reads Unpack
    from typing_extensions import Unpack

__all__ = [
    "FORMAT_VERSION",
    "HEARTBEAT_INTERVAL",
    "HEARTBEAT_TIMEOUT",
    "RunStore",
    "ValueRecord",
    "ValueSnapshot",
    "ValueTable",
    "limit_error",
    "new_record",
    "new_run_id",
    "record_from",
    "run_record",
    "utcnow",
    "value_table",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
#: Seconds between two touches of a live run's heartbeat by its runner.
HEARTBEAT_INTERVAL = 10.0
#: Seconds after which a live run whose heartbeat was not touched reads ``INTERRUPTED`` (default ``stale_after``).
HEARTBEAT_TIMEOUT = 60.0


def new_run_id() -> str:
    """Return a fresh run id; ids sort by creation time (``20261129-044735-123-a1b2c3``)."""
    now = dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%d-%H%M%S-") + f"{now.microsecond // 1000:03d}-{secrets.token_hex(3)}"


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


class RunStore(abc.ABC):
    """Runs, task records and task values under one runs directory: the API every store backend implements.

    ``RunStore(root)`` returns the store class that serves ``root`` (:func:`~jupyter_taskvalues.store.open_store`
    does the same): :class:`~jupyter_taskvalues.store._local.LocalRunStore` for a local path,
    :class:`~jupyter_taskvalues.store._fsspec.FsspecRunStore` for a URL.

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
    max_values: int
    stale_after: float

    def __new__(cls, root: str | os.PathLike[str] | None = None, **kwargs: Any) -> RunStore:
        chosen = store_class(root) if cls is RunStore else cls
        return super().__new__(chosen)

    @abc.abstractmethod
    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        max_values: int = MAX_VALUES_PER_RUN,
        storage_options: Mapping[str, Any] | None = None,
        stale_after: float = HEARTBEAT_TIMEOUT,
    ) -> None:
        """Open the store (nothing is written until the first run is created)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

    @property
    @abc.abstractmethod
    def is_local(self) -> bool:
        """Whether the runs directory is a local directory (paths from :meth:`run_dir` can be opened)."""

    # -- runs ---------------------------------------------------------------------------------------------

    @abc.abstractmethod
    def run_dir(self, run_id: str) -> Path:
        """Return the directory of ``run_id``; raise :class:`InvalidRunIdError` for an id that is not one.

        Only a local store has directories: a store on a URL raises :class:`StoreError` (see :meth:`run_url`).
        """

    @abc.abstractmethod
    def run_url(self, run_id: str) -> str:
        """Return where the run is kept, as a string: its directory, or its URL for a store on a URL."""

    def check_run_id(self, run_id: str) -> str:
        """Return ``run_id`` if it is a valid run id; raise :class:`InvalidRunIdError` if it is not."""
        if not isinstance(run_id, str) or not RUN_ID_RE.match(run_id) or ".." in run_id:
            raise InvalidRunIdError(
                f"{run_id!r} is not a valid run id: ids are letters, digits, '_', '-' and '.', "
                "at most 128 characters. List runs with `jupyter-taskvalues runs`.",
                run_id=str(run_id),
            )
        return run_id

    @abc.abstractmethod
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

    @abc.abstractmethod
    def has_run(self, run_id: str) -> bool:
        """Whether this store holds a run ``run_id`` (its record is there), reading nothing else.

        A Dask worker asks it to tell a runs directory it shares with the runner from one it does not.
        """

    def resolve_run_id(self, run_id: str, *, hint: str = "") -> str:
        """Return ``run_id``, or the newest run's id when it is ``"latest"``.

        Parameters
        ----------
        run_id
            A run id, or ``"latest"``.
        hint
            A sentence added to the error when there is no run yet (what the caller's user can do).

        Raises
        ------
        RunNotFoundError
            For ``"latest"`` when the runs directory holds no run.
        """
        if run_id != "latest":
            return run_id
        ids = self.run_ids()
        if not ids:
            message = f"There are no runs in {self.root} yet." + (f" {hint}" if hint else "")
            raise RunNotFoundError(message, run_id=run_id)
        return ids[0]

    def require_task(self, run_id: str, task_key: str) -> RunRecord:
        """Return the run record (as :meth:`read_run`) after checking that ``task_key`` is one of its tasks.

        Raises
        ------
        TaskNotFoundError
            If the run's job has no task ``task_key``; the message lists the tasks it has.
        """
        run = self.read_run(run_id)
        if task_key not in (run.get("tasks") or {}):
            raise _task_not_found(run, run_id, task_key)
        return run

    def read_run(self, run_id: str) -> RunRecord:
        """Return the run record, with ``state`` read as ``INTERRUPTED`` if its runner died while running.

        The runner's process id tells on its own host; elsewhere a heartbeat older than ``stale_after`` does.
        """
        record = self._read_run_raw(run_id)
        if record.get("state") in ("PENDING", "RUNNING") and self._interrupted(run_id, record.get("runner")):
            record["state"] = "INTERRUPTED"
        return record

    def _interrupted(self, run_id: str, runner: Any) -> bool:
        alive = runner_alive_here(runner)
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

    @abc.abstractmethod
    def _touch_heartbeat(self, run_id: str) -> None:
        """Rewrite the run's heartbeat; raise :class:`RunNotFoundError` if there is no such run."""

    @abc.abstractmethod
    def _heartbeat_age(self, run_id: str) -> float | None:
        """Seconds since the run's heartbeat was touched, or ``None`` if it never was."""

    # -- requests to a live run's runner (cancel from another process) -----------------------------------

    def request_cancel(
        self, run_id: str, task_key: str | None = None, *, requested_by: str | None = None, via: str = "api"
    ) -> CancelRequest:
        """Ask the runner of ``run_id`` (in whatever process or machine) to cancel the run, or one task of it.

        Writes a small request file in the run's ``requests/`` folder, atomically; the runner looks for requests
        about twice a second and cancels as an in-process cancel does, recording the request. Nothing checks
        here that the run is still running: a request that arrives after the run finished is never read (a
        repair ignores requests made before it, by their ``repair_count``). Returns the request written.

        Parameters
        ----------
        requested_by
            Who asks (a user name); default: this process's user.
        via
            What the request came through (``"cli"``, ``"jupyter-server"``...), recorded with it.

        Raises
        ------
        RunNotFoundError, TaskNotFoundError
            No such run, or the run's job has no task ``task_key``.
        """
        run = self._read_run_raw(run_id) if task_key is None else self.require_task(run_id, task_key)
        request = new_cancel_request(
            run_id,
            task_key,
            repair_count=int(run.get("repair_count") or 0),
            requested_at=utcnow(),
            requested_by=requested_by or _user_name(),
            via=via,
            host=socket.gethostname(),
            pid=os.getpid(),
        )
        self._write_request(run_id, cancel_request_name(task_key), json.dumps(request, ensure_ascii=False))
        return request

    def cancel_requests(self, run_id: str) -> tuple[list[WaitingCancelRequest], list[str]]:
        """Return the cancel requests waiting in the run (oldest first) and the names of unreadable request files.

        A request file that is not a request this version understands is logged as a warning and named in the
        second list (the runner removes it), never raised.
        """
        requests: list[WaitingCancelRequest] = []
        garbage: list[str] = []
        for name, data in sorted(self._read_requests(run_id).items()):
            try:
                request = json.loads(data)
                valid = (
                    isinstance(request, dict)
                    and request.get("op") == "cancel"
                    and isinstance(request.get("task_key"), (str, type(None)))
                    and cancel_request_name(request["task_key"]) == name
                    and isinstance(request.get("repair_count", 0), int)
                )
            except ValueError:
                valid = False
            if not valid:
                log.warning(
                    "Ignoring request file %s of run %s: it is not a cancel request (write requests with "
                    "`jupyter-taskvalues cancel`).",
                    name,
                    run_id,
                )
                garbage.append(name)
                continue
            requests.append(request | {"name": name})
        requests.sort(key=lambda r: str(r.get("requested_at") or ""))
        return requests, garbage

    def remove_request(self, run_id: str, name: str) -> None:
        """Remove one request file of the run (the runner does, once it has handled or refused it)."""
        self._remove_request(run_id, name)

    @abc.abstractmethod
    def _write_request(self, run_id: str, name: str, text: str) -> None:
        """Write the request file ``name`` of the run atomically; raise :class:`RunNotFoundError` if no run."""

    @abc.abstractmethod
    def _read_requests(self, run_id: str) -> dict[str, bytes]:
        """Every request file of the run by name (none: an empty dict), in one listing."""

    @abc.abstractmethod
    def _remove_request(self, run_id: str, name: str) -> None:
        """Remove a request file of the run; one that is already gone is no error."""

    @abc.abstractmethod
    def _read_run_file(self, run_id: str) -> Any:
        """The parsed run record of a run; ``FileNotFoundError`` if there is none."""

    @abc.abstractmethod
    def _write_run_file(self, run_id: str, record: RunRecord) -> None:
        """Replace the run record of a run, atomically."""

    def _read_run_raw(self, run_id: str) -> RunRecord:
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
        return cast("RunRecord", record)  # a JSON object of this format: a run record

    def update_run(self, run_id: str, /, **fields: Unpack[RunRecord]) -> RunRecord:
        """Update fields of the run record (only the runner calls this) and return the record."""
        record = self._read_run_raw(run_id)
        record.update(fields)
        if record.get("state") in ("PENDING", "RUNNING"):
            record["runner"] = runner_identity()
        self._write_run_file(run_id, record)
        return record

    @abc.abstractmethod
    def run_ids(self) -> list[str]:
        """Return every run id, newest first."""

    def list_runs(self, *, limit: int | None = None, offset: int = 0) -> list[RunRecord]:
        """Return run records, newest first, reading only the requested page.

        A run that cannot be read (removed meanwhile, another format, a torn record) is left out of the page.
        """
        ids = self.run_ids()
        page = ids[offset : offset + limit if limit is not None else None]
        runs = []
        for run_id in page:
            with contextlib.suppress(RunNotFoundError, StoreError, ValueError):
                runs.append(self.read_run(run_id))
        return runs

    def list_run_heads(self, *, limit: int | None = None, offset: int = 0) -> list[RunHead]:
        """Return the heads of the runs, newest first, reading only the requested page: of each run record as
        :meth:`list_runs` gives it, the fields a run list shows (``run_id``, ``job_name``, ``state``, times,
        ``repair_count``, ``source``...: :data:`._index.HEAD_FIELDS`) and ``task_count``, not the tasks.

        What run lists show (:func:`~jupyter_taskvalues.document.run_summary`); a local store reads them from its
        runs index (:mod:`._index`), with the same answer as from the run records.
        """
        return [head_of(run) for run in self.list_runs(limit=limit, offset=offset)]

    def count_runs(self) -> int:
        """Return how many runs the runs directory holds."""
        return len(self.run_ids())

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Delete a run and everything it stored; raise :class:`RunNotFoundError` if there is no such run.

        A local store first takes the run out of the listing in one step, so that a process killed half-way
        leaves no half-deleted run, only debris that :meth:`sweep_removed` deletes.
        """

    def sweep_removed(self) -> int:
        """Finish deleting the runs a killed :meth:`delete_run` left half-deleted; return how many.

        A store whose deletion leaves no such debris does nothing.
        """
        return 0

    # -- attachments (%taskvalue attach; run retention keeps an attached run) -----------------------------

    def record_attachment(self, run_id: str) -> None:  # noqa: B027 - a store that cannot tell does nothing
        """Record that this process is attached to ``run_id``; a store that cannot tell records none."""

    def release_attachment(self, run_id: str) -> None:  # noqa: B027 - a store that cannot tell does nothing
        """Remove this process's attachment record of ``run_id``, if any."""

    def attachments(self, run_id: str) -> list[dict[str, Any]]:
        """Return the records of the live processes attached to ``run_id`` (none on a store that cannot tell)."""
        return []

    # -- task records -------------------------------------------------------------------------------------

    def task_keys(self, run_id: str) -> list[str]:
        """Return the task keys of the run's job, in definition order."""
        return list(self._read_run_raw(run_id).get("tasks", {}))

    @abc.abstractmethod
    def write_task(self, run_id: str, task_key: str, record: TaskRecord) -> None:
        """Replace the record of one task of the run (only the runner calls this)."""

    @abc.abstractmethod
    def task_stamp(self, run_id: str, task_key: str) -> Hashable | None:
        """Something that changes whenever the task's record is written, or ``None`` if this store cannot tell
        cheaply."""

    @abc.abstractmethod
    def read_task(self, run_id: str, task_key: str) -> TaskRecord | None:
        """Return the record of one task, or ``None`` if the runner has not written one yet."""

    # -- values -------------------------------------------------------------------------------------------

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
        return new_record(task_key, key, decode_value(text), size, set_at, attempt, iteration)

    @abc.abstractmethod
    def _put_value(
        self,
        run_id: str,
        task_key: str,
        key: str,
        iteration: int | None,
        payload: str,
        max_values: int | None,
        entry: tuple[bytes, int, str, int] | None = None,
    ) -> None:
        """Store one value's record (``payload``, a JSON object; ``entry``, its parts for the local log),
        enforcing the run's limit (``max_values``, else the run record's) for a new key."""

    def _run_limit(self, run_id: str) -> int:
        limit = self._read_run_raw(run_id).get("max_values")
        return int(limit) if limit is not None else self.max_values

    def get_value_record(
        self, run_id: str, task_key: str, key: str, *, iteration: int | None = None
    ) -> ValueRecord:
        """Return the stored value record; raise :class:`TaskNotFoundError` or :class:`ValueNotFoundError`."""
        try:
            return record_from(self._read_value_file(run_id, task_key, key, iteration))
        except FileNotFoundError:
            pass
        run = self._read_run_raw(run_id)
        if task_key not in run.get("tasks", {}):
            raise _task_not_found(run, run_id, task_key) from None
        raise ValueNotFoundError(
            f"Task {task_key!r} of run {run_id!r} set no value {key!r}. Pass a default, or check that the "
            "task sets it and that this task depends on it.",
            task_key=task_key,
            key=key,
            run_id=run_id,
        ) from None

    @abc.abstractmethod
    def _read_value_file(self, run_id: str, task_key: str, key: str, iteration: int | None) -> Any:
        """The stored record of one value, freshly decoded; ``FileNotFoundError`` if the run holds none."""

    def get_value(self, run_id: str, task_key: str, key: str, *, iteration: int | None = None) -> Any:
        """Return a fresh copy of a stored value (see :meth:`get_value_record`)."""
        return self.get_value_record(run_id, task_key, key, iteration=iteration).value

    @abc.abstractmethod
    def list_values(
        self, run_id: str, task_key: str, *, iteration: int | None = None
    ) -> dict[str, ValueRecord]:
        """Return the current values of one task (or one of its iterations), keyed by value key."""

    @abc.abstractmethod
    def list_iteration_values(self, run_id: str, task_key: str) -> dict[int, dict[str, ValueRecord]]:
        """Return the values of every for-each iteration of a task, keyed by iteration index."""

    @abc.abstractmethod
    def all_values(self, run_id: str) -> dict[str, dict[str, ValueRecord]]:
        """Return the current values of every task of the run (iterations excluded)."""

    @abc.abstractmethod
    def count_values(self, run_id: str) -> int:
        """Return how many values the run holds (the number checked against its limit)."""

    def value_snapshot(self, run_id: str) -> ValueSnapshot:
        """Return every value of the run at this moment, in the shapes the run document shows."""
        return ValueSnapshot(self, run_id)

    @abc.abstractmethod
    def archive_attempt(self, run_id: str, task_key: str, attempt: int) -> None:
        """Move the task's current values aside as those of ``attempt``, so that the next attempt starts empty."""

    @abc.abstractmethod
    def attempt_values(self, run_id: str, task_key: str, attempt: int) -> dict[str, ValueRecord]:
        """Return the values an earlier attempt of a task had set when it was moved aside."""

    @abc.abstractmethod
    def clear_task_values(self, run_id: str, task_key: str) -> None:
        """Delete every value of a task, iterations included (a repair re-runs it from scratch)."""

    # -- notebooks and watching ---------------------------------------------------------------------------

    @abc.abstractmethod
    def notebook_path(self, run_id: str, task_key: str, iteration: int | None = None) -> Path:
        """Return the local file an executor writes the executed notebook of a task (or iteration) to.

        For a local store it is where the notebook is kept. A store on a URL returns a staging file on this
        machine instead, uploaded by :meth:`write_task` when the task's record names it (or by
        :meth:`write_notebook`).
        """

    def output_log_path(self, run_id: str, task_key: str, iteration: int | None = None) -> Path:
        """Return the local file an executor streams the output log of a task (or iteration) to.

        It sits next to the :meth:`notebook_path` file: where a local store keeps it, a staging file for a store
        on a URL (uploaded by :meth:`write_output_log` when the task ends).
        """
        return self.notebook_path(run_id, task_key, iteration).with_name(output_log_name(task_key, iteration))

    @abc.abstractmethod
    def logs_dir(self, run_id: str) -> Path:
        """Return the local folder a wheel task of the run builds and installs its wheels in.

        For a local store it is a folder of the run; a store on a URL returns a staging folder on this machine,
        removed when the run ends (see :meth:`sweep`).
        """

    @abc.abstractmethod
    def write_notebook(
        self, run_id: str, task_key: str, iteration: int | None, source: str | os.PathLike[str] | bytes
    ) -> str:
        """Keep an executed notebook as the task's (or iteration's); return where it is kept.

        ``source`` is the file holding it, or its JSON as ``bytes``. The returned string is what a task
        record's ``output_notebook`` holds: a path for a local store, a URL for the others.
        """

    @abc.abstractmethod
    def read_notebook(self, run_id: str, task_key: str, iteration: int | None = None) -> dict[str, Any]:
        """Return the executed notebook of a task (or iteration) as JSON; raise ``FileNotFoundError`` if none."""

    @abc.abstractmethod
    def write_output_log(
        self, run_id: str, task_key: str, iteration: int | None, source: str | os.PathLike[str]
    ) -> str:
        """Keep the output log an executor streamed to the local file ``source``; return where it is kept.

        A local store's executor streams it in place (next to :meth:`notebook_path`); a store on a URL uploads
        it, streamed in parts, never read whole into memory.
        """

    @abc.abstractmethod
    def open_output_log(self, run_id: str, task_key: str, iteration: int | None = None) -> BinaryIO:
        """Open the output log of a task (or iteration) for binary reading (seekable); raise
        ``FileNotFoundError`` if it has none (it printed nothing, or has not ended on a store on a URL)."""

    def kept_notebook(self, run_id: str, recorded: str) -> Path | None:
        """Return the local file a task record's ``output_notebook`` names, or ``None`` if there is none here.

        A relative ``recorded`` is taken inside the run's folder. Only a local store has such files; the JSON
        of a kept notebook always comes from :meth:`read_notebook`.
        """
        return None

    @abc.abstractmethod
    def fingerprint(self, run_id: str) -> str:
        """Return a short string that changes whenever anything in the run changes, reading no value."""

    @abc.abstractmethod
    def sweep(self, run_id: str) -> int:
        """Remove temporary files left by writers that were killed mid-write; return how many."""


def _task_not_found(run: RunRecord, run_id: str, task_key: str) -> TaskNotFoundError:
    known = ", ".join(repr(k) for k in run.get("tasks") or {}) or "none"
    return TaskNotFoundError(
        f"Task {task_key!r} is not part of run {run_id!r} of job {run.get('job_name')!r}. Its tasks are: {known}.",
        task_key=task_key,
        run_id=run_id,
    )


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (a container): say which uid asked
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def new_record(
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


def record_from(data: Mapping[str, Any]) -> ValueRecord:
    """The :class:`ValueRecord` of a stored value's JSON record."""
    return new_record(
        data["task_key"],
        data["key"],
        data["value"],
        int(data.get("size", 0)),
        data.get("set_at", ""),
        int(data.get("attempt", 1)),
        data.get("iteration"),
    )


def limit_error(run_id: str, task_key: str, key: str, count: int, limit: int) -> ValueLimitError:
    """The error of a new key that would take a run past its values limit."""
    return ValueLimitError(
        f"Cannot set task value {key!r} of task {task_key!r}: run {run_id!r} already holds "
        f"{count} values, the limit is {limit}. Store fewer, larger values (a dict) instead.",
        key=key,
        task_key=task_key,
        run_id=run_id,
    )


def run_record(
    run_id: str,
    job_name: str,
    tasks: Mapping[str, TaskInfo],
    parameters: Mapping[str, str] | None,
    job_id: str | None,
    max_values: int,
    extra: RunRecord | None,
) -> RunRecord:
    """The record of a new run (every backend writes the same one)."""
    record: RunRecord = {
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
        "tasks": {key: TaskInfo(**info) for key, info in tasks.items()},
        "runner": runner_identity(),
    }
    record.update(extra or {})
    return record
