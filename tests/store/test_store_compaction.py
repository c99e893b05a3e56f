"""A local run's value log is compacted (its live records renamed over it) without losing a value, ever."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.document import run_document
from jupyter_taskvalues.store import RunStore, _compact
from jupyter_taskvalues.store import _log as store_log

# A compacting process that stops at one step and waits for a line on stdin (or to be killed there).
COMPACTOR = """
import sys
from jupyter_taskvalues.store import RunStore, _compact

def pause(step):
    if step == sys.argv[3]:
        print(step, flush=True)
        sys.stdin.readline()

_compact.step_hook = pause
print(RunStore(sys.argv[1]).compact_values(sys.argv[2], force=True), flush=True)
"""

WRITER = """
import sys
from jupyter_taskvalues.store import RunStore
RunStore(sys.argv[1]).set_value(sys.argv[2], "a", sys.argv[3], "from the writer")
"""

LOOPING_WRITER = """
import sys
from jupyter_taskvalues.store import RunStore
store, run_id, me = RunStore(sys.argv[1]), sys.argv[2], sys.argv[3]
for n in range(int(sys.argv[4])):
    store.set_value(run_id, me, f"k{n % 10}", {"n": n, "pad": "x" * 100})
    if n % 50 == 0:
        store.set_value(run_id, me, f"new{n}", n)
