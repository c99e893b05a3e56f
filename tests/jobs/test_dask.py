"""The dask executor on a real ``LocalCluster`` (two worker processes), with the run store on S3 (moto on loopback).

The cluster is started once for the module; its workers inherit the S3 endpoint and dummy credentials from the
environment, as workers of a real cluster would get them from theirs. The tests of the workers' warm kernels
(kept across runs, stopped when idle or when the cluster closes) start a one-worker cluster each.

A worker's kernels may be forked from its fork server: a kernel's parent is then the server, whose parent is the
worker. The notebooks find their worker with :data:`WORKER_PID`, the tests with :func:`_processes_of`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from jupyter_taskvalues import run_job
from jupyter_taskvalues.jobs.api import async_run_job
from jupyter_taskvalues.jobs.scheduler import JobRun, RunOptions
from jupyter_taskvalues.store import RunStore
from tests.jobhelpers import cli, databricks_source, job, nb_task, notebook

pytest_plugins = ["tests.s3.fixtures"]

pytestmark = pytest.mark.filterwarnings(
    # distributed reports a worker we kill on purpose, and its closing of comms, as warnings.
    "ignore::UserWarning:distributed.*",
    "ignore::RuntimeWarning:distributed.*",
)


@contextlib.contextmanager
def _local_cluster(workers: int) -> Iterator[Any]:
    """A ``LocalCluster`` of ``workers`` worker processes of one thread each, on loopback."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None, host="127.0.0.1"
    ) as local_cluster:
        yield local_cluster


@pytest.fixture(scope="module")
def cluster(s3_endpoint: str) -> Iterator[Any]:
    with _local_cluster(2) as local_cluster:
        yield local_cluster


@pytest.fixture
def one_worker() -> Iterator[Any]:
    """A cluster of its own, one worker process of one thread: where each notebook runs is known."""
    with _local_cluster(1) as local_cluster:
        yield local_cluster


@pytest.fixture
def two_workers() -> Iterator[Any]:
    """A fresh cluster of two worker processes: no kernel started on either yet."""
    with _local_cluster(2) as local_cluster:
        yield local_cluster


@pytest.fixture
def worker_pids(cluster: Any) -> dict[str, int]:
    return _pids_of_workers(cluster)


def _pids_of_workers(cluster: Any) -> dict[str, int]:
    """Each worker's process id, by the worker's address."""
    from distributed import Client

    with Client(cluster.scheduler_address, set_as_default=False) as client:
        pids: dict[str, int] = client.run(os.getpid)
    return pids


def _worker_pids(cluster: Any) -> list[int]:
    return list(_pids_of_workers(cluster).values())


def _worker_pid(cluster: Any) -> int:
    (pid,) = _worker_pids(cluster)
    return pid


def _dask(cluster: Any, **options: Any) -> RunOptions:
    return RunOptions(max_parallel=4, executor="dask", executor_options={"scheduler": cluster, **options})


#: Notebook code: ``worker_pid``, the Dask worker this kernel runs for (its parent, or its fork server's).
WORKER_PID = (
    "import os\n"
    "worker_pid = os.getppid()\n"
    "if b'kernels.forkserver' in open(f'/proc/{worker_pid}/cmdline', 'rb').read():\n"
    "    worker_pid = int(open(f'/proc/{worker_pid}/stat').read().rsplit(')', 1)[1].split()[1])"
)


