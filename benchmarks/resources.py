"""Peak memory and time of a 1,000-task job and of a run holding 10,000 values (issue 7, "Resources").

Usage::

    python benchmarks/resources.py [--tasks N] [--values N] [--notebook-tasks] [--max-parallel N] [--keep]

Each workload runs in a child process of its own, which reports its own peak resident set size
(``ru_maxrss``), so the figures are the runner's and the reader's, not this script's nor the kernels'.
Peers, measured the same way in the same process tree: an empty Python process that imports the package (the
floor) and, for values, a plain loop writing the same JSON files with ``open().write``.

- ``job``: a job of N tasks in a chain of fan-outs (10 layers of N/10 tasks, each layer depending on a task of
  the one before). By default they are condition tasks, which run no kernel: the figure is the scheduler's and
  the store's own cost per task. ``--notebook-tasks`` makes them notebook tasks (one kernel each: slow).
- ``values``: one task process sets N values into one run (``max_values`` raised to N), then another process
  reads the run document, lists every value and takes the fingerprint 100 times, as a polling panel does.

The standard library only; nothing is asserted, only reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

FLOOR = r"""
import json, resource
import jupyter_taskvalues
print(json.dumps({"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RUN_JOB = r"""
import json, resource, sys, time
from jupyter_taskvalues import run_job
from jupyter_taskvalues.jobs.scheduler import RunOptions

began = time.perf_counter()
run = run_job(sys.argv[1], runs_dir=sys.argv[2], options=RunOptions(max_parallel=int(sys.argv[3])))
states = {}
for task in run["tasks"].values():
    states[task["state"]] = states.get(task["state"], 0) + 1
print(json.dumps({
    "seconds": time.perf_counter() - began,
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "state": run["state"],
    "states": states,
}))
"""

SET_VALUES = r"""
import json, os, resource, sys, time
from jupyter_taskvalues import dbutils

count = int(sys.argv[1])
began = time.perf_counter()
for i in range(count):
    dbutils.jobs.taskValues.set(f"value_{i:05d}", {"index": i, "name": f"item {i}", "score": i / 7})
print(json.dumps({"seconds": time.perf_counter() - began,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PLAIN_WRITES = r"""
import json, os, resource, sys, time

count, folder = int(sys.argv[1]), sys.argv[2]
os.makedirs(folder, exist_ok=True)
began = time.perf_counter()
for i in range(count):
    tmp = os.path.join(folder, f".tmp-{i}")
    with open(tmp, "w") as f:
        f.write(json.dumps({"key": f"value_{i:05d}", "value": {"index": i, "name": f"item {i}", "score": i / 7}}))
    os.replace(tmp, os.path.join(folder, f"value_{i:05d}.json"))
print(json.dumps({"seconds": time.perf_counter() - began,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

READ_RUN = r"""
import json, resource, sys, time
from jupyter_taskvalues.document import run_document
from jupyter_taskvalues.store import RunStore

store, run_id = RunStore(sys.argv[1]), sys.argv[2]
began = time.perf_counter()
document = run_document(store, run_id)
document_seconds = time.perf_counter() - began
began = time.perf_counter()
listed = sum(len(records) for records in store.all_values(run_id).values())
list_seconds = time.perf_counter() - began
began = time.perf_counter()
for _ in range(100):
    store.fingerprint(run_id)
poll_ms = (time.perf_counter() - began) * 10
print(json.dumps({
    "document_seconds": document_seconds, "list_seconds": list_seconds, "fingerprint_ms": poll_ms,
    "values": listed, "document_mib": len(json.dumps(document)) / 2**20,
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def _child(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"a benchmark process failed:\n{result.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def _job(folder: Path, tasks: int, notebook_tasks: bool) -> Path:
    layers = 10
    width = max(1, tasks // layers)
    if notebook_tasks:
        (folder / "nb.ipynb").write_text(
            json.dumps(
                {
                    "nbformat": 4,
                    "nbformat_minor": 5,
                    "metadata": {
                        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
                    },
                    "cells": [
                        {
                            "cell_type": "code",
                            "id": "c1",
                            "metadata": {},
                            "outputs": [],
                            "execution_count": None,
                            "source": "x = 1",
                        }
                    ],
                }
            )
        )
    entries = []
    for layer in range(layers):
        for i in range(width):
            entry: dict[str, Any] = {"task_key": f"t{layer}_{i}"}
            if layer:
                entry["depends_on"] = [{"task_key": f"t{layer - 1}_{i % width}"}]
            if notebook_tasks:
                entry["notebook_task"] = {"notebook_path": "nb.ipynb"}
            else:
                entry["condition_task"] = {
                    "op": "EQUAL_TO",
                    "left": "{{job.run_id}}",
                    "right": "{{job.run_id}}",
                }
            entries.append(entry)
    path = folder / "job.json"
    path.write_text(json.dumps({"name": f"{len(entries)}-tasks", "tasks": entries}))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--values", type=int, default=10_000)
    parser.add_argument("--notebook-tasks", action="store_true", help="notebook tasks (a kernel each)")
    parser.add_argument("--max-parallel", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="jtv-resources-"))
    try:
        floor = _child(FLOOR)
        print(f"floor: a process importing jupyter_taskvalues peaks at {floor['peak_mib']:.0f} MiB")

        job = _child(
            RUN_JOB,
            str(_job(folder, args.tasks, args.notebook_tasks)),
            str(folder / "runs-job"),
            str(args.max_parallel),
        )
        kind = "notebook" if args.notebook_tasks else "condition"
        print(
            f"job: {args.tasks:,} {kind} tasks → {job['state']} {job['states']} in {job['seconds']:.1f} s; "
            f"runner peak {job['peak_mib']:.0f} MiB ({job['peak_mib'] / floor['peak_mib']:.1f}x the floor, "
            f"{(job['peak_mib'] - floor['peak_mib']) * 1024 / args.tasks:.0f} KiB per task above it)"
        )

        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from jupyter_taskvalues.context import TaskContext, environment_for
        from jupyter_taskvalues.store import RunStore

        store = RunStore(folder / "runs-values")
        run_id = store.create_run(job_name="values", tasks={"t": {}}, max_values=args.values)
        env = environment_for(TaskContext(run_id=run_id, task_key="t", runs_dir=str(store.root)))
        ours = _child(SET_VALUES, str(args.values), env=env)
        plain = _child(PLAIN_WRITES, str(args.values), str(folder / "plain"))
        print(
            f"values: {args.values:,} sets in {ours['seconds']:.2f} s (plain file writes: {plain['seconds']:.2f} s, "
            f"{ours['seconds'] / plain['seconds']:.1f}x); writer peak {ours['peak_mib']:.0f} MiB "
            f"(plain: {plain['peak_mib']:.0f} MiB)"
        )
        read = _child(READ_RUN, str(store.root), run_id)
        print(
            f"reading: run document {read['document_seconds']:.2f} s ({read['document_mib']:.1f} MiB of JSON), "
            f"listing {read['values']:,} values {read['list_seconds']:.2f} s, fingerprint "
            f"{read['fingerprint_ms']:.2f} ms per poll; reader peak {read['peak_mib']:.0f} MiB"
        )
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
