"""The run store contract, held by every backend: a local directory, ``memory://`` and S3 (moto on loopback).

Each test takes ``store`` parametrized over the three backends; tests of one backend's own guarantees say so in
their names.
"""

from __future__ import annotations

import inspect
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.document import run_document
from jupyter_taskvalues.exceptions import (
    InvalidRunIdError,
    InvalidValueError,
    RunNotFoundError,
    StoreError,
    TaskNotFoundError,
    ValueLimitError,
    ValueNotFoundError,
)
from jupyter_taskvalues.store import STORE_BACKENDS, RunStore, open_store, register_store, url_scheme
from jupyter_taskvalues.store import _base as store_base
from jupyter_taskvalues.store import _fsspec as store_fsspec
from jupyter_taskvalues.store import _registry as store_registry
from jupyter_taskvalues.store._fsspec import FsspecRunStore
from jupyter_taskvalues.store._local import LocalRunStore

pytest_plugins = ["tests.s3.fixtures"]

BACKENDS = ["local", "memory", "s3"]
TASKS = {"ingest": {"type": "notebook"}, "train": {"type": "for_each"}, "Odd Task é": {"type": "notebook"}}


@pytest.fixture(params=BACKENDS)
def backend_root(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return str(tmp_path / "runs")
    if request.param == "memory":
        return f"memory://runs-{tmp_path.name}"
    url: str = request.getfixturevalue("s3_runs")
    return url


@pytest.fixture
def make_store(backend_root: str) -> Callable[..., RunStore]:
    def make(**kwargs: Any) -> RunStore:
        return RunStore(backend_root, **kwargs)

    return make


@pytest.fixture
def store(make_store: Callable[..., RunStore]) -> RunStore:
    return make_store()


def _run(store: RunStore, **kwargs: Any) -> str:
    return store.create_run(job_name="contract", tasks=TASKS, parameters={"env": "test"}, **kwargs)


# -- choosing the backend ---------------------------------------------------------------------------------


def test_a_path_or_file_url_is_the_local_store_and_other_urls_are_fsspec(tmp_path: Path) -> None:
    assert type(RunStore(tmp_path)) is LocalRunStore
    assert type(open_store(str(tmp_path))) is LocalRunStore
    local = open_store(f"file://{tmp_path}")
    assert type(local) is LocalRunStore and local.root == tmp_path
    assert isinstance(open_store("memory://somewhere"), FsspecRunStore)
    assert isinstance(RunStore("memory://somewhere"), FsspecRunStore)
    assert [url_scheme(x) for x in ("s3://b/x", "gs://b", "C:\\runs", "/runs", "file:///x")] == [
        "s3",
        "gs",
        None,
        None,
        None,
    ]


def test_store_backends_are_a_registry_by_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    class Custom(FsspecRunStore):
        pass

    monkeypatch.setitem(STORE_BACKENDS, "memory", Custom)
    assert type(RunStore("memory://registry")) is Custom
    assert type(open_store("memory://registry")) is Custom


def test_register_store_serves_a_new_scheme_with_its_class_named_as_a_string(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(store_registry, "STORE_BACKENDS", dict(STORE_BACKENDS))
    register_store("Mine", "jupyter_taskvalues.store._local:LocalRunStore")
    store = open_store(f"mine::{tmp_path}")
    assert type(store) is LocalRunStore
    monkeypatch.setitem(store_registry.STORE_BACKENDS, "mine", "builtins:len")
    with pytest.raises(TypeError, match="not a store class"):
        open_store("mine://x")


def test_the_store_base_is_abstract_and_both_backends_implement_all_of_it() -> None:
    assert RunStore.__abstractmethods__
    assert not LocalRunStore.__abstractmethods__ and not FsspecRunStore.__abstractmethods__
    assert LocalRunStore not in FsspecRunStore.__mro__
    assert inspect.getsource(store_fsspec).count("_local import") == 0


def test_a_url_whose_protocol_has_no_implementation_names_the_package_to_install() -> None:
    with pytest.raises(StoreError, match="Install the fsspec implementation"):
        RunStore("nosuchprotocol://bucket/runs")


def test_a_url_store_keeps_its_url_as_root_and_has_no_local_run_directory() -> None:
    store = RunStore("memory://rooted/runs/")
    assert store.root == "memory://rooted/runs" and not store.is_local
    run_id = _run(store)
    assert store.run_url(run_id) == f"memory://rooted/runs/{run_id}"
    with pytest.raises(StoreError, match="not in a local directory"):
        store.run_dir(run_id)


# -- runs -------------------------------------------------------------------------------------------------


def test_runs_are_created_read_listed_newest_first_and_deleted(store: RunStore) -> None:
    first = _run(store, run_id="20260101-000000-000-aaaaaa")
    second = _run(store, run_id="20260102-000000-000-bbbbbb")
    assert store.run_ids() == [second, first]
    assert store.count_runs() == 2
    assert [r["run_id"] for r in store.list_runs(limit=1, offset=1)] == [first]
    run = store.read_run(first)
    assert (
        run["job_name"] == "contract" and run["state"] == "PENDING" and run["parameters"] == {"env": "test"}
    )
    assert store.task_keys(first) == list(TASKS)
    store.delete_run(first)
    assert store.run_ids() == [second]
    with pytest.raises(RunNotFoundError):
        store.read_run(first)
    with pytest.raises(RunNotFoundError):
        store.delete_run(first)


def test_run_heads_list_what_a_run_list_shows_page_by_page(store: RunStore) -> None:
    from jupyter_taskvalues.document import run_summary

    first = _run(store, run_id="20260101-000000-000-aaaaaa")
    second = _run(store, run_id="20260102-000000-000-bbbbbb")
    store.update_run(first, state="SUCCESS", start_time="2026-01-01T00:00:00.000Z", end_time=None)

    heads = store.list_run_heads()
    assert [(h["run_id"], h["state"], h["task_count"]) for h in heads] == [
        (second, "PENDING", 3),
        (first, "SUCCESS", 3),
    ]
    assert "tasks" not in heads[0] and "parameters" not in heads[0]
    assert [run_summary(h) for h in store.list_run_heads(limit=1, offset=1)] == [
        run_summary(store.read_run(first))
    ]


def test_a_deleted_run_takes_its_task_logs_and_leaves_nothing_to_sweep(store: RunStore) -> None:
    run_id = _run(store)
    logs = store.logs_dir(run_id)
    logs.mkdir(parents=True)
    (logs / "ingest.stdout.txt").write_text("printed\n", encoding="utf-8")
    store.delete_run(run_id)
    assert store.run_ids() == []
    assert not logs.exists()
    assert store.sweep_removed() == 0


def test_local_run_cut_short_mid_deletion_is_not_listed_and_sweep_removed_finishes_it(tmp_path: Path) -> None:
    store = LocalRunStore(tmp_path / "runs")
    kept = _run(store, run_id="20260101-000000-000-aaaaaa")
    cut = _run(store, run_id="20260102-000000-000-bbbbbb")
    store.set_value(cut, "ingest", "rows", 1)
    # What a delete_run killed between its rename and its rmtree leaves behind.
    os.replace(store.run_dir(cut), store.root / f".gc-{cut}")
    assert store.run_ids() == [kept]
    assert [run["run_id"] for run in store.list_runs()] == [kept]
    assert store.sweep_removed() == 1
    assert sorted(os.listdir(store.root)) == [kept]
    assert store.sweep_removed() == 0
    assert store.read_run(kept)["state"] == "PENDING"


def test_creating_a_run_id_twice_is_refused_and_keeps_the_first(store: RunStore) -> None:
    run_id = _run(store)
    store.set_value(run_id, "ingest", "rows", 1)
    with pytest.raises(StoreError, match="already exists"):
        _run(store, run_id=run_id)
    assert store.get_value(run_id, "ingest", "rows") == 1


def test_unknown_and_invalid_run_ids_raise_the_store_errors(store: RunStore) -> None:
    with pytest.raises(RunNotFoundError):
        store.read_run("20990101-000000-000-ffffff")
    with pytest.raises(InvalidRunIdError):
        store.read_run("../escape")
    with pytest.raises(RunNotFoundError):
        store.fingerprint("20990101-000000-000-ffffff")
    assert RunStore(str(store.root) + "-empty").run_ids() == []


def test_run_and_task_records_round_trip(store: RunStore) -> None:
    run_id = _run(store)
    assert store.read_task(run_id, "ingest") is None
    store.update_run(run_id, state="SUCCESS", end_time="2026-11-29T04:47:35.123Z")
    store.write_task(run_id, "Odd Task é", {"state": "FAILED", "error": "boom", "attempts": [{"attempt": 1}]})
    assert store.read_run(run_id)["state"] == "SUCCESS"
    assert store.read_task(run_id, "Odd Task é") == {
        "task_key": "Odd Task é",
        "state": "FAILED",
        "error": "boom",
        "attempts": [{"attempt": 1}],
    }


# -- values -----------------------------------------------------------------------------------------------


def test_values_round_trip_and_the_last_write_wins(store: RunStore) -> None:
    run_id = _run(store)
    store.set_value(run_id, "ingest", "rows", 1204)
    store.set_value(run_id, "ingest", "rows", 1205)
    record = store.set_value(run_id, "Odd Task é", "Ключ with spaces", {"a": [1, 2.5, None, "é"]}, attempt=2)
    assert store.get_value(run_id, "ingest", "rows") == 1205
    got = store.get_value_record(run_id, "Odd Task é", "Ключ with spaces")
    assert got == record and got.attempt == 2
    assert sorted(store.list_values(run_id, "ingest")) == ["rows"]
    assert store.count_values(run_id) == 2


def test_missing_task_key_and_bad_values_raise_and_store_nothing(store: RunStore) -> None:
    run_id = _run(store)
    with pytest.raises(TaskNotFoundError, match="not part of run"):
        store.get_value(run_id, "nope", "rows")
    with pytest.raises(ValueNotFoundError, match="set no value 'rows'"):
        store.get_value(run_id, "ingest", "rows")
    with pytest.raises(InvalidValueError):
        store.set_value(run_id, "ingest", "nan", float("nan"))
    with pytest.raises(RunNotFoundError):
        store.set_value("20990101-000000-000-ffffff", "ingest", "rows", 1)
    with pytest.raises(RunNotFoundError):
        store.set_value("20990101-000000-000-ffffff", "ingest", "rows", 1, max_values=10)
    assert store.count_values(run_id) == 0


def test_iteration_values_are_kept_apart_from_the_tasks_own(store: RunStore) -> None:
    run_id = _run(store)
    store.set_value(run_id, "train", "mine", "task")
    for i in range(3):
        store.set_value(run_id, "train", "score", i / 10, iteration=i)
    store.set_value(run_id, "ingest", "rows", 7)
    assert {k: r.value for k, r in store.list_values(run_id, "train").items()} == {"mine": "task"}
    assert store.get_value(run_id, "train", "score", iteration=2) == 0.2
    per_iteration = store.list_iteration_values(run_id, "train")
    assert {i: {k: r.value for k, r in v.items()} for i, v in per_iteration.items()} == {
        0: {"score": 0.0},
        1: {"score": 0.1},
        2: {"score": 0.2},
    }
    everything = store.all_values(run_id)
    assert {t: sorted(v) for t, v in everything.items()} == {
        "ingest": ["rows"],
        "train": ["mine"],
        "Odd Task é": [],
    }
    assert store.count_values(run_id) == 5


def test_the_values_limit_refuses_new_keys_but_not_overwrites(make_store: Callable[..., RunStore]) -> None:
    store = make_store(max_values=3)
    run_id = _run(store)
    for key in ("a", "b", "c"):
        store.set_value(run_id, "ingest", key, 1)
    with pytest.raises(ValueLimitError, match="already holds 3 values, the limit is 3"):
        store.set_value(run_id, "ingest", "d", 1)
    store.set_value(run_id, "ingest", "a", 2)
    assert store.get_value(run_id, "ingest", "a") == 2
    assert store.count_values(run_id) == 3


def test_retried_attempts_keep_their_values_aside_and_repair_clears_a_task(store: RunStore) -> None:
    run_id = _run(store)
    store.set_value(run_id, "ingest", "rows", 1)
    store.set_value(run_id, "ingest", "partial", True)
    store.archive_attempt(run_id, "ingest", 1)
    assert store.list_values(run_id, "ingest") == {}
    assert store.count_values(run_id) == 0
    store.set_value(run_id, "ingest", "rows", 2, attempt=2)
    assert {k: r.value for k, r in store.attempt_values(run_id, "ingest", 1).items()} == {
        "rows": 1,
        "partial": True,
    }
    assert store.get_value(run_id, "ingest", "rows") == 2
    store.archive_attempt(run_id, "train", 1)  # nothing to move: a no-op
    store.clear_task_values(run_id, "ingest")
    assert store.list_values(run_id, "ingest") == {} and store.count_values(run_id) == 0


def test_the_run_document_reads_the_same_from_every_backend(store: RunStore, tmp_path: Path) -> None:
    documents = []
    for each in (store, RunStore(tmp_path / "reference")):
        run_id = _run(each, run_id="20260101-000000-000-abcdef")
        each.update_run(run_id, state="SUCCESS", start_time="2026-01-01T00:00:00.000Z")
        each.write_task(
            run_id, "ingest", {"state": "SUCCESS", "attempts": [{"attempt": 1, "state": "SUCCESS"}]}
        )
        each.write_task(
            run_id, "train", {"state": "SUCCESS", "iterations": [{"index": 0, "state": "SUCCESS"}]}
        )
        each.set_value(run_id, "ingest", "rows", 1204)
        each.set_value(run_id, "train", "score", 0.9, iteration=0)
        documents.append(run_document(each, run_id))

    def normalized(data: Any) -> Any:
        """The document without the times the writes happened at."""
        if isinstance(data, dict):
            return {k: normalized(v) for k, v in data.items() if k not in ("set_at", "created")}
        if isinstance(data, list):
            return [normalized(v) for v in data]
        return data

    assert normalized(documents[0]) == normalized(documents[1])


# -- watching, notebooks, liveness ----------------------------------------------------------------------


def test_the_fingerprint_changes_with_every_write_and_only_then(store: RunStore) -> None:
    run_id = _run(store)
    seen = [store.fingerprint(run_id)]
    assert store.fingerprint(run_id) == seen[0]
    for write in (
        lambda: store.set_value(run_id, "ingest", "rows", 1),
        lambda: store.set_value(run_id, "ingest", "rows", 2),
        lambda: store.set_value(run_id, "train", "x", 1, iteration=4),
        lambda: store.write_task(run_id, "ingest", {"state": "RUNNING"}),
        lambda: store.update_run(run_id, state="SUCCESS"),
    ):
        time.sleep(0.01)  # a local file system's timestamps need a tick to tell two writes apart
        write()
        seen.append(store.fingerprint(run_id))
        assert store.fingerprint(run_id) == seen[-1]
    assert len(set(seen)) == len(seen)


def test_an_object_store_fingerprint_is_one_listing_and_reads_no_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = RunStore("memory://fingerprint/runs")
    assert isinstance(store, FsspecRunStore)
    run_id = _run(store)
    for i in range(50):
        store.set_value(run_id, "ingest", f"k{i}", i)
    calls: list[str] = []
    original_find = store.fs.find

    def find(path: str, **kwargs: Any) -> Any:
        calls.append(path)
        return original_find(path, **kwargs)

    def no_read(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("fingerprint read an object")

    monkeypatch.setattr(store.fs, "find", find)
    monkeypatch.setattr(store.fs, "cat_file", no_read)
    monkeypatch.setattr(store.fs, "cat", no_read)
    store.fingerprint(run_id)
    assert calls == [store._path(run_id)]


def test_executed_notebooks_are_kept_by_the_store(store: RunStore) -> None:
    run_id = _run(store)
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    # As an executor does: write the local file notebook_path names, then record it in the task.
    staged = store.notebook_path(run_id, "train", 3)
    staged.write_text(json.dumps(notebook))
    store.write_task(
        run_id, "train", {"state": "SUCCESS", "iterations": [{"index": 3, "output_notebook": str(staged)}]}
    )
    path = store.notebook_path(run_id, "ingest")
    path.write_text(json.dumps(notebook))
    store.write_task(run_id, "ingest", {"state": "SUCCESS", "output_notebook": str(path)})
    store.write_task(run_id, "ingest", {"state": "SUCCESS", "output_notebook": str(path)})  # written again

    recorded = store.read_task(run_id, "ingest")["output_notebook"]  # type: ignore[index]
    in_iteration = store.read_task(run_id, "train")["iterations"][0]["output_notebook"]  # type: ignore[index]
    assert store.read_notebook(run_id, "ingest") == notebook
    assert store.read_notebook(run_id, "train", 3) == notebook
    if store.is_local:
        assert (recorded, in_iteration) == (str(path), str(staged))
    else:
        assert recorded == f"{store.run_url(run_id)}/notebooks/ingest.ipynb"
        assert in_iteration == f"{store.run_url(run_id)}/notebooks/train@3.ipynb"
        assert not path.exists()  # uploaded, then the staging file is gone
    other = Path(str(path) + ".elsewhere")
    other.write_text(json.dumps({**notebook, "metadata": {"v": 2}}))
    store.write_notebook(run_id, "ingest", None, other)
    assert store.read_notebook(run_id, "ingest")["metadata"] == {"v": 2}
    kept = store.write_notebook(run_id, "ingest", 0, json.dumps({**notebook, "metadata": {"v": 3}}).encode())
    assert kept.endswith("ingest@0.ipynb")
    assert store.read_notebook(run_id, "ingest", 0)["metadata"] == {"v": 3}
    with pytest.raises(FileNotFoundError):
        store.read_notebook(run_id, "train")


def test_a_live_run_whose_heartbeat_stops_reads_interrupted_where_its_pid_cannot_be_checked(
    make_store: Callable[..., RunStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The runner is on "another machine": its pid says nothing here, only the heartbeat does.
    monkeypatch.setattr(
        store_base, "runner_identity", lambda: {"host": "elsewhere", "pid": 1, "started": None}
    )
    store = make_store(stale_after=2.5)  # S3 keeps modification times to the second
    run_id = _run(store)
    store.update_run(run_id, state="RUNNING")
    assert store.read_run(run_id)["state"] == "RUNNING"  # never beat yet: nothing to judge by
    with store.heartbeat(run_id, interval=0.2):
        time.sleep(1.0)
        assert store.read_run(run_id)["state"] == "RUNNING"
        live = store.fingerprint(run_id)
    deadline = time.monotonic() + 10
    while store.read_run(run_id)["state"] != "INTERRUPTED":
        assert time.monotonic() < deadline, "the run never read INTERRUPTED"
        time.sleep(0.2)
    assert store.fingerprint(run_id) != live  # watchers notice the runner died
    store.update_run(run_id, state="FAILED")
    assert store.read_run(run_id)["state"] == "FAILED"


def test_a_runner_on_this_host_is_judged_by_its_pid_not_its_heartbeat(store: RunStore) -> None:
    run_id = _run(store)
    store.update_run(run_id, state="RUNNING")
    stale = RunStore(str(store.root), stale_after=0.0)
    with store.heartbeat(run_id, interval=60):
        time.sleep(1.1)
        assert stale.read_run(run_id)["state"] == "RUNNING"  # this very process is the runner: alive


# -- concurrency --------------------------------------------------------------------------------------------


def test_readers_never_see_a_torn_value_while_writers_overwrite_it(store: RunStore) -> None:
    run_id = _run(store)
    sizes = [10, 20_000, 45_000]
    written = [{"n": n, "pad": str(n) * size} for n, size in enumerate(sizes)]
    store.set_value(run_id, "ingest", "big", written[0])
    stop = threading.Event()
    problems: list[str] = []

    def write() -> None:
        for i in range(15):
            store.set_value(run_id, "ingest", "big", written[i % len(written)])

    def read() -> None:
        while not stop.is_set():
            value = store.get_value(run_id, "ingest", "big")
            if value not in written:
                problems.append(str(value)[:80])

    readers = [threading.Thread(target=read) for _ in range(2)]
    writers = [threading.Thread(target=write) for _ in range(2)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    assert problems == []
    assert store.count_values(run_id) == 1


def test_concurrent_creators_exceed_an_object_stores_limit_by_less_than_their_number(
    make_store: Callable[..., RunStore], backend_root: str
) -> None:
    limit, writers = 12, 4
    store = make_store(max_values=limit)
    run_id = _run(store)
    barrier = threading.Barrier(writers)
    refused: list[int] = []

    def fill(w: int) -> None:
        barrier.wait()
        for i in range(limit):
            try:
                store.set_value(run_id, "ingest", f"w{w}-{i}", i)
            except ValueLimitError:
                refused.append(w)

    threads = [threading.Thread(target=fill, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    count = store.count_values(run_id)
    if store.is_local:
        assert count == limit  # a lock on the local file system: exact
    else:
        assert limit <= count <= limit + writers - 1  # the documented bound without a lock
    assert len(refused) == writers * limit - count


def test_values_changed_after_a_task_finished_are_read_as_they_are_now(store: RunStore) -> None:
    run_id = _run(store)
    store.set_value(run_id, "ingest", "rows", 1)
    store.set_value(run_id, "train", "score", 0.5, iteration=0)
    store.write_task(run_id, "ingest", {"state": "SUCCESS"})  # an object store snapshots the values here
    store.write_task(run_id, "train", {"state": "SUCCESS"})
    store.set_value(run_id, "ingest", "rows", 2)
    store.set_value(run_id, "ingest", "late", 3)
    store.set_value(run_id, "train", "score", 0.7, iteration=0)
    assert {k: r.value for k, r in store.list_values(run_id, "ingest").items()} == {"rows": 2, "late": 3}
    assert {k: r.value for k, r in store.all_values(run_id)["ingest"].items()} == {"rows": 2, "late": 3}
    assert store.list_iteration_values(run_id, "train")[0]["score"].value == 0.7
    assert store.get_value(run_id, "train", "score", iteration=0) == 0.7


def test_an_object_store_reads_a_finished_tasks_values_from_its_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = RunStore("memory://indexed/runs")
    assert isinstance(store, FsspecRunStore)
    run_id = _run(store)
    for i in range(20):
        store.set_value(run_id, "ingest", f"k{i}", i)
    store.write_task(run_id, "ingest", {"state": "SUCCESS"})
    reads: list[str] = []
    original = store.fs.cat_file

    def cat_file(path: str, **kwargs: Any) -> Any:
        reads.append(path.rsplit("/", 1)[-1])
        return original(path, **kwargs)

    def no_batch(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a value was read one by one")

    monkeypatch.setattr(store.fs, "cat_file", cat_file)
    monkeypatch.setattr(store.fs, "cat", no_batch)
    values = store.list_values(run_id, "ingest")
    assert {k: r.value for k, r in values.items()} == {f"k{i}": i for i in range(20)}
    assert reads == [".index.json"]


@pytest.mark.parametrize("backend", ["memory", "s3"])
def test_a_url_run_whose_deletion_was_cut_short_is_not_listed_and_sweep_removed_finishes_it(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    root = f"memory://runs-{tmp_path.name}" if backend == "memory" else request.getfixturevalue("s3_runs")
    store = RunStore(root)
    kept = _run(store, run_id="20260101-000000-000-aaaaaa")
    cut = _run(store, run_id="20260102-000000-000-bbbbbb")
    store.set_value(cut, "ingest", "rows", 1)
    deleted: list[list[str]] = []
    real_rm = store._rm  # type: ignore[attr-defined]

    def killed_after_the_record(paths: list[str]) -> None:
        real_rm(paths)
        deleted.append(paths)
        if len(deleted) == 1:
            raise KeyboardInterrupt  # the process dies after its first request, the record's

    store._rm = killed_after_the_record  # type: ignore[attr-defined]
    with pytest.raises(KeyboardInterrupt):
        store.delete_run(cut)
    del store._rm  # type: ignore[attr-defined]
    assert [path.rsplit("/", 1)[-1] for path in deleted[0]] == ["run.json"]

    assert [run["run_id"] for run in store.list_runs()] == [kept]  # no half-deleted run listed
    with pytest.raises(RunNotFoundError):
        store.read_run(cut)
    assert store.sweep_removed() == 1
    assert store.sweep_removed() == 0
    assert store.read_run(kept)["state"] == "PENDING"
    assert not any(cut in path for path in store.fs.find(store._base))  # type: ignore[attr-defined]
