"""Many task processes writing into one run while others list and read: nothing lost, nothing torn, limit exact.

Every process is a real OS process with the task context in its environment, setting values through
``dbutils.jobs.taskValues.set`` as a notebook does. Processes start together on a barrier file. Every value
carries its own check (see :data:`PAYLOAD_CODE`), so a reader that ever saw half a file reports it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.store import RunStore
from tests.hardening.hardening_helpers import PAYLOAD_CODE, intact, start_python, task_env, tree

WORKER = (
    r"""
import json, os, random, sys, time

from jupyter_taskvalues import dbutils
from jupyter_taskvalues.exceptions import ValueLimitError
from jupyter_taskvalues.store import RunStore
"""
    + PAYLOAD_CODE
    + r"""
role, go = sys.argv[1], sys.argv[2]
while not os.path.exists(go):
    time.sleep(0.002)
task_values = dbutils.jobs.taskValues

if role == "write":  # KEYS distinct keys, and "latest" overwritten after each of them
    writer, keys = os.environ["JUPYTER_TASKVALUES_TASK_KEY"], int(sys.argv[3])
    for n in range(keys):
        task_values.set(f"k{n}", payload(writer, n, 50 + (n * 7919) % 3000))
        task_values.set("latest", payload(writer, n, 1000 + (n * 4099) % 30000))
    print(json.dumps({"writer": writer}))

elif role == "read":  # list whole runs and read "latest" of every writer until the stop file appears
    writers, stop = sys.argv[3].split(","), sys.argv[4]
    store = RunStore(os.environ["JUPYTER_TASKVALUES_RUNS_DIR"])
    run_id = os.environ["JUPYTER_TASKVALUES_RUN_ID"]
    last = {w: -1 for w in writers}
    seen = {w: 0 for w in writers}
    lists = reads = 0
    problems = []
    while True:
        finished = os.path.exists(stop)
        for task, records in store.all_values(run_id).items():
            if task not in last:
                continue
            lists += 1
            if len(records) < seen[task]:
                problems.append(f"{task} went from {seen[task]} listed values to {len(records)}")
            seen[task] = len(records)
            for key, record in records.items():
                if not intact(record.value, task):
                    problems.append(f"torn {task}/{key}: {str(record.value)[:60]}")
        for w in writers:
            value = task_values.get(w, "latest", default="unset")
            if value == "unset":
                continue
            reads += 1
            if not intact(value, w):
                problems.append(f"torn {w}/latest")
            elif value["seq"] < last[w]:
                problems.append(f"{w}/latest went back from {last[w]} to {value['seq']}")
            else:
                last[w] = value["seq"]
        if finished:
            break
        time.sleep(0.01)  # readers poll, as the panel does; they must not starve the writers of the 2 cores
    print(json.dumps({"lists": lists, "reads": reads, "problems": problems[:5]}))

elif role == "fill":  # try to create KEYS new keys (named with PREFIX); count what the limit refuses
    prefix, keys = sys.argv[3], int(sys.argv[4])
    stored, refused = [], 0
    order = list(range(keys))
    random.Random(prefix).shuffle(order)
    for i in order:
        try:
            task_values.set(f"{prefix}{i}", i)
            stored.append(f"{prefix}{i}")
        except ValueLimitError:
            refused += 1
    print(json.dumps({"stored": stored, "refused": refused}))
"""
)


def _release(
    processes: list[Any], go: Path, stop: Path | None = None, readers: list[Any] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Open the barrier, wait for the writers, then stop the readers; return both groups' JSON reports."""
    go.write_text("go")
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        reports.append(json.loads(out))
    if stop is not None:
        stop.write_text("stop")
    read_reports = []
    for process in readers or []:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        read_reports.append(json.loads(out))
    return reports, read_reports


def _writers_and_readers(tmp_path: Path, runs_dir: Path, *, writers: int, keys: int, readers: int) -> None:
    store = RunStore(runs_dir)
    names = [f"w{i:02d}" for i in range(writers)]
    run_id = store.create_run(
        job_name="volume", tasks={name: {} for name in names}, max_values=writers * (keys + 1)
    )
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    go, stop = tmp_path / "go", tmp_path / "stop"
    reader_processes = [
        start_python(
            script, "read", str(go), ",".join(names), str(stop), env=task_env(runs_dir, run_id, f"r{i}")
        )
        for i in range(readers)
    ]
    writer_processes = [
        start_python(script, "write", str(go), str(keys), env=task_env(runs_dir, run_id, name))
        for name in names
    ]

    _reports, read_reports = _release(writer_processes, go, stop, reader_processes)

    for report in read_reports:
        assert report["problems"] == []
        assert report["lists"] > 0 and report["reads"] > 0
    values = store.all_values(run_id)
    for name in names:
        stored = values[name]
        assert sorted(stored) == sorted([f"k{n}" for n in range(keys)] + ["latest"])
        for n in range(keys):
            record = stored[f"k{n}"]
            assert intact(record.value, name) and record.value["seq"] == n
        assert stored["latest"].value["seq"] == keys - 1  # the last write won
    assert store.count_values(run_id) == writers * (keys + 1)
    assert not [p for p in tree(runs_dir) if Path(p).name.startswith(".tmp-")]


