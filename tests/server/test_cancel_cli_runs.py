"""Runs started by the CLI in another process are canceled through the REST routes (a request in the store)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_taskvalues.store import RunStore
from tests.jobhelpers import interrupt, start_cli

from .conftest import Fetch, body
from .test_runs import finished, two_tasks, until


@pytest.fixture
def cli_run(jp_root_dir: Path, runs_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """``jupyter-taskvalues run pipeline.job.json`` in a subprocess: a long first task, then a second one."""
    two_tasks(jp_root_dir, first="import time\nprint('sleeping', flush=True)\ntime.sleep(300)")
    process = start_cli("run", "pipeline.job.json", "--runs-dir", str(runs_dir), cwd=jp_root_dir)
    yield process
    interrupt(process)


async def _running_cli_run(api: Fetch, store: RunStore, process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 120
    while not store.run_ids():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    run_id = store.run_ids()[0]
    await until(api, run_id, lambda d: d["tasks"]["first"]["state"] == "RUNNING")
    return run_id


async def _exit_code(process: subprocess.Popen[str], timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while (code := process.poll()) is None:
        assert time.monotonic() < deadline, "the CLI run did not end after the cancel"
        await asyncio.sleep(0.1)
    return code


async def test_a_run_the_cli_executes_is_canceled_through_delete_and_records_who_asked(
    api: Fetch, store: RunStore, cli_run: subprocess.Popen[str]
) -> None:
    run_id = await _running_cli_run(api, store, cli_run)
    assert run_id not in body(await api("runs"))["server_runs"]

    response = await api("runs", run_id, method="DELETE")

    assert response.code == 202
    assert body(response) == {"run_id": run_id, "state": "RUNNING"}
    document = await until(api, run_id, finished, timeout=60)
    assert document["state"] == "CANCELED"
    assert document["tasks"]["first"]["state"] == "CANCELED"
    assert "(jupyter-server on " in document["tasks"]["first"]["error"]
    assert document["tasks"]["second"]["state"] == "UPSTREAM_CANCELED"
    assert await _exit_code(cli_run) == 1  # the CLI's exit code of a run that did not succeed
    assert store.read_run(run_id)["cancel_request"]["via"] == "jupyter-server"
    again = await api("runs", run_id, method="DELETE")
    assert again.code == 409
    assert "has finished (CANCELED)" in body(again)["message"]


async def test_a_task_of_a_run_the_cli_executes_is_canceled_and_a_pending_one_is_409(
    api: Fetch, store: RunStore, cli_run: subprocess.Popen[str]
) -> None:
    run_id = await _running_cli_run(api, store, cli_run)
    pending = await api("runs", run_id, "tasks", "second", method="DELETE")
    assert pending.code == 409
    assert "Task 'second'" in body(pending)["message"] and "PENDING, not running" in body(pending)["message"]
    assert store.cancel_requests(run_id) == ([], [])  # a refused request is not written
    unknown = await api("runs", run_id, "tasks", "nope", method="DELETE")
    assert unknown.code == 404

    response = await api("runs", run_id, "tasks", "first", method="DELETE")

    assert response.code == 202
    assert body(response)["task_key"] == "first"
    document = await until(api, run_id, finished, timeout=60)
    assert document["tasks"]["first"]["state"] == "CANCELED"
    assert document["tasks"]["first"]["error"].startswith("The task was canceled by ")
    assert document["tasks"]["second"]["state"] == "UPSTREAM_CANCELED"
    assert await _exit_code(cli_run) == 1