def _processes_of(pids: Iterator[int] | list[int]) -> list[int]:
    """The live processes the Dask workers ``pids`` started, and theirs: kernels and fork servers."""
    found = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):  # a worker that is gone has none left
            found += [p.pid for p in psutil.Process(pid).children(recursive=True) if _alive(p.pid)]
    return found


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _control_flow_job(tmp_path: Path) -> Path:
    """Parallel branches, a condition picking one of two branches, and a for-each over a task value."""
    notebook(
        tmp_path / "produce.ipynb",
        "dbutils.jobs.taskValues.set('items', [1, 2, 3])\n"
        "dbutils.jobs.taskValues.set('accuracy', float(dbutils.widgets.get('accuracy')))",
    )
    notebook(
        tmp_path / "branch.ipynb",
        "items = dbutils.jobs.taskValues.get('produce', 'items')\n"
        "factor = int(dbutils.widgets.get('factor'))\n"
        "dbutils.jobs.taskValues.set('total', sum(items) * factor)",
    )
    notebook(
        tmp_path / "deploy.ipynb",
        "a = dbutils.jobs.taskValues.get('double', 'total')\n"
        "b = dbutils.jobs.taskValues.get('triple', 'total')\n"
        "dbutils.jobs.taskValues.set('deployed', {'a': a, 'b': b})\n"
        "dbutils.notebook.exit(dbutils.notebook.run('./announce', 60, {'total': str(a + b)}))",
    )
    notebook(tmp_path / "announce.ipynb", "dbutils.notebook.exit('deployed ' + dbutils.widgets.get('total'))")
    notebook(tmp_path / "alert.ipynb", "dbutils.jobs.taskValues.set('alerted', True)")
    # A Databricks source notebook with a %run: what travels to the workers is the converted notebook.
    databricks_source(tmp_path / "lib" / "helpers.py", "def square(x):\n    return x * x")
    databricks_source(
        tmp_path / "square.py",
        "# MAGIC %run ./lib/helpers",
        WORKER_PID,
        "x = int(dbutils.widgets.get('x'))\n"
        "dbutils.jobs.taskValues.set('square', square(x))\n"
        "dbutils.jobs.taskValues.set('worker', worker_pid)\n"
        "dbutils.jobs.taskValues.set('kernel', os.getpid())",
        # The first two iterations wait for each other: they must run at the same time, on both workers.
        "import time\nfrom jupyter_taskvalues.context import current_context\n"
        "from jupyter_taskvalues.store import RunStore\n"
        "ctx = current_context()\nstore = RunStore(ctx.runs_dir)\ndeadline = time.monotonic() + 60\n"
        "while len(store.list_iteration_values(ctx.run_id, ctx.task_key)) < 2:\n"
        "    assert time.monotonic() < deadline, 'the other iteration never ran alongside'\n"
        "    time.sleep(0.1)",
    )
    return job(
        tmp_path / "job.json",
        [
            nb_task("produce", "produce", base_parameters={"accuracy": "{{job.parameters.accuracy}}"}),
            nb_task("double", "branch", depends_on=["produce"], base_parameters={"factor": "2"}),
            nb_task("triple", "branch", depends_on=["produce"], base_parameters={"factor": "3"}),
            {
                "task_key": "good_enough",
                "depends_on": [{"task_key": "produce"}],
                "condition_task": {
                    "op": "GREATER_THAN",
                    "left": "{{tasks.produce.values.accuracy}}",
                    "right": "0.8",
                },
            },
            {
                **nb_task("deploy", "deploy", depends_on=["double", "triple"]),
                "depends_on": [
                    {"task_key": "double"},
                    {"task_key": "triple"},
                    {"task_key": "good_enough", "outcome": "true"},
                ],
            },
            {
                **nb_task("alert", "alert"),
                "depends_on": [{"task_key": "good_enough", "outcome": "false"}],
            },
            {
                "task_key": "squares",
                "depends_on": [{"task_key": "double"}, {"task_key": "triple"}],
                "for_each_task": {
                    "inputs": "{{tasks.produce.values.items}}",
                    "concurrency": 2,
                    "task": nb_task("square_it", "square", base_parameters={"x": "{{input}}"}),
                },
            },
        ],
        parameters=[{"name": "accuracy", "default": "0.9"}],
        name="cluster-job",
    )


