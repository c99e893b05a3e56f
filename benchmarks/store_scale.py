"""The rows of the table for a runs directory at scale (issue 18): compacted value logs, and the runs index.

- ``compaction``: a run whose tasks set 100 keys 10,000 times (10 tasks, 10 keys each, 100 overwrites of each).
  Its log as it was before logs were compacted (10,000 records, written with compaction held off) against the
  same run compacted as the store now does it: the first ``GET runs/<id>`` of each on a fresh Jupyter Server
  (the first read replays the log; on the old log it also compacts it), and the first run document read in a
  fresh process. Target: the compacted run's first GET ≤ 50 ms.
- ``runs index``: 5,000 runs made through the store API in one runs directory; ``jupyter-taskvalues runs
  --json`` (its default page of 20) and ``runs --json --limit 5000`` with the index built, against the CLI's
  start-up (``runs --json --limit 1``) and against listing from the run records (``RunStore.list_runs``, what
  every listing did before the index), and ``GET runs?limit=1000``. Target: ≤ 300 ms.

Rows are ``(name, ours, peer, figure, target, passed)`` tuples, the fields of ``run.py``'s ``Row``. Runs on its
own too: ``python benchmarks/store_scale.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rest_server import jupyter_server

PYTHON = sys.executable
RowTuple = tuple[str, str, str, str, str, bool | None]

# The first read of a run's document in a process that never read the run (its imports done first).
_FIRST_DOCUMENT = """
import sys, time
from jupyter_taskvalues.document import run_document_json
from jupyter_taskvalues.store import RunStore
store = RunStore(sys.argv[1])
began = time.perf_counter()
run_document_json(store, sys.argv[2])
print(time.perf_counter() - began)
"""


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _overwritten_run(store: Any, *, compact: bool) -> tuple[str, int]:
    """A run whose 10 tasks set 10 keys each 100 times; return its id and its log's size in bytes."""
    from jupyter_taskvalues.store import _compact

    run_id = store.create_run(job_name="overwrites", tasks={f"t{i}": {"type": "notebook"} for i in range(10)})
    held = (_compact.MIN_BYTES, _compact.TASK_END_MIN_BYTES)
    if not compact:  # the log as every run kept it before logs were compacted
        _compact.MIN_BYTES = _compact.TASK_END_MIN_BYTES = 1 << 62
    try:
        for n in range(10_000):
            value = {"step": n, "loss": 1 / (n + 1), "table": "main.income.features_v2"}
            store.set_value(run_id, f"t{n % 10}", f"k{n // 10 % 10}", value)
        for i in range(10):
            store.write_task(run_id, f"t{i}", {"state": "SUCCESS"})  # the task ends: compacted if due
    finally:
        _compact.MIN_BYTES, _compact.TASK_END_MIN_BYTES = held
    return run_id, os.path.getsize(store.run_dir(run_id) / "values.log")


def _first_document(runs_dir: Path, run_id: str) -> float:
    done = subprocess.run(
        [PYTHON, "-c", _FIRST_DOCUMENT, str(runs_dir), run_id], check=True, capture_output=True, text=True
    )
    return float(done.stdout)


@contextlib.contextmanager
def _server(runs_dir: Path, workdir: Path) -> Iterator[Any]:
    """A Jupyter Server with the extension over ``runs_dir``; yields ``get(path) -> (seconds, JSON body)``."""
    with jupyter_server(runs_dir, workdir, log_name="store-server.log") as fetch:

        def get(path: str) -> tuple[float, Any]:
            seconds, code, body, _ = fetch(path)
            if code != 200:
                raise RuntimeError(f"GET {path} answered {code}")
            return seconds, json.loads(body)

        yield get


def _runs(store: Any, count: int) -> None:
    """``count`` finished runs of a 5-task job, made through the store API (not by running jobs)."""
    tasks = {f"t{i}": {"type": "notebook", "depends_on": []} for i in range(5)}
    for i in range(count):
        run_id = store.create_run(job_name=f"job{i % 7}", tasks=tasks, parameters={"env": "dev"})
        store.update_run(
            run_id,
            state="SUCCESS",
            start_time="2026-12-07T10:00:00.000Z",
            end_time="2026-12-07T10:00:05.000Z",
        )


