"""``jupyter-taskvalues cancel``: a run (or task) running in another terminal is canceled through the store."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_taskvalues.store import RunStore
from tests.jobhelpers import cli, interrupt, job, kernel_processes, nb_task, notebook, start_cli


@pytest.fixture
def running(tmp_path: Path, runs_dir: Path, store: RunStore) -> Iterator[subprocess.Popen[str]]:
    """A ``jupyter-taskvalues run --json`` in another process whose first task ``slow`` is running."""
    notebook(tmp_path / "slow.ipynb", "import time\nprint('sleeping', flush=True)\ntime.sleep(300)")
    notebook(tmp_path / "after.ipynb", "pass")
    path = job(
        tmp_path / "job.json", [nb_task("slow", "slow"), nb_task("after", "after", depends_on=["slow"])]
    )
    process = start_cli("run", str(path), "--json", env={"JUPYTER_TASKVALUES_RUNS_DIR": str(runs_dir)})
    deadline = time.monotonic() + 120
    while not (ids := store.run_ids()) or (store.read_task(ids[0], "slow") or {}).get("state") != "RUNNING":
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    yield process
    interrupt(process)


def test_cancel_latest_wait_cancels_the_run_another_terminal_runs(
    running: subprocess.Popen[str], runs_dir: Path
) -> None:
    result = cli("cancel", "latest", "--wait")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Asked the runner of run ") and lines[0].endswith(" to cancel it.")
    assert lines[-1].endswith(" ended CANCELED.")
    stdout, stderr = running.communicate(timeout=60)
    assert running.returncode == 1, stderr
    document = json.loads(stdout)
    assert document["state"] == "CANCELED"
    assert document["tasks"]["slow"]["error"].startswith("The run was canceled by ")
    assert "(cli on " in document["tasks"]["slow"]["error"]
    assert document["tasks"]["after"]["state"] == "UPSTREAM_CANCELED"
    assert kernel_processes(str(runs_dir)) == []
    again = cli("cancel", document["run_id"])
    assert again.returncode == 1
    assert again.stderr.strip() == (
        f"Run {document['run_id']!r} has finished (CANCELED); there is nothing to cancel."
    )


def test_cancel_task_cancels_only_a_running_task(running: subprocess.Popen[str], store: RunStore) -> None:
    run_id = store.run_ids()[0]
    pending = cli("cancel", run_id, "--task", "after")
    assert pending.returncode == 1
    assert "Task 'after' of run" in pending.stderr and "is PENDING, not running" in pending.stderr

    result = cli("cancel", run_id, "--task", "slow", "--wait")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"Task 'slow' of run {run_id} ended CANCELED."
    document = json.loads(running.communicate(timeout=60)[0])
    assert document["tasks"]["slow"]["state"] == "CANCELED"
    assert document["tasks"]["slow"]["error"].startswith("The task was canceled by ")


def test_cancel_of_an_unknown_run_or_task_exits_two_naming_it(running: subprocess.Popen[str]) -> None:
    unknown_run = cli("cancel", "20990101-000000-000-000000")
    unknown_task = cli("cancel", "latest", "--task", "nope")

    assert unknown_run.returncode == 2
    assert "No run '20990101-000000-000-000000'" in unknown_run.stderr
    assert unknown_task.returncode == 2
    assert "Task 'nope' is not part of run" in unknown_task.stderr
