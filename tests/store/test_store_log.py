"""The local store keeps a run's values in one append-only log, replayed and cached by each reading process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.exceptions import StoreError, ValueLimitError, ValueNotFoundError
from jupyter_taskvalues.store import FORMAT_VERSION, RunStore
from jupyter_taskvalues.store import _log as store_log


def _log(store: RunStore, run_id: str) -> Path:
    return store.run_dir(run_id) / "values.log"


def _append(path: Path, data: bytes) -> None:
    """Append bytes as a writer does (one write on an ``O_APPEND`` file), from outside the store."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _framed(task_key: str, key: str, value: Any, iteration: int | None = None) -> bytes:
    record = {"task_key": task_key, "key": key, "iteration": iteration, "attempt": 1, "size": 1, "set_at": ""}
    return b"\x1e" + json.dumps(record | {"value": value}).encode() + b"\n"


def _in_another_process(runs_dir: Path, code: str) -> None:
    script = f"from jupyter_taskvalues.store import RunStore\nstore = RunStore({str(runs_dir)!r})\n{code}"
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def _fresh_reader(runs_dir: Path) -> RunStore:
    """A store that replays logs from the start, as a process that never read them."""
    store_log._cache.clear()
    return RunStore(runs_dir)


# -- the log itself ----------------------------------------------------------------------------------------------


def test_a_new_run_is_format_2_with_a_log_that_starts_with_its_start_record(store: RunStore) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})
    assert store.read_run(run_id)["format"] == FORMAT_VERSION == 2
    data = _log(store, run_id).read_bytes()
    assert data.startswith(b"\x1e") and data.endswith(b"\n") and data.count(b"\x1e") == 1
    start = json.loads(data[1:])
    assert start | {"created": None, "nonce": None} == {
        "op": "start",
        "nonce": None,
        "run_id": run_id,
        "created": None,
    }
    assert not (store.run_dir(run_id) / "values").exists()


def test_each_set_appends_one_record_framed_as_a_json_text_sequence(store: RunStore) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})
    store.set_value(run_id, "t", "rows", {"n": 1, "text": "a\nb\x1ec"})
    store.set_value(run_id, "t", "rows", 2, attempt=3)
    store.set_value(run_id, "t", "é", "ü", iteration=4)

    chunks = _log(store, run_id).read_bytes().split(b"\x1e")[2:]  # after the start record
    assert all(chunk.endswith(b"\n") and chunk.count(b"\n") == 1 for chunk in chunks)
    records = [json.loads(chunk) for chunk in chunks]
    assert [(r["task_key"], r["key"], r["iteration"], r["attempt"], r["value"]) for r in records] == [
        ("t", "rows", None, 1, {"n": 1, "text": "a\nb\x1ec"}),
        ("t", "rows", None, 3, 2),
        ("t", "é", 4, 1, "ü"),
    ]
    assert "é".encode() in chunks[2]  # keys and values as UTF-8, not escaped
    assert records[0]["size"] == len(json.dumps({"n": 1, "text": "a\nb\x1ec"}, separators=(",", ":")))


def test_a_run_written_in_format_1_is_refused_with_a_clear_error(store: RunStore, runs_dir: Path) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})
    path = store.run_dir(run_id) / "run.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"format": 1}))
    with pytest.raises(StoreError, match="format this version cannot read"):
        _fresh_reader(runs_dir).read_run(run_id)


# -- cut, damaged and unfinished records ---------------------------------------------------------------------------