def _shape(data: Any) -> Any:
    """The document's structure and values, without what differs from one run to the next."""
    varying = {"run_id", "created", "start_time", "end_time", "duration_seconds", "set_at", "output_notebook"}
    if isinstance(data, dict):
        return {k: _shape(v) for k, v in data.items() if k not in varying and k not in ("worker", "kernel")}
    if isinstance(data, list):
        return [_shape(v) for v in data]
    return data


@pytest.mark.slow
def test_a_job_runs_on_the_cluster_with_the_store_on_s3_as_it_runs_locally(
    tmp_path: Path, cluster: Any, s3_runs: str, worker_pids: dict[str, int]
) -> None:
    path = _control_flow_job(tmp_path)
    remote = run_job(path, runs_dir=s3_runs, options=_dask(cluster))
    local = run_job(path, runs_dir=tmp_path / "runs", options=RunOptions(max_parallel=2))

    errors = {k: t["error"] for k, t in remote["tasks"].items() if t["error"]}
    assert remote["state"] == "SUCCESS", errors
    assert _shape(remote) == _shape(local)
    tasks = remote["tasks"]
    assert tasks["deploy"]["values"] == {"deployed": {"a": 12, "b": 18}}
    assert tasks["deploy"]["exit_value"] == "deployed 30"
    # The child run the task made on its worker travels back with the result, kept in the bucket.
    [child] = tasks["deploy"]["notebook_runs"]
    assert (child["path"], child["state"], child["exit_value"]) == ("./announce", "SUCCESS", "deployed 30")
    assert child["output_notebook"] == f"{s3_runs}/{remote['run_id']}/notebooks/deploy.notebook_run.1.ipynb"
    assert tasks["alert"]["state"] == "EXCLUDED"
    assert [it["values"]["square"] for it in tasks["squares"]["iterations"]] == [1, 4, 9]
    # Each iteration was its own submission: they ran in kernels of both workers.
    workers = [it["values"]["worker"] for it in tasks["squares"]["iterations"]]
    assert set(workers) <= set(worker_pids.values()) and workers[0] != workers[1]
    # Executed notebooks are in the bucket, next to the values.
    store = RunStore(s3_runs)
    assert tasks["deploy"]["output_notebook"] == f"{s3_runs}/{remote['run_id']}/notebooks/deploy.ipynb"
    executed = store.read_notebook(remote["run_id"], "squares", 2)
    assert any("square" in "".join(c["source"]) for c in executed["cells"])
    assert store.read_run(remote["run_id"])["state"] == "SUCCESS"
    # Each kernel ran one notebook and was stopped after it (the workers keep only unused ones warm).
    kernels = [it["values"]["kernel"] for it in tasks["squares"]["iterations"]]
    assert len(set(kernels)) == 3
    _wait_for(lambda: not any(_alive(pid) for pid in kernels), 15, "the used kernels to stop")


@pytest.mark.slow
def test_notebooks_shipped_to_workers_run_without_shared_storage(
    tmp_path: Path, cluster: Any, s3_runs: str
) -> None:
    databricks_source(tmp_path / "lib.py", "GREETING = 'hello'")
    databricks_source(
        tmp_path / "task.py",
        "# MAGIC %md\n# MAGIC # Shipped",
        "# MAGIC %run ./lib",
        "import os\ndbutils.jobs.taskValues.set('greeting', GREETING + ' ' + dbutils.widgets.get('who'))\n"
        "dbutils.jobs.taskValues.set('cwd', os.getcwd())",
    )
    path = job(
        tmp_path / "job.json", [nb_task("t", "task", base_parameters={"who": "{{job.name}}"})], name="ship"
    )
    run = run_job(path, runs_dir=s3_runs, options=_dask(cluster, notebooks="ship", warm_kernels=0))
    task = run["tasks"]["t"]
    assert run["state"] == "SUCCESS", task["error"]
    assert task["values"]["greeting"] == "hello ship"
    assert task["values"]["cwd"] != str(tmp_path)  # a scratch folder on the worker, not the job's folder


