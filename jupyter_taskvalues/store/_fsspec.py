"""The run store on an fsspec URL: object storage (``s3://``, ``gs://``, ``abfs://``...) and ``memory://``.

``open_store("s3://bucket/runs")`` (or ``RunStore(...)``) returns a :class:`FsspecRunStore`. A run is objects
under the URL (format 2, as the local store's): ``run.json``, ``tasks/<task>/task.json``, ``notebooks/``,
``heartbeat`` and ``requests/`` as in the local store (see :mod:`jupyter_taskvalues.store._local`; the names are
shared, in :mod:`._layout`), and each value its own object, ``values/<task>/<key>.json``
(``values/<task>/@<i>/<key>.json`` for a for-each iteration, ``attempts/<task>/<n>/`` for a retried task's
earlier attempt), instead of the local store's append-only log: an object store has no append, no rename and no
lock, so the guarantees are kept another way.

- **Never a torn value.** Every file is one object written by a single PUT of its whole content (values are at
  most 48 KiB, records a few KiB; fsspec sends one request below 100 MiB). A PUT is atomic: a reader gets the
  old object or the new one. There are no temporary objects, so nothing to sweep.
- **Last write wins.** Setting a key again overwrites its object; the store keeps the latest PUT. The runner
  alone writes run and task records (a read-modify-write in one process).
- **Cheap listing and watching.** A run is one prefix. :meth:`~FsspecRunStore.fingerprint` is one listing of that
  prefix (a request per 1,000 objects), hashed from each object's ETag (or generation, or modification time)
  and size, reading no value. Listings bypass fsspec's listings cache, so a reader never works from a stale
  one. Reading a task's values is one listing of its folder, then GETs (one concurrent batch) of the values
  its *index* does not hold: when a task finishes, the runner writes ``values/<task>/.index.json``, a snapshot
  of every value with the version (ETag...) of the object it was read from. A reader uses a snapshot entry
  only while the listing shows the object at that version, so the index can be stale but never wrong; a
  finished run's document costs a listing and one GET per task.
- **Setting a value** is a HEAD (does the key exist?) and a PUT; a new key also lists ``values/`` to count.
- **The values limit.** With no lock, the count is a listing of ``values/`` taken just before a new key's PUT.
  Each writer enforces the limit against what it saw; writers creating new keys at the same moment can each see
  room for one more, so a run may end up over its limit by at most the number of such concurrent creators
  minus one (bounded by the tasks running at once). Overwriting a key never counts. A run is created with a
  conditional PUT (``If-None-Match: *``) where the file system supports it, so two runners cannot both create
  the same run id.
- **Moves are copies.** Archiving a failed attempt's values copies each object (server-side) and deletes the
  original; only the runner does it, between attempts, when no kernel of the task is writing.
- **Executed notebooks.** An executor writes a notebook to a local file: :meth:`~FsspecRunStore.notebook_path`
  is a staging file on this machine, uploaded by :meth:`~FsspecRunStore.write_task` when the task's record
  names it (and recorded as the object's URL), or directly with :meth:`~FsspecRunStore.write_notebook` (what a
  Dask worker does). The task's output log is streamed to a staging file next to it while the task runs and
  uploaded by the executor when the task ends (:meth:`~FsspecRunStore.write_output_log`), whatever its state.
- **Is the run live?** The runner's process id cannot be checked from another machine: the runner rewrites the
  run's ``heartbeat`` object every few seconds, and a live run whose heartbeat is older than ``stale_after``
  reads ``INTERRUPTED`` (the object's modification time, from the store's clock; keep clocks in sync).

Credentials and endpoints come from fsspec's usual configuration: ``storage_options`` given to the store, then
``fsspec.config`` (``~/.config/fsspec/*.json``, ``FSSPEC_S3_ENDPOINT_URL``-style variables), then the cloud
SDK's own (``AWS_ACCESS_KEY_ID``, ``~/.aws/credentials``, instance roles...). Kernels and Dask workers only
receive the URL, so they must find credentials the same way (environment variables or config files).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, cast

from ..exceptions import RunNotFoundError, StoreError, TaskValuesError
from ..records import RunRecord, TaskInfo, TaskRecord, dumps
from ..states import FINAL_STATES
from ..timestamps import parse_time, utcnow
from ..values import MAX_VALUES_PER_RUN, check_key
from ._base import (
    HEARTBEAT_TIMEOUT,
    RunStore,
    ValueRecord,
    ValueSnapshot,
    limit_error,
    new_run_id,
    record_from,
    run_record,
)
from ._layout import (
    HEARTBEAT_NAME,
    LOGS_DIR,
    NOTEBOOKS_DIR,
    REQUESTS_DIR,
    RUN_ID_RE,
    RUN_RECORD_NAME,
    TASK_RECORD_NAME,
    TASKS_DIR,
    entry_name,
    notebook_name,
    output_log_name,
)

__all__ = ["FsspecRunStore"]

#: Metadata fields that change when an object is rewritten, in order of preference (content hashes first).
_VERSION_FIELDS = (
    "ETag",
    "etag",
    "md5Hash",
    "generation",
    "version_id",
    "mtime",
    "LastModified",
    "updated",
    "created",
)
_INDEX = ".index.json"
_MODIFIED_FIELDS = ("LastModified", "last_modified", "mtime", "updated", "created")


class FsspecRunStore(RunStore):
    """Runs on an fsspec file system, designed for object storage (see the module docstring).

    Parameters are those of :class:`~jupyter_taskvalues.store._base.RunStore`; ``root`` is a URL.
    """

    root: str

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        max_values: int = MAX_VALUES_PER_RUN,
        storage_options: Mapping[str, Any] | None = None,
        stale_after: float = HEARTBEAT_TIMEOUT,
    ) -> None:
        from fsspec.core import url_to_fs  # lazy: only a store on a URL needs fsspec

        url = os.fspath(root).rstrip("/")
        options = {"use_listings_cache": False, **(storage_options or {})}
        try:
            self.fs, path = url_to_fs(url, **options)
        except (ImportError, ValueError) as e:
            raise StoreError(
                f"Cannot open the runs directory {url!r}: {e}. Install the fsspec implementation of its "
                "protocol (s3fs for s3://, gcsfs for gs://, adlfs for abfs://)."
            ) from e
        self.root = url
        self.max_values = max_values
        self.stale_after = stale_after
        self._base = path.rstrip("/")
        self._dir = _staging_root(url)

    @property
    def is_local(self) -> bool:
        """Always ``False``: runs are objects under a URL, not directories (:meth:`run_dir` raises)."""
        return False

    # -- paths --------------------------------------------------------------------------------------------

    def run_dir(self, run_id: str) -> Path:
        """Raise :class:`StoreError`: a run on a URL has no local directory. Use :meth:`run_url`."""
        self.check_run_id(run_id)
        raise StoreError(
            f"Run {run_id!r} is stored at {self.run_url(run_id)}, not in a local directory.", run_id=run_id
        )

    def run_url(self, run_id: str) -> str:
        """Return the URL of the run's prefix."""
        return f"{self.root}/{self.check_run_id(run_id)}"

    def _path(self, run_id: str, *parts: str) -> str:
        return "/".join((self._base, self.check_run_id(run_id), *parts))

    def _values_path(self, run_id: str, task_key: str, iteration: int | None) -> str:
        parts = ("values", entry_name(task_key)) + ((f"@{int(iteration)}",) if iteration is not None else ())
        return self._path(run_id, *parts)

    # -- file system calls --------------------------------------------------------------------------------

    def _read(self, path: str) -> bytes:
        try:
            data: bytes = self.fs.cat_file(path)
        except FileNotFoundError:
            raise
        except Exception as e:  # each file system raises its own errors; all mean "cannot read"
            raise StoreError(f"Cannot read {self._url(path)}: {e}") from e
        return data

    def _read_json(self, path: str) -> Any:
        return json.loads(self._read(path))

    def _write(self, path: str, text: str | bytes, *, create: bool = False) -> None:
        """Write a whole object in one PUT (``create``: only if it does not exist, where supported)."""
        data = text.encode("utf-8") if isinstance(text, str) else text
        try:
            if create:
                try:
                    self.fs.pipe_file(path, data, mode="create")
                except TypeError:  # a file system whose pipe_file predates ``mode``
                    self.fs.pipe_file(path, data)
            else:
                self.fs.pipe_file(path, data)
        except FileExistsError:
            raise
        except FileNotFoundError:
            # A file system with real directories (sftp, hdfs...): make the parent and write again.
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            self.fs.pipe_file(path, data)
        except TaskValuesError:
            raise
        except Exception as e:  # each file system raises its own errors; all mean "cannot write"
            raise StoreError(f"Cannot write {self._url(path)}: {e}") from e

    def _find(self, prefix: str) -> dict[str, dict[str, Any]]:
        """Every object under ``prefix`` with its metadata, from one (paged) listing."""
        try:
            found: dict[str, dict[str, Any]] = self.fs.find(prefix, detail=True)
        except FileNotFoundError:
            return {}
        except Exception as e:  # each file system raises its own errors; all mean "cannot list"
            raise StoreError(f"Cannot list {self._url(prefix)}: {e}") from e
        return found

    def _cat_many(self, paths: Iterable[str]) -> dict[str, bytes]:
        """Read many objects at once (concurrently on async file systems); vanished ones are left out."""
        paths = list(paths)
        if not paths:
            return {}
        try:
            data: dict[str, bytes] = self.fs.cat(paths, on_error="omit")
        except FileNotFoundError:
            return {}
        except Exception as e:  # each file system raises its own errors; all mean "cannot read"
            raise StoreError(f"Cannot read values under {self.root}: {e}") from e
        return data

    def _exists(self, path: str) -> bool:
        try:
            return bool(self.fs.exists(path))
        except Exception as e:  # each file system raises its own errors; all mean "cannot read"
            raise StoreError(f"Cannot read {self._url(path)}: {e}") from e

    def _url(self, path: str) -> str:
        relative = path[len(self._base) :].lstrip("/") if path.startswith(self._base) else path
        return f"{self.root}/{relative}" if relative else self.root

    def _records(self, paths: Iterable[str]) -> list[ValueRecord]:
        records = []
        for _path, data in sorted(self._cat_many(p for p in paths if _is_value(p)).items()):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                records.append(record_from(json.loads(data)))
        return records

    # -- runs ---------------------------------------------------------------------------------------------

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
        run_id = self.check_run_id(run_id or new_run_id())
        limit = max_values if max_values is not None else self.max_values
        record = run_record(run_id, job_name, tasks, parameters, job_id, limit, extra)
        path = self._path(run_id, RUN_RECORD_NAME)
        exists = StoreError(f"Run {run_id!r} already exists in {self.root}.", run_id=run_id)
        if self._exists(path):
            raise exists
        try:
            self._write(path, dumps(record), create=True)
        except FileExistsError:
            raise exists from None
        return run_id

    def has_run(self, run_id: str) -> bool:
        """Whether the store holds run ``run_id`` (one HEAD of its ``run.json``)."""
        return self._exists(self._path(run_id, RUN_RECORD_NAME))

    def _read_run_file(self, run_id: str) -> Any:
        return self._read_json(self._path(run_id, RUN_RECORD_NAME))

    def _write_run_file(self, run_id: str, record: RunRecord) -> None:
        self._write(self._path(run_id, RUN_RECORD_NAME), dumps(record))

    def run_ids(self) -> list[str]:
        """Return every run id, newest first (one listing of the runs prefix)."""
        try:
            entries = self.fs.ls(self._base, detail=False)
        except FileNotFoundError:
            return []
        except Exception as e:  # each file system raises its own errors; all mean "cannot list"
            raise StoreError(f"Cannot list runs in {self.root}: {e}") from e
        names = (str(entry).rstrip("/").rsplit("/", 1)[-1] for entry in entries)
        return sorted((name for name in names if RUN_ID_RE.match(name)), reverse=True)

    def delete_run(self, run_id: str) -> None:
        """Delete a run and everything it stored, its record first.

        An object store renames nothing atomically, so the run's record goes first, in one request: a run
        without one is no run to any reader (:meth:`list_runs`, :meth:`read_run`), and a deletion killed
        half-way leaves debris that :meth:`sweep_removed` finishes, never a half-deleted run that lists.
        """
        record = self._path(run_id, RUN_RECORD_NAME)
        if not self._exists(record):
            raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id)
        self._rm([record])
        self._rm(list(self._find(self._path(run_id))))
        shutil.rmtree(self._dir / run_id, ignore_errors=True)

    def sweep_removed(self) -> int:
        """Finish the deletions a killed :meth:`delete_run` left: the objects of a run id that has no record.

        A run's record is the first object it writes and the first its deletion removes, so a run id with
        objects and no record is debris. Costs one request per run id; ``gc``
        (:mod:`jupyter_taskvalues.jobs.retention`) calls it once per pass.
        """
        swept = 0
        for run_id in self.run_ids():
            if self._exists(self._path(run_id, RUN_RECORD_NAME)):
                continue
            debris = list(self._find(self._path(run_id)))
            if debris:
                self._rm(debris)
                swept += 1
            shutil.rmtree(self._dir / run_id, ignore_errors=True)
        return swept

    def _rm(self, paths: list[str]) -> None:
        if not paths:
            return
        try:
            self.fs.rm(paths)
        except FileNotFoundError:  # removed meanwhile (another gc pass): what was asked is done
            pass
        except Exception as e:  # each file system raises its own errors; all mean "cannot delete"
            raise StoreError(f"Cannot delete {self._url(paths[0])}: {e}") from e

    # -- heartbeat ----------------------------------------------------------------------------------------

    def _touch_heartbeat(self, run_id: str) -> None:
        if not self._exists(self._path(run_id, RUN_RECORD_NAME)):
            raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id)
        self._write(self._path(run_id, HEARTBEAT_NAME), utcnow())

    def _heartbeat_age(self, run_id: str) -> float | None:
        path = self._path(run_id, HEARTBEAT_NAME)
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        except Exception as e:  # each file system raises its own errors; all mean "cannot read"
            raise StoreError(f"Cannot read {self._url(path)}: {e}") from e
        return _age(info)

    # -- requests to the runner ---------------------------------------------------------------------------

    def _write_request(self, run_id: str, name: str, text: str) -> None:
        self._write(self._path(run_id, REQUESTS_DIR, name), text)  # one PUT: a reader never sees half of it

    def _read_requests(self, run_id: str) -> dict[str, bytes]:
        prefix = self._path(run_id, REQUESTS_DIR)
        found = self._cat_many(self._find(prefix))
        return {path.rsplit("/", 1)[-1]: data for path, data in found.items()}

    def _remove_request(self, run_id: str, name: str) -> None:
        path = self._path(run_id, REQUESTS_DIR, name)
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            pass
        except Exception as e:  # each file system raises its own errors; all mean "cannot delete"
            raise StoreError(f"Cannot remove {self._url(path)}: {e}") from e

    # -- task records -------------------------------------------------------------------------------------

    def write_task(self, run_id: str, task_key: str, record: TaskRecord) -> None:
        """Replace the record of one task (only the runner calls this), uploading staged executed notebooks."""
        check_key(task_key, what="Task key")
        record = record.copy()
        if "output_notebook" in record:
            record["output_notebook"] = self._publish(run_id, task_key, None, record["output_notebook"])
        iterations = record.get("iterations")
        if isinstance(iterations, list):
            record["iterations"] = [
                {
                    **item,
                    "output_notebook": self._publish(
                        run_id, task_key, item.get("index"), item["output_notebook"]
                    ),
                }
                if isinstance(item, dict) and "output_notebook" in item
                else item
                for item in iterations
            ]
        if record.get("state") in FINAL_STATES:
            self._write_index(
                run_id, task_key
            )  # before the record: a reader that sees it final finds the index
        payload = dumps({"task_key": task_key, **record})
        self._write(self._path(run_id, TASKS_DIR, entry_name(task_key), TASK_RECORD_NAME), payload)

    def task_stamp(self, run_id: str, task_key: str) -> Hashable | None:
        """Always ``None``: telling would cost a request per task."""
        return None

    def read_task(self, run_id: str, task_key: str) -> TaskRecord | None:
        """Return the record of one task, or ``None`` if the runner has not written one yet."""
        try:
            record = self._read_json(self._path(run_id, TASKS_DIR, entry_name(task_key), TASK_RECORD_NAME))
        except FileNotFoundError:
            return None
        # A JSON object is the task's record (records are not validated key by key).
        return cast("TaskRecord", record) if isinstance(record, dict) else None

    # -- values -------------------------------------------------------------------------------------------

    def _put_value(
        self,
        run_id: str,
        task_key: str,
        key: str,
        iteration: int | None,
        payload: str,
        max_values: int | None,
        entry: object = None,  # the local store's replay entry: unused here
    ) -> None:
        target = self._values_path(run_id, task_key, iteration) + "/" + entry_name(key) + ".json"
        if self._exists(target):  # an overwrite: one HEAD, then the PUT
            self._write(target, payload)
            return
        existing = [path for path in self._find(self._path(run_id, "values")) if _is_value(path)]
        if target not in existing:
            if max_values is not None:
                if not existing and not self._exists(self._path(run_id, RUN_RECORD_NAME)):
                    raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id)
                limit = max_values
            else:
                limit = self._run_limit(run_id)  # reads the run record: fails for an unknown run
            if len(existing) >= limit:
                raise limit_error(run_id, task_key, key, len(existing), limit)
        self._write(target, payload)

    def _read_value_file(self, run_id: str, task_key: str, key: str, iteration: int | None) -> Any:
        return self._read_json(
            self._values_path(run_id, task_key, iteration) + "/" + entry_name(key) + ".json"
        )

    def list_values(
        self, run_id: str, task_key: str, *, iteration: int | None = None
    ) -> dict[str, ValueRecord]:
        """Return the current values of one task (or one of its iterations), keyed by value key."""
        task_dir = self._values_path(run_id, task_key, None)
        level = "" if iteration is None else f"@{int(iteration)}/"
        return {r.key: r for r in self._task_records(task_dir, level)}

    def list_iteration_values(self, run_id: str, task_key: str) -> dict[int, dict[str, ValueRecord]]:
        """Return the values of every for-each iteration of a task, keyed by iteration index."""
        result: dict[int, dict[str, ValueRecord]] = {}
        for record in self._task_records(self._values_path(run_id, task_key, None), None):
            if record.iteration is not None:
                result.setdefault(int(record.iteration), {})[record.key] = record
        return result

    def _task_records(self, task_dir: str, level: str | None) -> list[ValueRecord]:
        """The value records under a task's folder: those at ``level`` (``""``, ``"@3/"``), or all for ``None``.

        One listing; values the task's index holds at the listed version are not read again.
        """
        listing = self._find(task_dir)
        wanted = {
            path: info
            for path, info in listing.items()
            if _is_value(path)
            and (level is None or path[len(task_dir) + 1 :].rpartition("/")[0] == level.rstrip("/"))
        }
        return self._indexed_records(task_dir, wanted, has_index=task_dir + "/" + _INDEX in listing)

    def _indexed_records(
        self, task_dir: str, infos: Mapping[str, Mapping[str, Any]], *, has_index: bool
    ) -> list[ValueRecord]:
        cached: dict[str, Any] = {}
        if has_index:
            with contextlib.suppress(FileNotFoundError, ValueError, AttributeError):
                cached = json.loads(self._read(task_dir + "/" + _INDEX)).get("values", {})
        records, unread = [], []
        for path, info in sorted(infos.items()):
            entry = cached.get(path[len(task_dir) + 1 :])
            if (
                isinstance(entry, dict)
                and entry.get("version") == _version(info)
                and _version(info) is not None
            ):
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    records.append(record_from(entry["record"]))
                    continue
            unread.append(path)
        return records + self._records(unread)

    def _write_index(self, run_id: str, task_key: str) -> None:
        """Snapshot a finished task's values (with each object's version) into one object readers fetch first."""
        task_dir = self._values_path(run_id, task_key, None)
        infos = {path: info for path, info in self._find(task_dir).items() if _is_value(path)}
        if not infos:
            return
        contents = self._cat_many(infos)
        values = {}
        for path, data in contents.items():
            with contextlib.suppress(ValueError):
                values[path[len(task_dir) + 1 :]] = {
                    "version": _version(infos[path]),
                    "record": json.loads(data),
                }
        self._write(task_dir + "/" + _INDEX, json.dumps({"values": values}, ensure_ascii=False))

    def all_values(self, run_id: str) -> dict[str, dict[str, ValueRecord]]:
        """Return the current values of every task of the run (iterations excluded), from one listing."""
        result: dict[str, dict[str, ValueRecord]] = {task: {} for task in self.task_keys(run_id)}
        root = self._path(run_id, "values")
        listing = self._find(root)
        by_task: dict[str, dict[str, Mapping[str, Any]]] = {}
        for path, info in listing.items():
            name, _, rest = path[len(root) + 1 :].partition("/")
            if _is_value(path) and "/" not in rest:
                by_task.setdefault(root + "/" + name, {})[path] = info
        for task_dir, infos in by_task.items():
            has_index = task_dir + "/" + _INDEX in listing
            for record in self._indexed_records(task_dir, infos, has_index=has_index):
                if record.iteration is None and record.task_key in result:
                    result[record.task_key][record.key] = record
        return result

    def count_values(self, run_id: str) -> int:
        """Return how many values the run holds (one listing of its values)."""
        return sum(1 for path in self._find(self._path(run_id, "values")) if _is_value(path))

    def value_snapshot(self, run_id: str) -> ValueSnapshot:
        """Return the run's values in the run document's shapes, read task by task as they are asked for."""
        return ValueSnapshot(self, run_id)

    def archive_attempt(self, run_id: str, task_key: str, attempt: int) -> None:
        """Move the task's current values aside as those of ``attempt`` (server-side copies, then deletes)."""
        source = self._values_path(run_id, task_key, None)
        target = self._path(run_id, "attempts", entry_name(task_key), str(attempt))
        sources = list(self._find(source))
        if not sources:
            return
        stale = list(self._find(target))
        if stale:
            self.fs.rm(stale)
        self.fs.copy(sources, [target + path[len(source) :] for path in sources])
        self.fs.rm(sources)

    def attempt_values(self, run_id: str, task_key: str, attempt: int) -> dict[str, ValueRecord]:
        """Return the values an earlier attempt of a task had set when it was moved aside."""
        directory = self._path(run_id, "attempts", entry_name(task_key), str(attempt))
        return {r.key: r for r in self._task_records(directory, "")}

    def clear_task_values(self, run_id: str, task_key: str) -> None:
        """Delete every value of a task, iterations included (a repair re-runs it from scratch)."""
        paths = list(self._find(self._values_path(run_id, task_key, None)))
        if paths:
            self.fs.rm(paths)

    # -- notebooks and watching ---------------------------------------------------------------------------

    def _staged(self, run_id: str, task_key: str, iteration: int | None) -> Path:
        return self._dir / self.check_run_id(run_id) / NOTEBOOKS_DIR / notebook_name(task_key, iteration)

    def notebook_path(self, run_id: str, task_key: str, iteration: int | None = None) -> Path:
        """Return a staging file on this machine for the executed notebook (see the module docstring)."""
        path = self._staged(run_id, task_key, iteration)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def logs_dir(self, run_id: str) -> Path:
        """Return a staging folder on this machine for wheel tasks' wheels (removed when the run ends)."""
        return self._dir / self.check_run_id(run_id) / LOGS_DIR

    def notebook_url(self, run_id: str, task_key: str, iteration: int | None = None) -> str:
        """Return the URL where the executed notebook of a task (or iteration) is kept."""
        return f"{self.run_url(run_id)}/{NOTEBOOKS_DIR}/{notebook_name(task_key, iteration)}"

    def write_notebook(
        self, run_id: str, task_key: str, iteration: int | None, source: str | os.PathLike[str] | bytes
    ) -> str:
        """Upload an executed notebook (the local file ``source``, or its JSON as ``bytes``); return its URL."""
        name = notebook_name(task_key, iteration)
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        self._write(self._path(run_id, NOTEBOOKS_DIR, name), data)
        return self.notebook_url(run_id, task_key, iteration)

    def read_notebook(self, run_id: str, task_key: str, iteration: int | None = None) -> dict[str, Any]:
        """Return the executed notebook of a task (or iteration) as JSON; raise ``FileNotFoundError`` if none."""
        data = self._read_json(self._path(run_id, NOTEBOOKS_DIR, notebook_name(task_key, iteration)))
        if not isinstance(data, dict):
            raise StoreError(f"{self.notebook_url(run_id, task_key, iteration)} is not a notebook.")
        return data

    def write_output_log(
        self, run_id: str, task_key: str, iteration: int | None, source: str | os.PathLike[str]
    ) -> str:
        """Upload a task's output log from the local file ``source`` (in parts: it may be hundreds of MiB);
        return its URL."""
        path = self._path(run_id, "notebooks", output_log_name(task_key, iteration))
        try:
            self.fs.put_file(os.fspath(source), path)
        except OSError as e:
            raise StoreError(f"Cannot upload the output log to {self._url(path)}: {e}", run_id=run_id) from e
        return self._url(path)

    def open_output_log(self, run_id: str, task_key: str, iteration: int | None = None) -> BinaryIO:
        """Open a task's uploaded output log (seekable, read in blocks); ``FileNotFoundError`` if it has none."""
        path = self._path(run_id, "notebooks", output_log_name(task_key, iteration))
        if not self._exists(path):
            raise FileNotFoundError(f"{self._url(path)} does not exist.")
        opened: BinaryIO = self.fs.open(path, "rb")
        return opened

    def _publish(self, run_id: str, task_key: str, iteration: Any, recorded: Any) -> Any:
        """Upload a staged notebook named by a task record; return what the record keeps (its URL)."""
        if not isinstance(recorded, str) or (iteration is not None and not isinstance(iteration, int)):
            return recorded
        staged = self._staged(run_id, task_key, iteration)
        if recorded != str(staged):
            return recorded
        if staged.is_file():
            self.write_notebook(run_id, task_key, iteration, staged)
            with contextlib.suppress(FileNotFoundError):
                staged.unlink()
        return self.notebook_url(run_id, task_key, iteration)

    def fingerprint(self, run_id: str) -> str:
        """Return a short string that changes whenever anything in the run changes.

        One listing of the run's prefix, hashed from each object's version metadata; no value is read.
        """
        prefix = self._path(run_id)
        listing = self._find(prefix)
        if prefix + "/" + RUN_RECORD_NAME not in listing:
            raise RunNotFoundError(f"No run {run_id!r} in {self.root}.", run_id=run_id)
        parts = []
        for path, info in sorted(listing.items()):
            name = path[len(prefix) + 1 :]
            if name == HEARTBEAT_NAME:
                age = _age(info)
                if age is not None and age > self.stale_after:
                    parts.append("stale")
                continue
            parts.append(f"{name}:{_version(info)}")
        return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]

    def sweep(self, run_id: str) -> int:
        """Remove this machine's staging files of the run; an object store holds no partial writes: return 0."""
        shutil.rmtree(self._dir / self.check_run_id(run_id), ignore_errors=True)
        return 0


def _version(info: Mapping[str, Any]) -> str | None:
    """What changes when an object is rewritten: its ETag, generation or modification time."""
    version = next((info[k] for k in _VERSION_FIELDS if info.get(k) is not None), None)
    return None if version is None else f"{version}:{info.get('size')}"


def _is_value(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".json") and not name.startswith(".")


def _age(info: Mapping[str, Any]) -> float | None:
    """Seconds since an object was last written, from its metadata; ``None`` if it carries no time."""
    for field in _MODIFIED_FIELDS:
        stamp = info.get(field)
        if stamp is None:
            continue
        if isinstance(stamp, str):
            with contextlib.suppress(ValueError):
                stamp = parse_time(stamp)
        if isinstance(stamp, dt.datetime):
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=dt.timezone.utc)
            return (dt.datetime.now(dt.timezone.utc) - stamp).total_seconds()
        if isinstance(stamp, (int, float)):
            return time.time() - float(stamp)
    return None


def _staging_root(url: str) -> Path:
    """This machine's folder for executed notebooks on their way to ``url``."""
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"jupyter-taskvalues-{user}" / "staging" / digest
