"""What running on a cluster costs per task: store calls on S3 and the Dask executor's round trip.

Usage::

    python benchmarks/cluster.py [--repeat N] [--tasks N]

- ``store``: ``set_value`` (a new key, an overwrite), ``get_value``, ``fingerprint`` and the run document of a
  run holding 50 values (its task live, or finished: then its values come from the task's index), on a local
  runs directory and on S3 (moto's server on 127.0.0.1, through s3fs). Peers
  in the same process: a plain file write/read, and a raw s3fs ``pipe_file``/``cat_file`` of the same bytes
  (the floor any S3 store pays).
- ``dask``: a job of N independent one-cell notebook tasks on a ``LocalCluster`` (2 worker processes, 1 thread
  each) with runs on S3, against the same job with the local executor and a local runs directory; and the
  floor, a Dask ``submit`` of a no-op function and waiting for it.

moto is much slower than S3 itself per request (Python, one process) but has no network latency: read the S3
figures as "requests × your latency". The standard library, dask and s3fs only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _median_ms(function: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def _store_ops(store: Any, run_id: str, finished: str) -> dict[str, Callable[[], object]]:
    from jupyter_taskvalues.document import run_document

    counter = iter(range(10**6))
    return {
        "set_value, a new key": lambda: store.set_value(
            run_id, "t", f"k{next(counter)}", 1, max_values=10**6
        ),
        "set_value, an overwrite": lambda: store.set_value(run_id, "t", "same", 1204, max_values=10**6),
        "get_value": lambda: store.get_value(run_id, "u", "v7"),
        "fingerprint (50+ values)": lambda: store.fingerprint(run_id),
        "run document, a live task (50 values)": lambda: run_document(store, run_id),
        "run document, a finished task (50)": lambda: run_document(store, finished),
    }


def bench_store(url: str, repeat: int) -> None:
    import s3fs

    from jupyter_taskvalues.store import RunStore

    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    raw = s3fs.S3FileSystem()
    payload = b'{"key": "k", "value": 1204}'
    medians: dict[str, dict[str, float]] = {}
    for label, where in (("local", str(tmp / "runs")), ("S3", url)):
        store = RunStore(where)
        run_id = store.create_run(job_name="bench", tasks={"t": {}, "u": {}})
        finished = store.create_run(job_name="bench", tasks={"u": {}})
        for i in range(50):
            store.set_value(run_id, "u", f"v{i}", {"i": i, "pad": "x" * 100})
            store.set_value(finished, "u", f"v{i}", {"i": i, "pad": "x" * 100})
        store.write_task(finished, "u", {"state": "SUCCESS"})
        medians[label] = {
            name: _median_ms(op, repeat) for name, op in _store_ops(store, run_id, finished).items()
        }
    plain = tmp / "plain.json"
    plain_write = _median_ms(lambda: plain.write_bytes(payload), repeat)
    plain_read = _median_ms(plain.read_bytes, repeat)
    floor = f"{url.split('://', 1)[1].split('/', 1)[0]}/floor.json"
    s3_write = _median_ms(lambda: raw.pipe_file(floor, payload), repeat)
    s3_read = _median_ms(lambda: raw.cat_file(floor), repeat)

    print(f"\nstore calls, median of {repeat} (ms)")
    print(f"{'operation':40} {'local':>9} {'S3':>9}   S3 vs its floor")
    for name, local in medians["local"].items():
        remote = medians["S3"][name]
        base = s3_read if name.startswith(("get", "fingerprint", "run")) else s3_write
        print(f"{name:40} {local:9.2f} {remote:9.2f}   {remote / base:5.1f}x")
    print(f"{'floor: plain file write / read':40} {plain_write:9.2f} {plain_read:9.2f}")
    print(f"{'floor: raw s3fs PUT / GET':40} {s3_write:9.2f} {s3_read:9.2f}")


def one_cell_job(folder: Path, tasks: int) -> Path:
    """Write a job of ``tasks`` independent one-cell notebook tasks (each sets one value) into ``folder``."""
    import json

    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("dbutils.jobs.taskValues.set('x', 1)"))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(folder / "task.ipynb"))
    job = folder / "job.json"
    tasks_json = [{"task_key": f"t{i}", "notebook_task": {"notebook_path": "task"}} for i in range(tasks)]
    job.write_text(json.dumps({"name": "bench", "tasks": tasks_json}))
    return job


def timed_run(job: Path, runs: str | Path, options: Any) -> float:
    """Run ``job`` in this process; return its wall time (raise if it did not succeed)."""
    from jupyter_taskvalues import run_job

    began = time.perf_counter()
    run = run_job(job, runs_dir=runs, options=options)
    seconds = time.perf_counter() - began
    if run["state"] != "SUCCESS":
        errors = {k: t.get("error") for k, t in run["tasks"].items() if t.get("error")}
        raise RuntimeError(f"the benchmark job ended {run['state']}: {errors}")
    return seconds


def dask_vs_local(folder: Path, tasks: int = 20, repeat: int = 1) -> dict[str, Any]:
    """Wall time of one job, ``tasks`` one-cell notebooks 2 at a time, by the local and the Dask executor.

    The same machine, the same local runs directory; Dask on a ``LocalCluster`` of 2 worker processes with 1
    thread each, twice: with ``keep_warm=0`` (``dask-per-run``: each run starts its workers' kernels and fork
    servers, as each local run starts its own), then as it is by default (``dask``: the workers keep their warm
    kernels for the next run). Each is measured in turns with the local executor, ``repeat`` times, after one
    run of each that is not (imports, caches, the workers' first kernels: ``first``). Also the floor: a Dask
    ``submit`` of a no-op and its result.
    """
    from distributed import Client, LocalCluster

    from jupyter_taskvalues.jobs.scheduler import RunOptions

    job = one_cell_job(folder, tasks)
    runs = folder / "runs"
    walls: dict[str, list[float]] = {"local": [], "dask": [], "dask-per-run": []}
    first: dict[str, float] = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster, set_as_default=False) as client:
            client.submit(int, 0, pure=False).result()  # workers up
            floor = _median_ms(lambda: client.submit(int, 0, pure=False).result(), 20) / 1000

        def on_dask(**options: Any) -> Any:
            return RunOptions(
                max_parallel=2, executor="dask", executor_options={"scheduler": cluster, **options}
            )

        local = ("local", RunOptions(max_parallel=2))
        # Per run first: its runs end by stopping the workers' kernels, so the default's first run is cold too.
        for dask in (("dask-per-run", on_dask(keep_warm=0)), ("dask", on_dask())):
            contenders = [local, dask]
            for name, options in contenders:
                if name not in first:
                    first[name] = timed_run(job, runs, options)  # warm-up, not in the medians
            for rep in range(repeat):
                for name, options in contenders if rep % 2 == 0 else contenders[::-1]:
                    walls[name].append(timed_run(job, runs, options))
    return {"tasks": tasks, "walls": walls, "first": first, "floor": floor}


def bench_dask(url: str, tasks: int) -> None:
    from distributed import LocalCluster

    from jupyter_taskvalues.jobs.scheduler import RunOptions

    tmp = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    print(f"\na job of {tasks} independent one-cell notebook tasks (s), 2 kernels at a time")
    compared = dask_vs_local(tmp / "local-runs", tasks)
    local = compared["walls"]["local"][0]
    results = {"dask, runs local": compared["walls"]["dask"][0]}
    job = one_cell_job(tmp, tasks)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        options = RunOptions(max_parallel=2, executor="dask", executor_options={"scheduler": cluster})
        timed_run(job, url, options)  # warm the workers (imports)
        results["dask, runs on S3"] = timed_run(job, url, options)
    print(f"{'local executor, runs local':30} {local:7.2f}   {local / tasks:5.2f} per task")
    for label, seconds in results.items():
        print(f"{label:30} {seconds:7.2f}   {seconds / tasks:5.2f} per task   {seconds / local:4.2f}x local")
    print(f"{'floor: dask submit + result':30} {compared['floor']:7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--tasks", type=int, default=8)
    args = parser.parse_args()

    from tests.s3 import fixtures  # the moto server fixture, driven by hand

    server = fixtures.s3_endpoint.__wrapped__()  # type: ignore[attr-defined]
    next(server)
    try:
        import s3fs

        bucket = f"bench-{secrets.token_hex(4)}"
        s3fs.S3FileSystem().mkdir(bucket)
        url = f"s3://{bucket}/runs"
        print(f"machine: {os.cpu_count()} CPUs; S3: moto on 127.0.0.1")
        bench_store(url, args.repeat)
        bench_dask(url, args.tasks)
    finally:
        server.close()


if __name__ == "__main__":
    main()