def test_a_torn_record_is_skipped_and_the_records_after_it_are_read(store: RunStore, runs_dir: Path) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})
    store.set_value(run_id, "t", "before", 1)
    whole = _framed("t", "torn", "x" * 100)
    _append(_log(store, run_id), whole[: len(whole) // 2])  # a writer killed half-way through its write
    store.set_value(run_id, "t", "after", 2)
    store.set_value(run_id, "t", "before", 3)

    for reader in (store, _fresh_reader(runs_dir)):
        assert {k: r.value for k, r in reader.list_values(run_id, "t").items()} == {"before": 3, "after": 2}
        assert reader.count_values(run_id) == 2
        with pytest.raises(ValueNotFoundError):
            reader.get_value(run_id, "t", "torn")


def test_a_record_that_is_not_json_is_skipped(store: RunStore, runs_dir: Path) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})
    _append(_log(store, run_id), b'\x1e{"task_key": "t", "key": \n\x1e[1, 2]\n\x1enot json\n')
    store.set_value(run_id, "t", "ok", 1)
    reader = _fresh_reader(runs_dir)
    assert {k: r.value for k, r in reader.list_values(run_id, "t").items()} == {"ok": 1}
    assert reader.count_values(run_id) == 1


def test_a_record_still_being_written_is_read_only_once_it_is_complete(store: RunStore) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})
    store.set_value(run_id, "t", "first", 1)
    record = _framed("t", "slow", list(range(200)))
    log = _log(store, run_id)

    _append(log, record[:300])  # what a reader sees of a write still in progress
    assert store.count_values(run_id) == 1
    with pytest.raises(ValueNotFoundError):
        store.get_value(run_id, "t", "slow")

    _append(log, record[300:])
    assert store.get_value(run_id, "t", "slow") == list(range(200))
    assert store.count_values(run_id) == 2


def test_a_short_write_is_written_again_whole(
    store: RunStore, runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})
    real_write = os.write
    calls = []

    def short_once(fd: int, data: bytes) -> int:
        calls.append(len(data))
        return real_write(fd, data[: len(data) // 2] if len(calls) == 1 else data)

    monkeypatch.setattr(store_log.os, "write", short_once)
    store.set_value(run_id, "t", "k", {"big": "y" * 1000})
    monkeypatch.setattr(store_log.os, "write", real_write)

    assert len(calls) == 2 and calls[0] == calls[1]
    for reader in (store, _fresh_reader(runs_dir)):
        assert reader.get_value(run_id, "t", "k") == {"big": "y" * 1000}
        assert reader.count_values(run_id) == 1


def test_writes_that_keep_coming_up_short_raise_a_store_error_naming_the_log(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})
    monkeypatch.setattr(store_log.os, "write", lambda fd, data: 1)
    with pytest.raises(StoreError, match=r"values\.log.*cut short"):
        store.set_value(run_id, "t", "k", 1)


def test_a_failing_write_raises_a_store_error_naming_the_log(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})

    def disk_full(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_log.os, "write", disk_full)
    with pytest.raises(StoreError, match=r"Cannot write .*values\.log: No space left on device"):
        store.set_value(run_id, "t", "k", 1)


# -- the per-process cache ------------------------------------------------------------------------------------------


def test_a_reader_sees_values_another_process_appends_after_it_read(store: RunStore, runs_dir: Path) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})
    store.set_value(run_id, "t", "mine", 1)
    assert store.count_values(run_id) == 1  # replayed and cached

    _in_another_process(
        runs_dir,
        f"store.set_value({run_id!r}, 't', 'theirs', 2)\nstore.set_value({run_id!r}, 't', 'mine', 3)",
    )

    assert store.get_value(run_id, "t", "mine") == 3
    assert store.get_value(run_id, "t", "theirs") == 2
    assert store.count_values(run_id) == 2


def test_a_log_replaced_by_another_file_is_replayed_from_the_start(store: RunStore) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})
    store.set_value(run_id, "t", "old", 1)
    assert store.count_values(run_id) == 1
    log = _log(store, run_id)
    other = log.with_name("other.log")
    other.write_bytes(log.read_bytes().split(b"\x1e")[0] + _framed("t", "new", 2) + _framed("t", "more", 3))

    os.replace(other, log)

    assert {k: r.value for k, r in store.list_values(run_id, "t").items()} == {"new": 2, "more": 3}
    assert store.count_values(run_id) == 2