"""


def _log_path(store: RunStore, run_id: str) -> Path:
    return store.run_dir(run_id) / "values.log"


def _fresh(runs_dir: Path) -> RunStore:
    """A store that replays logs from their start, as a process that never read them."""
    store_log._cache.clear()
    return RunStore(runs_dir)


def _everything(store: RunStore, run_id: str) -> dict[str, Any]:
    """Every value of the run as readers see it: live, per iteration, archived attempts, and the count."""
    return {
        "values": {
            task: {key: record.to_json() for key, record in records.items()}
            for task, records in store.all_values(run_id).items()
        },
        "iterations": {
            task: {
                index: {key: record.value for key, record in records.items()}
                for index, records in store.list_iteration_values(run_id, task).items()
            }
            for task in ("a", "b", "c", "d")
        },
        "attempt_b_1": {key: r.value for key, r in store.attempt_values(run_id, "b", 1).items()},
        "count": store.count_values(run_id),
    }


def _busy_run(store: RunStore) -> str:
    """A run with dead records of every kind: values set again, an archived attempt, a cleared task."""
    run_id = store.create_run(job_name="j", tasks={k: {} for k in "abcd"}, max_values=1000)
    for n in range(300):
        store.set_value(run_id, "a", f"k{n % 7}", {"n": n, "text": 'é\n\x1e"' * (n % 3)})
    store.set_value(run_id, "b", "kept", "attempt 1")
    store.set_value(run_id, "b", "first", [1, 2], iteration=0)
    store.archive_attempt(run_id, "b", 1)
    store.set_value(run_id, "b", "kept", "attempt 2", attempt=2)
    for index in range(4):
        store.set_value(run_id, "c", "i", index * 10, iteration=index)
        store.set_value(run_id, "c", "i", index, iteration=index)
    store.set_value(run_id, "d", "gone", 1)
    store.clear_task_values(run_id, "d")
    return run_id


def _start_record(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    start: dict[str, Any] = json.loads(data[1 : data.index(b"\n")])
    return start


def test_compaction_keeps_every_live_value_archived_attempt_and_the_count(
    store: RunStore, runs_dir: Path
) -> None:
    run_id = _busy_run(store)
    before = _everything(_fresh(runs_dir), run_id)
    size = _log_path(store, run_id).stat().st_size

    old, new = store.compact_values(run_id, force=True) or (0, 0)

    assert old == size and new == _log_path(store, run_id).stat().st_size < size / 4
    assert _everything(store, run_id) == before  # the compacting process's own replay
    assert _everything(_fresh(runs_dir), run_id) == before  # a process that reads the new log
    start = _start_record(_log_path(store, run_id))
    assert start["run_id"] == run_id and start["compacted"]["from_bytes"] == size
    store.set_value(run_id, "b", "kept", "attempt 3", attempt=3)
    assert _fresh(runs_dir).get_value(run_id, "b", "kept") == "attempt 3"


def test_a_reader_holding_the_old_log_reads_the_compacted_one_right(store: RunStore, runs_dir: Path) -> None:
    run_id = _busy_run(store)
    reader = store_log.ValueLog(str(_log_path(store, run_id)))  # another process's replay of the old log
    reader.sync()

    subprocess.run([sys.executable, "-c", COMPACTOR, str(runs_dir), run_id, "none"], check=True, timeout=60)
    store.set_value(run_id, "a", "k0", "after")

    state = reader.sync()
    assert state.get("a", None, "k0") is not None and json.loads(state.get("a", None, "k0")[0]) == "after"
    assert state.count == _fresh(runs_dir).count_values(run_id)
    assert state.archived.keys() == {("b", 1)}


def test_ten_thousand_overwrites_keep_the_log_small_and_the_values_right(
    store: RunStore, runs_dir: Path
) -> None:
    run_id = store.create_run(job_name="j", tasks={f"t{i}": {} for i in range(10)})
    for n in range(10_000):
        store.set_value(
            run_id, f"t{n % 10}", f"k{n // 10 % 10}", {"n": n, "table": "main.income.features_v2"}
        )
    log = _log_path(store, run_id)
    compacted = _start_record(log)["compacted"]  # the writer compacted it on the way, past 1 MiB
    assert compacted["from_bytes"] >= _compact.MIN_BYTES

    store.compact_values(run_id, force=True)

    assert log.stat().st_size < 32 * 1024  # 100 records of about 170 bytes, where 10,000 took 1.7 MB
    reader = _fresh(runs_dir)
    assert reader.count_values(run_id) == 100
    assert reader.get_value(run_id, "t3", "k9") == {"n": 9993, "table": "main.income.features_v2"}
    document = run_document(reader, run_id)
    assert sum(len(task["values"]) for task in document["tasks"].values()) == 100


def test_a_log_is_compacted_when_a_task_ends(
    store: RunStore, runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_compact, "TASK_END_MIN_BYTES", 16 * 1024)  # readers wait for 1 MiB, as by default
    run_id = store.create_run(job_name="j", tasks={"a": {}}, max_values=1000)
    for i in range(200):  # new keys: no dead record yet, nothing to compact
        store.set_value(run_id, "a", f"k{i}", "x" * 100, iteration=i % 5)
    store.set_value(run_id, "a", "kept", 1)
    log = _log_path(store, run_id)
    store.write_task(run_id, "a", {"state": "RUNNING"})
    assert "compacted" not in _start_record(log)

    store.archive_attempt(run_id, "a", 1)  # a retry: the iterations' values are dead, "kept" is attempt 1's
    store.write_task(run_id, "a", {"state": "RUNNING"})
    run_document(store, run_id)
    assert "compacted" not in _start_record(log)  # the task has not ended, and a reader waits for 1 MiB
    store.write_task(run_id, "a", {"state": "FAILED"})

    assert "compacted" in _start_record(log) and log.stat().st_size < 1024
    reader = _fresh(runs_dir)
    assert {k: r.value for k, r in reader.attempt_values(run_id, "a", 1).items()} == {"kept": 1}
    assert reader.count_values(run_id) == 0


def _overwritten_by_another_process(store: RunStore, runs_dir: Path, count: int) -> str:
    """A run whose log another process filled with values set again (this process never replayed it)."""
    run_id = store.create_run(job_name="j", tasks={"a": {}})
    code = (
        "import sys\nfrom jupyter_taskvalues.store import RunStore\n"
        f"s = RunStore(sys.argv[1])\nfor n in range({count}): s.set_value({run_id!r}, 'a', f'k{{n % 5}}', n)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(runs_dir)], check=True, timeout=120)
    return run_id


def test_reading_the_run_document_compacts_a_log_that_is_due(
    store: RunStore, runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _overwritten_by_another_process(store, runs_dir, 400)  # about 48 KiB, under the 1 MiB default
    log = _log_path(store, run_id)
    monkeypatch.setattr(_compact, "MIN_BYTES", 16 * 1024)
    size = log.stat().st_size

    store_log._cache.clear()  # this process never replayed the log: its first read of the document
    document = run_document(store, run_id)

    assert document["tasks"]["a"]["values"] == {f"k{i}": 395 + i for i in range(5)}
    assert _start_record(log)["compacted"]["from_bytes"] == size and log.stat().st_size < 1024


def test_a_log_that_cannot_be_compacted_is_read_and_tried_again_only_once_it_doubles(
    store: RunStore, runs_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = _overwritten_by_another_process(store, runs_dir, 400)
    log = _log_path(store, run_id)
    monkeypatch.setattr(_compact, "MIN_BYTES", 16 * 1024)
    before = log.read_bytes()
    tries = []

    def read_only(src: str, dst: str) -> None:
        tries.append(dst)
        raise OSError(30, "Read-only file system")

    store_log._cache.clear()
    with monkeypatch.context() as patch, caplog.at_level(logging.WARNING):
        patch.setattr(_compact.os, "replace", read_only)
        for _ in range(3):
            document = run_document(store, run_id)
            assert document["tasks"]["a"]["values"] == {f"k{i}": 395 + i for i in range(5)}

    assert len(tries) == 1 and log.read_bytes() == before
    assert [r.getMessage() for r in caplog.records] == [
        f"Cannot compact the value log {log}: Read-only file system. The log is kept as it was; check that the "
        "disk has room and that the runs directory is writable."
    ]
    assert not [name for name in os.listdir(log.parent) if name.startswith(".tmp-")]


# -- a compacting process killed at each step; writers meanwhile ------------------------------------------------


def _compactor(runs_dir: Path, run_id: str, step: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", COMPACTOR, str(runs_dir), run_id, step],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == step
    return process


@pytest.mark.parametrize("step", ["locked", "written", "synced", "replaced"])
def test_a_compaction_killed_at_any_step_leaves_a_readable_log_with_every_value(
    store: RunStore, runs_dir: Path, step: str
) -> None:
    run_id = _busy_run(store)
    expected = _everything(_fresh(runs_dir), run_id)
    old = _log_path(store, run_id).read_bytes()

    process = _compactor(runs_dir, run_id, step)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    log = _log_path(store, run_id)
    assert (log.read_bytes() == old) == (step != "replaced")  # the old log, or (renamed) the new one
    assert _everything(_fresh(runs_dir), run_id) == expected
    store.set_value(run_id, "a", "k0", "after the kill")  # the dead compactor's lock went with it
    assert store.compact_values(run_id, force=True) is not None
    assert not [name for name in os.listdir(log.parent) if name.startswith(".tmp-")]
    assert _fresh(runs_dir).get_value(run_id, "a", "k0") == "after the kill"


def _wait_until_blocked_on_a_lock(pid: int) -> None:
    """Wait until process ``pid`` waits for a ``flock`` (Linux's lock table lists a waiter after ``->``)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open("/proc/locks", encoding="ascii") as table:
            if any("->" in line and str(pid) in line.split() for line in table):
                return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never waited for the log's lock")


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's lock table to see a writer wait")
@pytest.mark.parametrize("key", ["k0", "a-new-key"])
@pytest.mark.parametrize("ending", ["finishes", "is killed"])
def test_a_writer_waiting_for_a_compaction_lands_its_value_in_the_log_that_is_kept(
    store: RunStore, runs_dir: Path, key: str, ending: str
) -> None:
    run_id = _busy_run(store)
    compactor = _compactor(runs_dir, run_id, "synced")  # the new log written, not yet renamed
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(runs_dir), run_id, key])
    _wait_until_blocked_on_a_lock(writer.pid)

    if ending == "is killed":
        os.kill(compactor.pid, signal.SIGKILL)
    else:
        assert compactor.stdin is not None
        compactor.stdin.write("go\n")
        compactor.stdin.close()
    compactor.wait(timeout=30)
    assert writer.wait(timeout=60) == 0

    assert ("compacted" in _start_record(_log_path(store, run_id))) == (ending == "finishes")
    reader = _fresh(runs_dir)
    assert reader.get_value(run_id, "a", key) == "from the writer"
    assert reader.get_value(run_id, "b", "kept") == "attempt 2"


def test_processes_setting_values_while_the_log_is_compacted_again_and_again_lose_nothing(
    store: RunStore, runs_dir: Path
) -> None:
    run_id = store.create_run(job_name="j", tasks={f"w{i}": {} for i in range(3)})
    sets = 1500
    writers = [
        subprocess.Popen([sys.executable, "-c", LOOPING_WRITER, str(runs_dir), run_id, f"w{i}", str(sets)])
        for i in range(3)
    ]
    compactions = 0
    while any(writer.poll() is None for writer in writers):
        if store.compact_values(run_id, force=True):
            compactions += 1
    assert [writer.wait() for writer in writers] == [0, 0, 0]

    assert compactions > 0
    reader = _fresh(runs_dir)
    for i in range(3):
        values = {key: record.value for key, record in reader.list_values(run_id, f"w{i}").items()}
        assert {key: values[key] for key in values if key.startswith("k")} == {
            f"k{j}": {"n": sets - 10 + j, "pad": "x" * 100} for j in range(10)
        }
        assert {key: values[key] for key in values if key.startswith("new")} == {
            f"new{n}": n for n in range(0, sets, 50)
        }
    assert reader.count_values(run_id) == 3 * (10 + sets // 50)
