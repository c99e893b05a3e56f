"""The child runs of ``dbutils.notebook.run`` in the run document ``GET runs/{id}`` returns."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_taskvalues.store import RunStore
from tests.jobhelpers import databricks_source, job, nb_task

from .conftest import Fetch, body
from .test_runs import finished, post, until

CHILD = {
    "number": 1,
    "path": "./child",
    "arguments": {"n": "4"},
    "state": "SUCCESS",
    "exit_value": "8",
    "error": None,
    "start_time": "2026-11-29T04:47:35.300Z",
    "end_time": "2026-11-29T04:47:36.300Z",
    "output_notebook": "/runs/r/notebooks/ingest.notebook_run.1.ipynb",
}


async def test_the_run_document_lists_each_tasks_child_runs_and_none_for_a_task_without(
    api: Fetch, store: RunStore, make_run: Callable[..., str]
) -> None:
    run_id = make_run()
    store.write_task(run_id, "ingest", {**store.read_task(run_id, "ingest"), "notebook_runs": [CHILD]})

    document = body(await api("runs", run_id))

    assert document["tasks"]["ingest"]["notebook_runs"] == [CHILD]
    assert (
        document["tasks"]["train"]["notebook_runs"] == []
    )  # a task not run yet: the key is there all the same


@pytest.mark.slow
async def test_a_run_started_through_the_api_returns_the_child_runs_its_task_made(
    api: Fetch, jp_root_dir: Path
) -> None:
    databricks_source(jp_root_dir / "child.py", "dbutils.notebook.exit(dbutils.widgets.get('n') * 2)")
    databricks_source(jp_root_dir / "caller.py", "dbutils.notebook.run('./child', 60, {'n': 'ab'})")
    job(jp_root_dir / "calls.job.json", [nb_task("caller", "caller")])

    run_id = body(await post(api, "runs", data={"path": "calls.job.json"}))["run_id"]
    document = await until(api, run_id, finished)

    task = document["tasks"]["caller"]
    assert document["state"] == "SUCCESS", task["error"]
    [child] = task["notebook_runs"]
    assert (child["path"], child["arguments"], child["state"], child["exit_value"]) == (
        "./child",
        {"n": "ab"},
        "SUCCESS",
        "abab",
    )
    assert Path(child["output_notebook"]).is_file()