def test_a_log_that_shrank_is_replayed_from_the_start(store: RunStore) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})
    log = _log(store, run_id)
    store.set_value(run_id, "t", "a", 1)
    size = log.stat().st_size
    store.set_value(run_id, "t", "b", 2)
    assert store.count_values(run_id) == 2

    os.truncate(log, size)

    assert set(store.list_values(run_id, "t")) == {"a"}
    assert store.count_values(run_id) == 1


def test_a_deleted_run_made_again_under_the_same_id_is_read_afresh(store: RunStore) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}}, run_id="same")
    for i in range(5):
        store.set_value(run_id, "t", f"k{i}", i)
    assert store.count_values(run_id) == 5
    store.delete_run(run_id)

    store.create_run(job_name="j", tasks={"t": {}}, run_id="same")
    for i in range(7):
        store.set_value(run_id, "t", f"other{i}", i)

    assert set(store.list_values(run_id, "t")) == {f"other{i}" for i in range(7)}
    assert store.count_values(run_id) == 7


def test_values_read_are_fresh_copies_the_caller_may_change(store: RunStore) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})
    store.set_value(run_id, "t", "k", {"rows": [1, 2]})
    store.get_value(run_id, "t", "k")["rows"].append(3)
    store.list_values(run_id, "t")["k"].value["rows"].append(4)
    store.all_values(run_id)["t"]["k"].value["rows"].append(5)
    assert store.get_value(run_id, "t", "k") == {"rows": [1, 2]}


def test_threads_reading_while_values_are_set_see_every_value_whole(store: RunStore) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}}, max_values=1000)
    problems: list[str] = []
    done = threading.Event()

    def read() -> None:
        seen = 0
        while not done.is_set():
            values = store.list_values(run_id, "t")
            if len(values) < seen or any(r.value != {"i": int(k[1:])} for k, r in values.items()):
                problems.append(f"{seen} then {len(values)}")
            seen = len(values)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    for i in range(300):
        store.set_value(run_id, "t", f"k{i}", {"i": i})
    done.set()
    for thread in readers:
        thread.join()
    assert problems == []
    assert store.count_values(run_id) == 300


def test_setting_a_key_the_run_holds_takes_only_the_shared_lock(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl

    run_id = store.create_run(job_name="j", tasks={"t": {}})
    store.set_value(run_id, "t", "k", 1)
    taken: list[int] = []

    class Recorded:
        LOCK_EX, LOCK_SH = fcntl.LOCK_EX, fcntl.LOCK_SH

        @staticmethod
        def flock(fd: int, operation: int) -> None:
            taken.append(operation)
            fcntl.flock(fd, operation)

    monkeypatch.setattr(store_log, "fcntl", Recorded)
    store.set_value(run_id, "t", "k", 2)
    assert taken == [fcntl.LOCK_SH]  # writers that set values again never wait for each other
    store.set_value(run_id, "t", "new", 3)
    assert taken == [fcntl.LOCK_SH, fcntl.LOCK_EX]  # a new key is counted against the limit alone
    assert store.get_value(run_id, "t", "k") == 2


# -- the runner's markers -------------------------------------------------------------------------------------------


def test_an_archive_marker_moves_a_tasks_values_to_its_attempt_and_frees_their_slots(
    store: RunStore, runs_dir: Path
) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}, "u": {}}, max_values=4)
    store.set_value(run_id, "t", "a", 1)
    store.set_value(run_id, "t", "b", 2)
    store.set_value(run_id, "t", "each", 3, iteration=0)
    store.set_value(run_id, "u", "keep", 4)
    with pytest.raises(ValueLimitError):
        store.set_value(run_id, "t", "c", 5)

    store.archive_attempt(run_id, "t", 1)
    store.set_value(run_id, "t", "a", 10, attempt=2)

    for reader in (store, _fresh_reader(runs_dir)):
        assert {k: r.value for k, r in reader.attempt_values(run_id, "t", 1).items()} == {"a": 1, "b": 2}
        assert {k: r.value for k, r in reader.list_values(run_id, "t").items()} == {"a": 10}
        assert reader.list_iteration_values(run_id, "t") == {}
        assert set(reader.list_values(run_id, "u")) == {"keep"}
        assert reader.count_values(run_id) == 2
    markers = [
        json.loads(c) for c in _log(store, run_id).read_bytes().split(b"\x1e") if b'"op": "archive"' in c
    ]
    assert markers == [{"op": "archive", "task_key": "t", "attempt": 1}]


