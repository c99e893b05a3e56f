"""Several OS processes, each a task of one job run, setting and getting values through ``dbutils`` at once.

Every value carries its own check (a length and a fill character tied to its sequence number), so a reader
that ever saw a half-written file, or a value from the past after a newer one, reports it. Processes start
together on a barrier file; readers run until the writers are done.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from jupyter_taskvalues import context
from jupyter_taskvalues.context import TaskContext

if TYPE_CHECKING:
    from pathlib import Path

    from jupyter_taskvalues.store import RunStore

WORKER = r"""
import json, os, sys, time

from jupyter_taskvalues import dbutils
from jupyter_taskvalues.exceptions import ValueLimitError

task_values = dbutils.jobs.taskValues


def payload(writer, seq, size):
    return {"writer": writer, "seq": seq, "size": size, "pad": chr(ord("a") + seq % 26) * size}


def intact(value, writer):
    return (
        isinstance(value, dict)
        and value["writer"] == writer
        and len(value["pad"]) == value["size"]
        and value["pad"] == chr(ord("a") + value["seq"] % 26) * value["size"]
    )


role, go = sys.argv[1], sys.argv[2]
while not os.path.exists(go):
    time.sleep(0.002)

if role == "write":  # write KEYS distinct keys, and overwrite "latest" ROUNDS times with sizes up to ~41 KB
    writer, keys, rounds = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    for n in range(rounds):
        task_values.set("latest", payload(writer, n, 1000 + (n * 7919) % 40000))
        if n < keys:
            task_values.set(f"key{n}", payload(writer, n, 100 + n))
    print(json.dumps({"writer": writer}))

elif role == "read":  # read every writer's "latest" until the stop file appears
    writers, stop = sys.argv[3].split(","), sys.argv[4]
    last = {w: -1 for w in writers}
    reads, problems = 0, []
    while True:
        finished = os.path.exists(stop)
        for w in writers:
            value = task_values.get(taskKey=w, key="latest", default="unset")
            if value == "unset":
                continue
            reads += 1
            if not intact(value, w):
                problems.append(f"torn value from {w}: {str(value)[:80]}")
            elif value["seq"] < last[w]:
                problems.append(f"{w} went back from {last[w]} to {value['seq']}")
            else:
                last[w] = value["seq"]
        if finished:
            break
    print(json.dumps({"reads": reads, "last": last, "problems": problems[:5]}))

elif role == "watch":  # read one task's "contended" until the stop file appears; any writer, never torn
    task, stop = sys.argv[3], sys.argv[4]
    reads, problems = 0, []
    while True:
        finished = os.path.exists(stop)
        value = task_values.get(task, "contended", default="unset")
        if value != "unset":
            reads += 1
            if not intact(value, value.get("writer") if isinstance(value, dict) else None):
                problems.append(f"torn value: {str(value)[:80]}")
        if finished:
            break
    print(json.dumps({"reads": reads, "problems": problems[:5]}))

elif role == "fill":  # try to create COUNT new keys; count what the run's limit refuses
    prefix, count = sys.argv[3], int(sys.argv[4])
    stored = refused = 0
    for i in range(count):
        try:
            task_values.set(f"{prefix}-{i}", i)
            stored += 1
        except ValueLimitError:
            refused += 1
    print(json.dumps({"stored": stored, "refused": refused}))

elif role == "hammer":  # overwrite one key of one task, as several processes at once
    writer, rounds = sys.argv[3], int(sys.argv[4])
    for n in range(rounds):
        task_values.set("contended", payload(writer, n, 500 + (n * 4099) % 45000))
    print(json.dumps({"writer": writer}))
