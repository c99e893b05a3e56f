"""A runner honours cancel requests written through the store by another process, with real kernels.

The request is written from a thread of the test, as another process would write it: the runner only sees the
file in the runs directory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_taskvalues import repair_run, run_job
from jupyter_taskvalues.store import RunStore
from tests.jobhelpers import job, nb_task, notebook

RUN_ID = "20261207-120000-000-c0ffee"


def _pipeline(root: Path, first: str) -> Path:
    notebook(root / "first.ipynb", first)
    notebook(root / "second.ipynb", "dbutils.jobs.taskValues.set('done', True)")
    return job(
        root / "pipeline.job.json",
        [nb_task("first", "first"), nb_task("second", "second", depends_on=["first"])],
        name="pipeline",
    )


def _when_running(store: RunStore, action: Callable[[], None]) -> threading.Thread:
    """Call ``action`` from another thread once task ``first`` of :data:`RUN_ID` is running."""

    def wait_then_act() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if store.has_run(RUN_ID) and (store.read_task(RUN_ID, "first") or {}).get("state") == "RUNNING":
                action()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=wait_then_act, daemon=True)
    thread.start()
    return thread


def test_a_task_cancel_request_cancels_that_task_within_a_second_and_records_who_asked(
    tmp_path: Path, runs_dir: Path, store: RunStore
) -> None:
    path = _pipeline(tmp_path, "import time\nprint('sleeping', flush=True)\ntime.sleep(300)")
    asked: list[float] = []

    def ask() -> None:
        asked.append(time.monotonic())
        store.request_cancel(RUN_ID, "first", requested_by="ada", via="cli")

    thread = _when_running(store, ask)
    run = run_job(path, runs_dir=runs_dir, run_id=RUN_ID)
    ended = time.monotonic()
    thread.join(5)

    first = run["tasks"]["first"]
    assert first["state"] == "CANCELED"
    assert first["error"].startswith("The task was canceled by ada (cli on ")
    assert run["tasks"]["second"]["state"] == "UPSTREAM_CANCELED"
    assert ended - asked[0] < 10, "the kernel should be stopped soon after the request"
    record = store.read_task(RUN_ID, "first")
    assert record is not None and record["cancel_request"]["requested_by"] == "ada"
    assert store.cancel_requests(RUN_ID) == ([], [])  # the runner removed the request it handled


def test_a_garbage_request_file_is_ignored_with_a_warning_and_the_run_goes_on(
    tmp_path: Path, runs_dir: Path, store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    path = _pipeline(tmp_path, "import time\ntime.sleep(2)\ndbutils.jobs.taskValues.set('slept', True)")

    def write_garbage() -> None:
        store._write_request(RUN_ID, "cancel.json", "\x00\x01 not a request")

    thread = _when_running(store, write_garbage)
    with caplog.at_level(logging.WARNING, logger="jupyter_taskvalues.store._base"):
        run = run_job(path, runs_dir=runs_dir, run_id=RUN_ID)
    thread.join(5)

    assert run["state"] == "SUCCESS"
    assert run["tasks"]["first"]["values"] == {"slept": True}
    assert [r.getMessage() for r in caplog.records if "not a cancel request" in r.getMessage()] == [
        f"Ignoring request file cancel.json of run {RUN_ID}: it is not a cancel request (write requests "
        "with `jupyter-taskvalues cancel`)."
    ]
    assert not (runs_dir / RUN_ID / "requests" / "cancel.json").exists()  # read once, then removed


def test_a_stale_request_on_a_finished_run_changes_nothing_and_does_not_cancel_its_repair(
    tmp_path: Path, runs_dir: Path, store: RunStore
) -> None:
    path = _pipeline(tmp_path, "raise RuntimeError('not yet')")
    failed = run_job(path, runs_dir=runs_dir, run_id=RUN_ID)
    assert failed["state"] == "FAILED"

    store.request_cancel(RUN_ID)  # too late: nobody runs the run any more
    assert store.read_run(RUN_ID)["state"] == "FAILED"
    notebook(tmp_path / "first.ipynb", "import time\ntime.sleep(1)\ndbutils.jobs.taskValues.set('fixed', 1)")
    repaired = repair_run(RUN_ID, runs_dir=runs_dir)

    assert repaired["state"] == "SUCCESS"
    assert repaired["tasks"]["first"]["values"] == {"fixed": 1}
    assert store.read_run(RUN_ID)["cancel_request"] is None
    assert store.cancel_requests(RUN_ID) == ([], [])  # the repair's runner dropped the stale request