def _cli(runs_dir: Path, limit: int) -> float:
    began = time.perf_counter()
    subprocess.run(
        [
            PYTHON,
            "-m",
            "jupyter_taskvalues.cli",
            "runs",
            "--json",
            "--limit",
            str(limit),
            "--runs-dir",
            str(runs_dir),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - began


def measure(tmp: Path, repeat: int = 3, runs: int = 5000) -> tuple[list[RowTuple], dict[str, Any]]:
    """Make both workloads under ``tmp`` and return the table rows and the raw figures."""
    from jupyter_taskvalues.store import RunStore, _index

    raw: dict[str, Any] = {}
    values_dir, listed_dir = tmp / "runs-overwrites", tmp / "runs-5000"
    store = RunStore(values_dir)
    old, old_bytes = _overwritten_run(store, compact=False)
    new, new_bytes = _overwritten_run(store, compact=True)
    warm = store.create_run(job_name="warm-up", tasks={"t": {"type": "notebook"}})
    raw["log_bytes"] = {"uncompacted": old_bytes, "compacted": new_bytes}
    raw["first_document_s"] = {"uncompacted": _first_document(values_dir, old)}  # compacts it, as any reader
    raw["first_document_s"]["compacted"] = _first_document(values_dir, new)
    old, _ = _overwritten_run(store, compact=False)  # again: the document read compacted the first one
    with _server(values_dir, tmp) as get:
        get(f"/taskvalues/api/runs/{warm}")  # the server's own first request (imports, caches) paid here
        first_new, body = get(f"/taskvalues/api/runs/{new}")
        first_old, _ = get(f"/taskvalues/api/runs/{old}")
        again = statistics.median(get(f"/taskvalues/api/runs/{new}")[0] for _ in range(repeat))
    if sum(len(task["values"]) for task in body["tasks"].values()) != 100:
        raise RuntimeError("the compacted run's document does not hold its 100 values")
    raw["first_get_s"] = {"uncompacted": first_old, "compacted": first_new, "again": again}

    listing = RunStore(listed_dir)
    began = time.perf_counter()
    _runs(listing, runs)
    raw["make_runs_s"] = time.perf_counter() - began
    time.sleep(_index.RACY_SECONDS)  # runs written in the last seconds are read from run.json, not indexed
    timed_records = []
    for _ in range(repeat):
        began = time.perf_counter()
        listing.list_runs()
        timed_records.append(time.perf_counter() - began)
    (listed_dir / _index.INDEX_NAME).unlink(missing_ok=True)
    began = time.perf_counter()
    listing.list_run_heads()  # no index yet: reads every run.json and writes the index
    raw["heads_without_index_s"] = time.perf_counter() - began
    timed_heads = []
    for _ in range(repeat):
        began = time.perf_counter()
        listing.list_run_heads()
        timed_heads.append(time.perf_counter() - began)
    raw["list_runs_s"], raw["list_run_heads_s"] = (
        statistics.median(timed_records),
        statistics.median(timed_heads),
    )
    raw["cli_all_s"] = statistics.median(_cli(listed_dir, runs) for _ in range(repeat))
    raw["cli_one_s"] = statistics.median(_cli(listed_dir, 1) for _ in range(repeat))
    raw["cli_default_s"] = statistics.median(_cli(listed_dir, 20) for _ in range(repeat))
    with _server(listed_dir, tmp) as get:
        get("/taskvalues/api/runs?limit=1")
        raw["rest_page_s"] = statistics.median(
            get("/taskvalues/api/runs?limit=1000")[0] for _ in range(repeat)
        )

    first = raw["first_get_s"]
    rows: list[RowTuple] = [
        (
            f"runs --json over {runs:,} runs (the default page, 20 runs)",
            _ms(raw["cli_default_s"]),
            f"{_ms(raw['cli_one_s'])} (runs --json --limit 1: the CLI's start-up)",
            "",
            "≤ 300 ms",
            raw["cli_default_s"] <= 0.300,
        ),
        (
            "first GET runs/<id> of a run of 10,000 overwrites of 100 keys (compacted)",
            _ms(first["compacted"]),
            f"{_ms(first['uncompacted'])} (its log uncompacted: replayed, then compacted)",
            f"log {new_bytes / 1024:.0f} KiB against {old_bytes / 1024:.0f} KiB; first document read in a fresh "
            f"process {_ms(raw['first_document_s']['compacted'])} against "
            f"{_ms(raw['first_document_s']['uncompacted'])}; again {_ms(again)}",
            "≤ 50 ms",
            first["compacted"] <= 0.050,
        ),
        (
            f"runs --json over {runs:,} runs (--limit {runs}, runs index built)",
            _ms(raw["cli_all_s"]),
            f"{_ms(raw['cli_one_s'])} (runs --json --limit 1: the CLI's start-up)",
            f"in-process: list_run_heads {_ms(raw['list_run_heads_s'])}, {_ms(raw['heads_without_index_s'])} "
            f"building the index; from the run records (list_runs) {_ms(raw['list_runs_s'])}; "
            f"GET runs?limit=1000 {_ms(raw['rest_page_s'])}",
            "≤ 300 ms",
            raw["cli_all_s"] <= 0.300,
        ),
    ]
    return rows, raw


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="jtv-store-bench-") as folder:
        rows, raw = measure(Path(folder))
    for row in rows:
        verdict = "" if row[5] is None else "PASS" if row[5] else "MISS"
        print(" | ".join(row[:5]), verdict, sep=" | ")
    print(json.dumps(raw, indent=1))
    return 0 if all(row[5] is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