@pytest.mark.slow
def test_a_worker_killed_mid_task_fails_the_attempt_and_the_retry_runs_elsewhere(
    tmp_path: Path, cluster: Any, s3_runs: str, worker_pids: dict[str, int]
) -> None:
    notebook(
        tmp_path / "victim.ipynb",
        WORKER_PID,
        "import time\n"
        "if dbutils.widgets.get('attempt') == '1':\n"
        "    dbutils.jobs.taskValues.set('worker', worker_pid)\n"
        "    time.sleep(120)\n"
        "dbutils.jobs.taskValues.set('done', dbutils.widgets.get('attempt'))",
    )
    path = job(
        tmp_path / "job.json",
        [nb_task("victim", "victim", base_parameters={"attempt": "{{task.execution_count}}"}, max_retries=1)],
    )
    store = RunStore(s3_runs)
    killed: list[int] = []
    orphans: list[int] = []

    def kill_the_worker() -> None:
        def worker_pid() -> int | None:
            for run_id in store.run_ids():
                with contextlib.suppress(LookupError, ValueError):
                    return int(store.get_value(run_id, "victim", "worker"))
            return None

        pid = _wait_for(worker_pid, 120, "the notebook to start on a worker")
        orphans.extend(_processes_of([pid]))  # the running kernel, the warm ones and the fork server
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_the_worker, daemon=True)
    killer.start()
    run = run_job(path, runs_dir=s3_runs, options=_dask(cluster))
    killer.join()

    task = run["tasks"]["victim"]
    assert killed and killed[0] in worker_pids.values()
    assert run["state"] == "SUCCESS", task["error"]
    first, second = task["attempts"]
    assert first["state"] == "FAILED"
    assert first["error"].startswith("Worker tcp://127.0.0.1:")
    assert "was lost while running task 'victim' (attempt 1)" in first["error"]
    assert second["state"] == "SUCCESS" and task["values"] == {"done": "2"}
    # The kernels of the dead worker did not outlive it.
    assert orphans
    _wait_for(lambda: not any(_alive(pid) for pid in orphans), 20, "the orphaned kernels to exit")
    _wait_for(lambda: len(cluster.scheduler_info["workers"]) == 2, 60, "the nanny to restart the worker")


@pytest.mark.slow
def test_a_lost_worker_fails_a_task_without_retries_with_a_clear_message(
    tmp_path: Path, cluster: Any, s3_runs: str
) -> None:
    notebook(
        tmp_path / "victim.ipynb",
        WORKER_PID,
        "import signal\ndbutils.jobs.taskValues.set('about_to', 'die')\nos.kill(worker_pid, signal.SIGKILL)",
    )
    notebook(tmp_path / "after.ipynb", "dbutils.jobs.taskValues.set('ran', True)")
    path = job(
        tmp_path / "job.json",
        [nb_task("victim", "victim"), nb_task("after", "after", depends_on=["victim"], run_if="ALL_DONE")],
    )
    run = run_job(path, runs_dir=s3_runs, options=_dask(cluster, warm_kernels=0))
    victim = run["tasks"]["victim"]
    assert run["state"] == "SUCCESS_WITH_FAILURES"  # the leaf, run_if ALL_DONE, succeeded
    assert victim["state"] == "FAILED" and len(victim["attempts"]) == 1
    assert "was lost while running task 'victim'" in victim["error"]
    assert victim["values"] == {"about_to": "die"}
    assert run["tasks"]["after"]["values"] == {"ran": True}
    _wait_for(lambda: len(cluster.scheduler_info["workers"]) == 2, 60, "the nanny to restart the worker")


