"""Runs started, followed, canceled and repaired through the REST API, with real kernels in the server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.store import RunStore
from tests.jobhelpers import job, nb_task, notebook

from .conftest import Fetch, body

FINAL = {"SUCCESS", "FAILED", "CANCELED", "TIMEDOUT", "SUCCESS_WITH_FAILURES", "INTERRUPTED"}


async def post(api: Fetch, *parts: str, data: Any = None) -> Any:
    return await api(*parts, method="POST", body=json.dumps(data if data is not None else {}))


async def until(api: Fetch, run_id: str, done: Any, *, timeout: float = 120) -> dict[str, Any]:
    """Poll the run document until ``done(document)`` holds; return it."""
    deadline = time.monotonic() + timeout
    while True:
        document: dict[str, Any] = body(await api("runs", run_id))
        if done(document):
            return document
        assert time.monotonic() < deadline, f"run {run_id} is still {document['state']}"
        await asyncio.sleep(0.2)


def kernels_of_this_process() -> list[str]:
    """The command lines of kernel processes (spawned or forked) descending from this test process."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [os.getpid()]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid:
                frontier.append(child)
                with contextlib.suppress(OSError):
                    cmdline = (
                        (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    )
                    if "ipykernel" in cmdline:
                        found.append(cmdline)
    return found


async def no_kernel_left(timeout: float = 15) -> list[str]:
    """Wait until no kernel descends from this process (they are shut down off the critical path)."""
    deadline = time.monotonic() + timeout
    while (left := kernels_of_this_process()) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    return left


def finished(document: dict[str, Any]) -> bool:
    return document["state"] in FINAL


def two_tasks(root: Path, *, first: str, second: str = "dbutils.jobs.taskValues.set('done', True)") -> Path:
    notebook(root / "first.ipynb", first)
    notebook(root / "second.ipynb", second)
    return job(
        root / "pipeline.job.json",
        [nb_task("first", "first"), nb_task("second", "second", depends_on=["first"])],
        name="pipeline",
        parameters=[{"name": "greeting", "default": "hello"}],
    )


async def test_a_run_started_through_the_api_runs_to_success_with_its_parameters(
    api: Fetch, jp_root_dir: Path
) -> None:
    two_tasks(
        jp_root_dir,
        first="g = dbutils.widgets.get('greeting')\nprint('said', g)\ndbutils.jobs.taskValues.set('said', g)",
    )

    response = await post(
        api, "runs", data={"path": "pipeline.job.json", "parameters": {"greeting": "<b>hi</b>"}}
    )

    assert response.code == 201
    started = body(response)
    assert started["state"] in ("PENDING", "RUNNING")
    document = await until(api, started["run_id"], finished)
    assert document["state"] == "SUCCESS", document["tasks"]["first"]["error"]
    assert document["parameters"]["greeting"] == "<b>hi</b>"
    assert document["tasks"]["first"]["values"] == {"said": "<b>hi</b>"}
    output = body(await api("runs", started["run_id"], "tasks", "first", "output"))
    assert output["state"] == "SUCCESS"
    assert "said <b>hi</b>" in output["lines"]
    assert output["error"] is None


async def test_the_output_of_a_running_task_streams_before_it_ends(api: Fetch, jp_root_dir: Path) -> None:
    two_tasks(
        jp_root_dir, first="import time\nfor i in range(3):\n    print('tick', i, flush=True)\ntime.sleep(60)"
    )
    run_id = body(await post(api, "runs", data={"path": "pipeline.job.json"}))["run_id"]

    deadline = time.monotonic() + 90
    while True:
        output = body(await api("runs", run_id, "tasks", "first", "output", params={"tail": "2"}))
        if output["lines"][-1:] == ["tick 2"]:
            break
        assert time.monotonic() < deadline, output
        await asyncio.sleep(0.2)

    assert output["state"] == "RUNNING"
    assert output["lines"] == ["tick 1", "tick 2"]
    assert output["truncated"] is True
    assert (await api("runs", run_id, method="DELETE")).code == 202
    await until(api, run_id, finished)


async def test_canceling_a_long_task_cancels_its_dependants_and_frees_its_kernel(
    api: Fetch, jp_root_dir: Path
) -> None:
    two_tasks(jp_root_dir, first="import time\nprint('sleeping', flush=True)\ntime.sleep(300)")
    run_id = body(await post(api, "runs", data={"path": "pipeline.job.json"}))["run_id"]
    await until(api, run_id, lambda d: d["tasks"]["first"]["state"] == "RUNNING")
    assert kernels_of_this_process(), "the task's kernel should run under the server"
    not_running = await api("runs", run_id, "tasks", "second", method="DELETE")
    assert not_running.code == 409
    assert "second" in body(not_running)["message"]
    still_running = await post(api, "runs", run_id, "repair")
    assert still_running.code == 409

    response = await api("runs", run_id, "tasks", "first", method="DELETE")

    assert response.code == 202
    assert body(response)["task_key"] == "first"
    document = await until(api, run_id, finished, timeout=60)
    assert document["tasks"]["first"]["state"] == "CANCELED"
    assert document["tasks"]["second"]["state"] == "UPSTREAM_CANCELED"
    assert document["state"] == "CANCELED"
    assert await no_kernel_left() == []
    again = await api("runs", run_id, "tasks", "first", method="DELETE")
    assert again.code == 409


async def test_canceling_a_run_records_it_canceled_and_a_finished_run_cannot_be_canceled(
    api: Fetch, jp_root_dir: Path
) -> None:
    two_tasks(jp_root_dir, first="import time\ntime.sleep(300)")
    run_id = body(await post(api, "runs", data={"path": "pipeline.job.json"}))["run_id"]
    await until(api, run_id, lambda d: d["tasks"]["first"]["state"] == "RUNNING")
    assert body(await api("runs"))["server_runs"] == [run_id]

    response = await api("runs", run_id, method="DELETE")

    assert response.code == 202
    assert body(response)["run_id"] == run_id
    document = await until(api, run_id, finished, timeout=60)
    assert document["state"] == "CANCELED"
    assert document["tasks"]["first"]["state"] == "CANCELED"
    again = await api("runs", run_id, method="DELETE")
    assert again.code == 409
    assert "finished" in body(again)["message"]
    assert body(await api("runs"))["server_runs"] == []


async def test_a_failed_run_shows_the_failing_cell_and_is_repaired_after_the_notebook_is_fixed(
    api: Fetch, jp_root_dir: Path
) -> None:
    two_tasks(jp_root_dir, first="x = 1", second="raise ValueError('no rows in ' + 'census')")
    run_id = body(await post(api, "runs", data={"path": "pipeline.job.json"}))["run_id"]
    failed = await until(api, run_id, finished)
    assert failed["state"] == "FAILED"
    output = body(await api("runs", run_id, "tasks", "second", "output"))
    assert output["error"]["ename"] == "ValueError"
    assert output["error"]["evalue"] == "no rows in census"
    assert output["error"]["cell_source"] == "raise ValueError('no rows in ' + 'census')"
    assert any("ValueError" in line for line in output["error"]["traceback"])
    notebook(jp_root_dir / "second.ipynb", "dbutils.jobs.taskValues.set('fixed', 1)")

    response = await post(api, "runs", run_id, "repair")

    assert response.code == 202
    assert body(response)["tasks"] == ["second"]
    repaired = await until(api, run_id, lambda d: finished(d) and d.get("repair_count") == 1)
    assert repaired["state"] == "SUCCESS"
    assert repaired["tasks"]["second"]["values"] == {"fixed": 1}
    assert repaired["tasks"]["first"]["attempts"] == failed["tasks"]["first"]["attempts"]


async def test_run_again_starts_a_new_run_with_the_same_job_and_changed_parameters(
    api: Fetch, jp_root_dir: Path
) -> None:
    two_tasks(jp_root_dir, first="dbutils.jobs.taskValues.set('said', dbutils.widgets.get('greeting'))")
    first = body(await post(api, "runs", data={"path": "pipeline.job.json", "parameters": {"greeting": "a"}}))
    await until(api, first["run_id"], finished)

    response = await post(api, "runs", first["run_id"], "rerun", data={"parameters": {"greeting": "b"}})

    assert response.code == 201
    second = await until(api, body(response)["run_id"], finished)
    assert second["run_id"] != first["run_id"]
    assert second["tasks"]["first"]["values"] == {"said": "b"}


async def test_a_job_file_that_does_not_validate_is_refused_with_its_problems_and_nothing_starts(
    api: Fetch, jp_root_dir: Path, store: RunStore
) -> None:
    notebook(jp_root_dir / "a.ipynb", "x = 1")
    job(jp_root_dir / "bad.job.json", [nb_task("a", "a", depends_on=["ingets"])])

    response = await post(api, "runs", data={"path": "bad.job.json"})

    assert response.code == 400
    problems = body(response)["problems"]
    assert any("ingets" in problem for problem in problems)
    assert store.count_runs() == 0
    described = body(await api("jobs", params={"path": "bad.job.json"}))
    assert described["jobs"] == []
    assert any("ingets" in problem for problem in described["problems"])


async def test_an_unknown_parameter_is_refused_before_the_run_starts(
    api: Fetch, jp_root_dir: Path, store: RunStore
) -> None:
    two_tasks(jp_root_dir, first="x = 1")

    response = await post(api, "runs", data={"path": "pipeline.job.json", "parameters": {"greting": "x"}})

    assert response.code == 400
    assert "greting" in body(response)["message"]
    assert store.count_runs() == 0


@pytest.mark.parametrize(
    ("path", "status"),
    [("../outside.job.json", 400), ("/etc/passwd", 400), ("missing.job.json", 404), ("", 400)],
)
async def test_a_job_path_outside_the_root_or_missing_is_refused(
    api: Fetch, jp_root_dir: Path, path: str, status: int
) -> None:
    (jp_root_dir.parent / "outside.job.json").write_text("{}")

    assert (await post(api, "runs", data={"path": path})).code == status
    assert (await api("jobs", params={"path": path or "x/../.."})).code in (400, 404)


@pytest.mark.parametrize(
    "data",
    [[1], {"path": 3}, {"path": "p.json", "parameters": {"a": {"b": 1}}}, {"path": "p.json", "job": ""}],
)
async def test_a_malformed_body_is_a_400(api: Fetch, data: Any) -> None:
    response = await post(api, "runs", data=data)

    assert response.code == 400
    assert body(response)["message"]


async def test_actions_on_an_unknown_run_are_404(api: Fetch) -> None:
    unknown = "20261129-040000-000-ffffff"

    assert (await api("runs", unknown, method="DELETE")).code == 404
    assert (await api("runs", unknown, "tasks", "a", method="DELETE")).code == 404
    assert (await post(api, "runs", unknown, "repair")).code == 404
    assert (await post(api, "runs", unknown, "rerun")).code == 404
    assert (await api("runs", unknown, "tasks", "a", "output")).code == 404


async def test_a_post_authenticated_by_cookie_without_an_xsrf_token_is_refused(
    api: Fetch,
    jp_root_dir: Path,
    store: RunStore,
    http_server_client: Any,
    jp_base_url: str,
    jp_serverapp: Any,
) -> None:
    two_tasks(jp_root_dir, first="x = 1")
    token = jp_serverapp.identity_provider.token
    login = await http_server_client.fetch(
        f"{jp_base_url}login?token={token}", follow_redirects=False, raise_error=False
    )
    cookies = "; ".join(c.split(";")[0] for c in login.headers.get_list("Set-Cookie"))
    reading = await http_server_client.fetch(
        f"{jp_base_url}taskvalues/api/runs", headers={"Cookie": cookies}, raise_error=False
    )
    assert reading.code == 200  # the cookie alone authenticates a GET

    response = await http_server_client.fetch(
        f"{jp_base_url}taskvalues/api/runs",
        method="POST",
        body=json.dumps({"path": "pipeline.job.json"}),
        headers={"Cookie": cookies},
        raise_error=False,
    )

    assert response.code == 403
    assert store.count_runs() == 0
    page = await http_server_client.fetch(f"{jp_base_url}login", raise_error=False)  # a page sets _xsrf
    xsrf_cookie = next(c.split(";")[0] for c in page.headers.get_list("Set-Cookie") if c.startswith("_xsrf="))
    cookies = f"{cookies}; {xsrf_cookie}"
    xsrf = xsrf_cookie.split("=", 1)[1]
    with_token = await http_server_client.fetch(
        f"{jp_base_url}taskvalues/api/runs",
        method="POST",
        body=json.dumps({"path": "pipeline.job.json"}),
        headers={"Cookie": cookies, "X-XSRFToken": xsrf},
        raise_error=False,
    )
    assert with_token.code == 201  # the same request with the XSRF token (as JupyterLab sends it) starts
    await until(api, body(with_token)["run_id"], finished)


async def test_stopping_the_server_cancels_running_runs_and_leaves_no_kernel(
    api: Fetch, jp_root_dir: Path, jp_serverapp: Any, store: RunStore
) -> None:
    two_tasks(jp_root_dir, first="import time\ntime.sleep(300)")
    run_id = body(await post(api, "runs", data={"path": "pipeline.job.json"}))["run_id"]
    await until(api, run_id, lambda d: d["tasks"]["first"]["state"] == "RUNNING")
    extension = jp_serverapp.extension_manager.extension_points["taskvalues"].app

    await extension.stop_extension()

    assert store.read_run(run_id)["state"] == "CANCELED"
    assert store.read_task(run_id, "first")["state"] == "CANCELED"
    assert await no_kernel_left() == []


async def test_a_link_that_leads_out_of_the_root_is_refused_and_not_read(
    api: Fetch, jp_root_dir: Path, store: RunStore
) -> None:
    two_tasks(jp_root_dir.parent, first="x = 1")
    (jp_root_dir / "linked.job.json").symlink_to(jp_root_dir.parent / "pipeline.job.json")

    started = await post(api, "runs", data={"path": "linked.job.json"})
    described = await api("jobs", params={"path": "linked.job.json"})

    assert (started.code, described.code) == (400, 400)
    assert "outside" in body(described)["message"]
    assert store.count_runs() == 0


async def test_repairing_an_unknown_task_is_a_400_and_the_run_is_left_as_it_was(
    api: Fetch, jp_root_dir: Path
) -> None:
    two_tasks(jp_root_dir, first="x = 1")
    run_id = body(await post(api, "runs", data={"path": "pipeline.job.json"}))["run_id"]
    done = await until(api, run_id, finished)

    response = await post(api, "runs", run_id, "repair", data={"tasks": ["frist"]})

    assert response.code == 400
    assert "frist" in body(response)["message"]
    after = body(await api("runs", run_id))
    assert (after["state"], after.get("repair_count", 0)) == (done["state"], 0)
    assert (await post(api, "runs", run_id, "repair", data={"tasks": "first"})).code == 400


async def test_two_repairs_of_one_run_at_once_start_one(api: Fetch, jp_root_dir: Path) -> None:
    two_tasks(jp_root_dir, first="raise RuntimeError('first attempt')")
    run_id = body(await post(api, "runs", data={"path": "pipeline.job.json"}))["run_id"]
    await until(api, run_id, finished)

    responses = await asyncio.gather(post(api, "runs", run_id, "repair"), post(api, "runs", run_id, "repair"))

    assert sorted(r.code for r in responses) == [202, 409]
    repaired = await until(api, run_id, lambda d: finished(d) and d.get("repair_count") == 1)
    assert repaired["tasks"]["first"]["state"] == "FAILED"
    assert len(repaired["tasks"]["first"]["history"]) == 1