def test_sixteen_task_processes_lose_and_tear_nothing_while_readers_list_and_read(
    tmp_path: Path, runs_dir: Path
) -> None:
    # 16 processes x (200 keys + 200 overwrites of "latest") = 6,400 sets, 3,216 values, read by 2 listers.
    _writers_and_readers(tmp_path, runs_dir, writers=16, keys=200, readers=2)


@pytest.mark.slow
def test_sixteen_task_processes_with_four_hundred_values_each_lose_nothing(
    tmp_path: Path, runs_dir: Path
) -> None:
    # 16 x (400 keys + 400 overwrites) = 12,800 sets, 6,416 values, read by 3 listers.
    _writers_and_readers(tmp_path, runs_dir, writers=16, keys=400, readers=3)


def _fill(
    tmp_path: Path, runs_dir: Path, tasks: list[str], keys: int, *, shared_keys: bool
) -> tuple[RunStore, str, list[dict[str, Any]]]:
    store = RunStore(runs_dir)  # the default limit: 250 values per run
    run_id = store.create_run(job_name="limit", tasks={task: {} for task in sorted(set(tasks))})
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    go = tmp_path / "go"
    processes = [
        start_python(
            script,
            "fill",
            str(go),
            "k" if shared_keys else f"p{i}-",
            str(keys),
            env=task_env(runs_dir, run_id, task),
        )
        for i, task in enumerate(tasks)
    ]
    reports, _ = _release(processes, go)
    return store, run_id, reports


def _logged_values(runs_dir: Path, run_id: str) -> int:
    """The distinct values the run's log holds, read without the store; every record in it is whole."""
    data = (runs_dir / run_id / "values.log").read_bytes()
    chunks = data.split(b"\x1e")
    assert chunks[0] == b""
    slots = set()
    for chunk in chunks[1:]:
        assert chunk.endswith(b"\n") and chunk.count(b"\n") == 1, chunk[:80]
        record = json.loads(chunk)
        if "op" not in record:
            slots.add((record["task_key"], record["iteration"], record["key"]))
    return len(slots)


def test_sixteen_processes_racing_past_the_limit_store_exactly_250_values(
    tmp_path: Path, runs_dir: Path
) -> None:
    tasks = [f"t{i:02d}" for i in range(16)]
    store, run_id, reports = _fill(
        tmp_path, runs_dir, tasks, 40, shared_keys=False
    )  # 640 creations for 250 slots

    stored = [(task, key) for task, report in zip(tasks, reports, strict=True) for key in report["stored"]]
    assert len(stored) == 250
    assert sum(report["refused"] for report in reports) == 640 - 250
    listed = [(task, key) for task, records in store.all_values(run_id).items() for key in records]
    assert sorted(listed) == sorted(stored)  # what each process was told was stored, and nothing else
    assert store.count_values(run_id) == 250
    assert _logged_values(runs_dir, run_id) == 250


def test_processes_racing_to_create_the_same_keys_count_each_key_once(tmp_path: Path, runs_dir: Path) -> None:
    # Eight processes acting as one task (a retried or duplicated task) create the same 300 keys at once.
    store, run_id, reports = _fill(tmp_path, runs_dir, ["same"] * 8, 300, shared_keys=True)

    keys = set(store.list_values(run_id, "same"))
    assert len(keys) == 250
    assert all(set(report["stored"]) <= keys for report in reports)
    assert all(len(report["stored"]) + report["refused"] == 300 for report in reports)
    assert store.count_values(run_id) == 250
    assert _logged_values(runs_dir, run_id) == 250


def test_a_full_run_still_accepts_overwrites_of_its_keys(tmp_path: Path, runs_dir: Path) -> None:
    store = RunStore(runs_dir, max_values=5)
    run_id = store.create_run(job_name="full", tasks={"t": {}})
    for i in range(5):
        store.set_value(run_id, "t", f"k{i}", i)
    key = f"k{random.randrange(5)}"

    store.set_value(run_id, "t", key, "new")

    assert store.get_value(run_id, "t", key) == "new"
    assert store.count_values(run_id) == 5