@pytest.mark.slow
def test_cancel_stops_the_kernel_on_the_worker(tmp_path: Path, cluster: Any, s3_runs: str) -> None:
    notebook(
        tmp_path / "slow.ipynb",
        "import os, time\ndbutils.jobs.taskValues.set('kernel', os.getpid())\ntime.sleep(300)",
    )
    notebook(tmp_path / "after.ipynb", "dbutils.jobs.taskValues.set('ran', True)")
    path = job(
        tmp_path / "job.json", [nb_task("slow", "slow"), nb_task("after", "after", depends_on=["slow"])]
    )
    store = RunStore(s3_runs)

    async def main() -> dict[str, Any]:
        runners: list[JobRun] = []
        running = asyncio.ensure_future(
            async_run_job(path, runs_dir=s3_runs, options=_dask(cluster), on_created=runners.append)
        )

        def started() -> bool:
            return bool(runners) and bool(store.list_values(runners[0].run_id, "slow"))

        while not started():
            assert not running.done(), running
            await asyncio.sleep(0.2)
        runners[0].cancel()
        return await asyncio.wait_for(running, 60)

    began = time.monotonic()
    run = asyncio.run(main())
    assert time.monotonic() - began < 120
    assert run["state"] == "CANCELED"
    assert run["tasks"]["slow"]["state"] == "CANCELED"
    assert run["tasks"]["after"]["state"] == "UPSTREAM_CANCELED"
    kernel = run["tasks"]["slow"]["values"]["kernel"]
    _wait_for(lambda: not _alive(kernel), 15, "the sleeping kernel to stop on its worker")


def test_an_unreachable_scheduler_fails_each_task_with_a_message_naming_it(tmp_path: Path) -> None:
    notebook(tmp_path / "a.ipynb", "1")
    path = job(tmp_path / "job.json", [nb_task("a", "a")])
    options = RunOptions(
        executor="dask", executor_options={"scheduler": "tcp://127.0.0.1:9", "connect_timeout": 2}
    )
    run = run_job(path, runs_dir=tmp_path / "runs", options=options)
    assert run["state"] == "FAILED"
    assert run["tasks"]["a"]["error"].startswith("Cannot reach the Dask scheduler at tcp://127.0.0.1:9")


@pytest.mark.slow
def test_the_cli_runs_a_job_on_the_cluster_with_runs_on_s3(
    tmp_path: Path, cluster: Any, s3_runs: str
) -> None:
    notebook(tmp_path / "a.ipynb", "dbutils.jobs.taskValues.set('rows', 3)")
    notebook(
        tmp_path / "b.ipynb", "dbutils.jobs.taskValues.set('seen', dbutils.jobs.taskValues.get('a', 'rows'))"
    )
    path = job(tmp_path / "job.json", [nb_task("a", "a"), nb_task("b", "b", depends_on=["a"])])
    result = cli(
        "run",
        str(path),
        "--executor",
        "dask",
        "--scheduler",
        cluster.scheduler_address,
        "--runs-dir",
        s3_runs,
    )
    assert result.returncode == 0, result.stderr
    shown = cli("get", "latest", "b", "seen", "--runs-dir", s3_runs)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "3"


def test_the_cli_refuses_a_scheduler_without_the_dask_executor(tmp_path: Path) -> None:
    notebook(tmp_path / "a.ipynb", "1")
    path = job(tmp_path / "job.json", [nb_task("a", "a")])
    result = cli("run", str(path), "--scheduler", "tcp://127.0.0.1:8786")
    assert result.returncode == 2
    assert "add --executor dask" in result.stderr


def _who_job(tmp_path: Path, keys: list[str]) -> Path:
    """A chain of tasks, each recording its kernel's pid and the time that kernel's process started."""
    notebook(
        tmp_path / "who.ipynb",
        "import os, psutil\ndbutils.jobs.taskValues.set('kernel', os.getpid())\n"
        "dbutils.jobs.taskValues.set('started', psutil.Process().create_time())",
    )
    tasks = [nb_task(key, "who", depends_on=keys[:i][-1:]) for i, key in enumerate(keys)]
    return job(tmp_path / f"job-{len(keys)}.json", tasks)