"""


class Cluster:
    """Starts worker processes as tasks of one run, releases them together, and collects their reports."""

    def __init__(self, tmp_path: Path, store: RunStore, run_id: str) -> None:
        self.script = tmp_path / "worker.py"
        self.script.write_text(WORKER)
        self.go = tmp_path / "go"
        self.stop = tmp_path / "stop"
        self.store = store
        self.run_id = run_id
        self.processes: list[subprocess.Popen[str]] = []

    def start(self, task_key: str, *args: str) -> subprocess.Popen[str]:
        task = TaskContext(run_id=self.run_id, task_key=task_key, runs_dir=str(self.store.root))
        env = {k: v for k, v in os.environ.items() if not k.startswith(context.ENV_PREFIX)}
        env.update(context.environment_for(task))
        process = subprocess.Popen(
            [sys.executable, str(self.script), args[0], str(self.go), *args[1:]],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.processes.append(process)
        return process

    def release(self) -> None:
        self.go.touch()

    def report(self, process: subprocess.Popen[str]) -> dict[str, Any]:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        report: dict[str, Any] = json.loads(out)
        return report

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.communicate()


def test_concurrent_writers_and_readers_lose_nothing_and_see_nothing_torn(
    tmp_path: Path, store: RunStore
) -> None:
    writers = [f"w{i}" for i in range(4)]
    keys, rounds = 20, 60
    run_id = store.create_run(job_name="stress", tasks={**{w: {} for w in writers}, "reader": {}})
    cluster = Cluster(tmp_path, store, run_id)
    try:
        writing = [cluster.start(w, "write", w, str(keys), str(rounds)) for w in writers]
        reading = [cluster.start("reader", "read", ",".join(writers), str(cluster.stop)) for _ in range(2)]
        cluster.release()
        for process in writing:
            cluster.report(process)
        cluster.stop.touch()
        reports = [cluster.report(process) for process in reading]
    finally:
        cluster.close()

    for report in reports:
        assert report["problems"] == []
        assert report["reads"] > 0
        assert all(
            seq == rounds - 1 for seq in report["last"].values()
        )  # each saw every writer's final value
    for w in writers:
        values = store.list_values(run_id, w)
        assert sorted(values) == sorted([f"key{n}" for n in range(keys)] + ["latest"])
        assert values["latest"].value["seq"] == rounds - 1
        for n in range(keys):
            assert values[f"key{n}"].value == {
                "writer": w,
                "seq": n,
                "size": 100 + n,
                "pad": chr(97 + n) * (100 + n),
            }
    assert store.count_values(run_id) == len(writers) * (keys + 1)
    assert store.sweep(run_id) == 0  # no temporary file left behind


def test_concurrent_processes_never_exceed_the_runs_limit(tmp_path: Path, store: RunStore) -> None:
    fillers = [f"t{i}" for i in range(4)]
    run_id = store.create_run(job_name="limit", tasks={t: {} for t in fillers})
    cluster = Cluster(tmp_path, store, run_id)
    try:
        processes = [cluster.start(t, "fill", t, "100") for t in fillers]
        cluster.release()
        reports = [cluster.report(process) for process in processes]
    finally:
        cluster.close()

    assert sum(r["stored"] for r in reports) == 250
    assert sum(r["refused"] for r in reports) == 150
    assert store.count_values(run_id) == 250
    assert sum(len(store.list_values(run_id, t)) for t in fillers) == 250


def test_processes_overwriting_one_key_leave_one_whole_value(tmp_path: Path, store: RunStore) -> None:
    run_id = store.create_run(job_name="hot", tasks={"hot": {}, "reader": {}})
    cluster = Cluster(tmp_path, store, run_id)
    rounds = 80
    try:
        hammers = [cluster.start("hot", "hammer", f"p{i}", str(rounds)) for i in range(3)]
        reader = cluster.start("reader", "watch", "hot", str(cluster.stop))
        cluster.release()
        for process in hammers:
            cluster.report(process)
        cluster.stop.touch()
        report = cluster.report(reader)
    finally:
        cluster.close()

    assert report["problems"] == []
    assert report["reads"] > 0
    final = store.get_value(run_id, "hot", "contended")
    assert final["seq"] == rounds - 1 and final["writer"] in {"p0", "p1", "p2"}
    assert len(final["pad"]) == final["size"] and set(final["pad"]) == {chr(97 + (rounds - 1) % 26)}
    assert store.count_values(run_id) == 1
    assert store.sweep(run_id) == 0
