"""The REST API over a runs directory on S3 (moto on loopback): ``TaskValuesExtension.runs_dir`` is a URL.

The run is made by the runner (local executor) with its store on S3, so executed notebooks reach the bucket
through the store's staging files, and the API serves them from there.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from jupyter_taskvalues import run_job
from jupyter_taskvalues.jobs.scheduler import RunOptions
from jupyter_taskvalues.store import RunStore
from tests.jobhelpers import job, nb_task, notebook

from .conftest import Fetch, body

pytest_plugins = ["tests.s3.fixtures"]


@pytest.fixture(scope="module")
def s3_runs(s3_endpoint: str) -> str:
    """One bucket for the module: the job run below is made once."""
    import s3fs

    bucket = f"served-{secrets.token_hex(6)}"
    s3fs.S3FileSystem().mkdir(bucket)
    return f"s3://{bucket}/runs"


@pytest.fixture
def jp_server_config(s3_runs: str) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_taskvalues": True},
            "allow_unauthenticated_access": False,
        },
        "TaskValuesExtension": {"runs_dir": s3_runs},
    }


@pytest.fixture(scope="module")
def s3_run(tmp_path_factory: pytest.TempPathFactory, s3_runs: str) -> dict[str, Any]:
    """A finished run of a job with a notebook task and a two-iteration for-each, stored on S3."""
    tmp_path = tmp_path_factory.mktemp("s3-job")
    notebook(tmp_path / "ingest.ipynb", "dbutils.jobs.taskValues.set('rows', 1204)\nprint('ingested')")
    notebook(
        tmp_path / "score.ipynb", "dbutils.jobs.taskValues.set('score', int(dbutils.widgets.get('x')) * 10)"
    )
    path = job(
        tmp_path / "job.json",
        [
            nb_task("ingest", "ingest"),
            {
                "task_key": "scores",
                "depends_on": [{"task_key": "ingest"}],
                "for_each_task": {
                    "inputs": "[1, 2]",
                    "concurrency": 2,
                    "task": nb_task("score_it", "score", base_parameters={"x": "{{input}}"}),
                },
            },
        ],
        name="on-s3",
    )
    run = run_job(path, runs_dir=s3_runs, options=RunOptions(max_parallel=2))
    assert run["state"] == "SUCCESS", {k: t["error"] for k, t in run["tasks"].items()}
    return run


async def test_runs_and_the_run_document_are_read_from_s3(
    api: Fetch, s3_run: dict[str, Any], s3_runs: str
) -> None:
    listing = body(await api("runs"))
    assert listing["runs_dir"] == s3_runs
    assert {r["run_id"]: r["state"] for r in listing["runs"]}[s3_run["run_id"]] == "SUCCESS"

    response = await api("runs", s3_run["run_id"])
    document = body(response)
    assert response.code == 200
    assert document == s3_run
    assert document["tasks"]["ingest"]["values"] == {"rows": 1204}
    assert [it["values"] for it in document["tasks"]["scores"]["iterations"]] == [
        {"score": 10},
        {"score": 20},
    ]
    unchanged = await api("runs", s3_run["run_id"], headers={"If-None-Match": response.headers["Etag"]})
    assert unchanged.code == 304

    values = body(await api("runs", s3_run["run_id"], "values"))
    assert values["values"]["ingest"]["rows"]["value"] == 1204


async def test_the_etag_of_a_run_on_s3_changes_when_a_value_is_set(api: Fetch, s3_runs: str) -> None:
    store = RunStore(s3_runs)
    run_id = store.create_run(job_name="watched", tasks={"t": {"type": "notebook"}})
    store.set_value(run_id, "t", "rows", 1)
    first = await api("runs", run_id)
    store.set_value(run_id, "t", "late", True)
    second = await api("runs", run_id, headers={"If-None-Match": first.headers["Etag"]})
    assert second.code == 200
    assert body(second)["tasks"]["t"]["values"] == {"late": True, "rows": 1}


async def test_executed_notebooks_on_s3_are_served_as_json(
    api: Fetch, s3_run: dict[str, Any], s3_runs: str
) -> None:
    run_id = s3_run["run_id"]
    assert s3_run["tasks"]["ingest"]["output_notebook"] == f"{s3_runs}/{run_id}/notebooks/ingest.ipynb"

    data = body(await api("runs", run_id, "tasks", "ingest", "notebook"))
    assert (data["name"], data["path"]) == ("ingest.ipynb", None)
    outputs = [o for cell in data["notebook"]["cells"] for o in cell.get("outputs", [])]
    assert any("ingested" in "".join(o.get("text", "")) for o in outputs)

    iteration = body(await api("runs", run_id, "tasks", "scores", "notebook", params={"iteration": "1"}))
    assert iteration["name"] == "scores@1.ipynb"
    assert iteration["notebook"]["cells"]


async def test_an_unknown_run_on_s3_is_a_404(api: Fetch, s3_runs: str) -> None:
    response = await api("runs", "20990101-000000-000-ffffff")
    assert response.code == 404
    assert "No run" in body(response)["message"]