@pytest.mark.slow
def test_a_worker_keeps_warm_kernels_for_the_next_run_and_each_runs_one_notebook(
    tmp_path: Path, one_worker: Any
) -> None:
    runs = tmp_path / "runs"
    first = run_job(_who_job(tmp_path, ["a"]), runs_dir=runs, options=_dask(one_worker))
    assert first["state"] == "SUCCESS", first["tasks"]["a"]["error"]
    submitted = time.time()
    second = run_job(_who_job(tmp_path, ["b", "c"]), runs_dir=runs, options=_dask(one_worker))
    assert second["state"] == "SUCCESS", {k: t["error"] for k, t in second["tasks"].items()}
    values = [second["tasks"][key]["values"] for key in ("b", "c")]
    # Both notebooks of the second run found a kernel started before the run was submitted ...
    assert all(v["started"] < submitted for v in values), (values, submitted)
    # ... and each kernel ran one notebook only.
    kernels = [first["tasks"]["a"]["values"]["kernel"], *(v["kernel"] for v in values)]
    assert len(set(kernels)) == 3


@pytest.mark.slow
def test_a_run_starts_kernels_on_every_worker_also_one_its_notebooks_do_not_reach(
    tmp_path: Path, two_workers: Any
) -> None:
    workers = _worker_pids(two_workers)
    assert not _processes_of(workers)
    run = run_job(_who_job(tmp_path, ["a"]), runs_dir=tmp_path / "runs", options=_dask(two_workers))
    assert run["state"] == "SUCCESS", run["tasks"]["a"]["error"]
    # One notebook ran, on one worker; both have kernels ready for what comes next.
    _wait_for(lambda: all(_processes_of([pid]) for pid in workers), 30, "both workers' kernels to start")


@pytest.mark.slow
@pytest.mark.parametrize("keep_warm", [0, 3])
def test_a_workers_warm_kernels_stop_when_the_run_ends_or_after_keep_warm_idle_seconds(
    tmp_path: Path, one_worker: Any, keep_warm: float
) -> None:
    worker = _worker_pid(one_worker)
    options = _dask(one_worker, keep_warm=keep_warm)
    run = run_job(_who_job(tmp_path, ["a"]), runs_dir=tmp_path / "runs", options=options)
    assert run["state"] == "SUCCESS", run["tasks"]["a"]["error"]
    if keep_warm:
        assert _processes_of([worker])  # ready for the next run, for a while
    _wait_for(lambda: not _processes_of([worker]), keep_warm + 15, "the warm kernels to stop")
    assert _alive(worker)


@pytest.mark.slow
def test_closing_the_cluster_stops_its_workers_warm_kernels(tmp_path: Path, one_worker: Any) -> None:
    worker = _worker_pid(one_worker)
    run = run_job(_who_job(tmp_path, ["a"]), runs_dir=tmp_path / "runs", options=_dask(one_worker))
    assert run["state"] == "SUCCESS", run["tasks"]["a"]["error"]
    warm = _processes_of([worker])
    assert warm
    one_worker.close()
    _wait_for(lambda: not any(_alive(pid) for pid in warm), 15, "the warm kernels to stop")


def test_a_run_on_the_cluster_logs_no_error_on_the_scheduler(
    tmp_path: Path, cluster: Any, caplog: pytest.LogCaptureFixture
) -> None:
    notebook(tmp_path / "a.ipynb", "dbutils.jobs.taskValues.set('x', 1)")
    path = job(tmp_path / "job.json", [nb_task("a", "a")])
    with caplog.at_level(logging.WARNING, logger="distributed"):
        run = run_job(path, runs_dir=tmp_path / "runs", options=_dask(cluster))
    assert run["state"] == "SUCCESS", run["tasks"]["a"]["error"]
    assert [r.getMessage() for r in caplog.records if r.name.startswith("distributed")] == []
