"""Fields a job file writes that the loader ignores: the jobs route and the run document carry the warnings."""

from __future__ import annotations

from pathlib import Path

from tests.jobhelpers import job, nb_task, notebook

from .conftest import Fetch, body
from .test_runs import FINAL, post, until


async def test_jobs_route_lists_the_warnings_and_the_run_document_keeps_them(
    api: Fetch, jp_root_dir: Path
) -> None:
    notebook(jp_root_dir / "a.ipynb", "x = 1")
    job(jp_root_dir / "near.job.json", [nb_task("a", "a"), nb_task("b", "a", depend_on=["a"])])

    described = body(await api("jobs", params={"path": "near.job.json"}))

    assert described["problems"] == [] and [j["tasks"] for j in described["jobs"]] == [["a", "b"]]
    (warning,) = described["warnings"]
    assert warning.endswith(
        "tasks[1] (task_key 'b'): unknown field 'depend_on' is ignored; did you mean 'depends_on'?"
    )
    started = body(await post(api, "runs", data={"path": "near.job.json"}))
    document = await until(api, started["run_id"], lambda d: d["state"] in FINAL)
    assert document["state"] == "SUCCESS"
    assert document["warnings"] == [warning]


async def test_a_job_file_without_unknown_fields_has_no_warnings(api: Fetch, jp_root_dir: Path) -> None:
    notebook(jp_root_dir / "a.ipynb", "x = 1")
    job(jp_root_dir / "plain.job.json", [nb_task("a", "a")])

    described = body(await api("jobs", params={"path": "plain.job.json"}))

    assert described["warnings"] == [] and described["problems"] == []