def test_archiving_a_task_that_holds_no_values_appends_nothing_and_keeps_the_earlier_attempt(
    store: RunStore,
) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})
    store.set_value(run_id, "t", "a", 1)
    store.archive_attempt(run_id, "t", 1)
    size = _log(store, run_id).stat().st_size

    store.archive_attempt(run_id, "t", 1)
    store.clear_task_values(run_id, "t")

    assert _log(store, run_id).stat().st_size == size
    assert set(store.attempt_values(run_id, "t", 1)) == {"a"}


def test_a_clear_marker_deletes_a_tasks_values_iterations_included(store: RunStore, runs_dir: Path) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}, "u": {}})
    store.set_value(run_id, "t", "a", 1)
    store.set_value(run_id, "t", "each", 2, iteration=3)
    store.set_value(run_id, "u", "keep", 3)

    store.clear_task_values(run_id, "t")

    for reader in (store, _fresh_reader(runs_dir)):
        assert reader.list_values(run_id, "t") == {}
        assert reader.list_iteration_values(run_id, "t") == {}
        assert set(reader.list_values(run_id, "u")) == {"keep"}
        assert reader.count_values(run_id) == 1
    store.set_value(run_id, "t", "a", 4)  # the task sets its values again, as new keys
    assert store.get_value(run_id, "t", "a") == 4
    assert store.count_values(run_id) == 2


def test_iteration_values_count_against_the_limit(store: RunStore) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}}, max_values=3)
    for i in range(3):
        store.set_value(run_id, "t", "k", i, iteration=i)
    assert {
        i: {k: r.value for k, r in v.items()} for i, v in store.list_iteration_values(run_id, "t").items()
    } == {
        0: {"k": 0},
        1: {"k": 1},
        2: {"k": 2},
    }
    with pytest.raises(ValueLimitError):
        store.set_value(run_id, "t", "k", 3)
    store.set_value(run_id, "t", "k", 9, iteration=1)  # an overwrite always fits
    assert store.get_value(run_id, "t", "k", iteration=1) == 9


# -- watching -------------------------------------------------------------------------------------------------------


def test_the_fingerprint_changes_when_a_value_is_set_and_only_then(store: RunStore) -> None:
    run_id = store.create_run(job_name="j", tasks={"t": {}})
    first = store.fingerprint(run_id)
    assert store.fingerprint(run_id) == first
    store.set_value(run_id, "t", "k", 1)
    second = store.fingerprint(run_id)
    assert second != first
    store.write_task(run_id, "t", {"state": "RUNNING"})
    assert store.fingerprint(run_id) != second


def test_a_process_forked_while_a_thread_held_a_runs_log_reads_the_run(store: RunStore) -> None:
    import signal
    import time

    run_id = store.create_run(job_name="j", tasks={"t": {}})
    store.set_value(run_id, "t", "k", 1)
    log = store_log.value_log(str(_log(store, run_id)))
    with log.lock:  # as a reader thread of the parent would be at the moment of the fork
        pid = os.fork()
        if pid == 0:  # the child: must not wait for a lock no thread of its own will ever release
            os._exit(0 if store.get_value(run_id, "t", "k") == 1 else 1)
    deadline = time.monotonic() + 30
    while (status := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if status[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert status[0] == pid and os.waitstatus_to_exitcode(status[1]) == 0
