"""The REST API of the server extension, against a real in-process Jupyter Server (pytest-jupyter)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.server import TaskValuesExtension
from jupyter_taskvalues.server.app import SETTINGS_KEY
from jupyter_taskvalues.server.handlers import ROUTES, TaskValuesHandler
from jupyter_taskvalues.store import RunStore

from .conftest import Fetch, body

MakeRun = Callable[..., str]


# -- runs ----


async def test_runs_lists_summaries_newest_first_with_total(api: Fetch, make_run: MakeRun) -> None:
    older = make_run(run_id="20261129-040000-000-aaaaaa", job_name="old")
    newer = make_run(run_id="20261129-050000-000-bbbbbb", job_name="new", state="RUNNING")

    response = await api("runs")

    assert response.code == 200
    data = body(response)
    assert data["total"] == 2
    assert [r["run_id"] for r in data["runs"]] == [newer, older]
    first = data["runs"][0]
    assert first["job_name"] == "new"
    assert first["state"] == "RUNNING"
    assert first["task_count"] == 2
    assert "tasks" not in first


async def test_runs_of_an_empty_runs_directory_is_an_empty_page(api: Fetch, runs_dir: Path) -> None:
    data = body(await api("runs"))

    assert data == {
        "runs": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
        "runs_dir": str(runs_dir),
        "server_runs": [],
    }


async def test_runs_limit_and_offset_page_through_the_list(api: Fetch, make_run: MakeRun) -> None:
    ids = [make_run(run_id=f"20261129-0{i}0000-000-cccccc") for i in range(5)]
    newest_first = list(reversed(ids))

    page = body(await api("runs", params={"limit": "2", "offset": "1"}))

    assert [r["run_id"] for r in page["runs"]] == newest_first[1:3]
    assert page["total"] == 5
    assert (page["limit"], page["offset"]) == (2, 1)
    past_the_end = body(await api("runs", params={"offset": "10"}))
    assert past_the_end["runs"] == []
    assert past_the_end["total"] == 5


@pytest.mark.parametrize(
    ("name", "value"),
    [("limit", "-1"), ("limit", "abc"), ("limit", "100000"), ("offset", "-3"), ("offset", "1.5")],
)
async def test_runs_rejects_a_bad_page_argument_with_400(api: Fetch, name: str, value: str) -> None:
    response = await api("runs", params={name: value})

    assert response.code == 400
    assert name in body(response)["message"]


# -- one run ----


async def test_run_returns_the_run_document(api: Fetch, make_run: MakeRun) -> None:
    run_id = make_run(values={"rows": 1204, "html": "<b>x</b>"})

    response = await api("runs", run_id)

    assert response.code == 200
    doc = body(response)
    assert doc["run_id"] == run_id
    assert doc["job_name"] == "income"
    assert doc["value_count"] == 2
    assert doc["tasks"]["ingest"]["values"] == {"html": "<b>x</b>", "rows": 1204}
    assert doc["tasks"]["ingest"]["value_info"]["rows"]["size"] == 4
    assert doc["tasks"]["train"]["depends_on"] == [{"task_key": "ingest", "outcome": None}]
    assert doc["tasks"]["train"]["state"] == "PENDING"


async def test_run_of_an_unknown_id_is_404_json(api: Fetch) -> None:
    response = await api("runs", "20261129-000000-000-ffffff")

    assert response.code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert "No run '20261129-000000-000-ffffff'" in body(response)["message"]


async def test_run_answers_304_while_unchanged_and_200_after_a_value_is_set(
    api: Fetch, make_run: MakeRun, store: RunStore
) -> None:
    run_id = make_run(state="RUNNING")
    first = await api("runs", run_id)
    etag = first.headers["Etag"]

    unchanged = await api("runs", run_id, headers={"If-None-Match": etag})
    store.set_value(run_id, "ingest", "late", [1, 2, 3])
    changed = await api("runs", run_id, headers={"If-None-Match": etag})

    assert unchanged.code == 304
    assert unchanged.body == b""
    assert changed.code == 200
    assert changed.headers["Etag"] != etag
    assert body(changed)["tasks"]["ingest"]["values"]["late"] == [1, 2, 3]


async def test_run_document_is_served_again_unread_until_the_run_changes(
    api: Fetch, make_run: MakeRun, store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_taskvalues.server import handlers

    run_id = make_run(state="RUNNING")
    reads: list[str] = []
    original = handlers.run_document_json

    def counted(store: RunStore, run_id: str, fragments: Any = None) -> bytes:
        reads.append(run_id)
        return original(store, run_id, fragments)

    monkeypatch.setattr(handlers, "run_document_json", counted)
    first, again = await api("runs", run_id), await api("runs", run_id)  # no If-None-Match: a plain client
    store.set_value(run_id, "ingest", "late", {"rows": 3})
    changed = await api("runs", run_id)

    assert first.body == again.body
    assert first.headers["Content-Type"].startswith("application/json")
    assert body(changed)["tasks"]["ingest"]["values"]["late"] == {"rows": 3}
    assert reads == [run_id, run_id]  # the unchanged run was not read a second time


async def test_run_etag_changes_when_a_task_record_changes(
    api: Fetch, make_run: MakeRun, store: RunStore
) -> None:
    run_id = make_run(state="RUNNING")
    etag = (await api("runs", run_id)).headers["Etag"]

    store.write_task(run_id, "train", {"state": "RUNNING", "start_time": "2026-11-29T04:48:00.000Z"})
    response = await api("runs", run_id, headers={"If-None-Match": etag})

    assert response.code == 200
    assert body(response)["tasks"]["train"]["state"] == "RUNNING"


async def test_values_returns_every_task_values_with_metadata(api: Fetch, make_run: MakeRun) -> None:
    run_id = make_run(values={"rows": 1204})

    data = body(await api("runs", run_id, "values"))

    assert data["run_id"] == run_id
    assert data["values"]["train"] == {}
    record = data["values"]["ingest"]["rows"]
    assert record["value"] == 1204
    assert record["size"] == 4
    assert record["attempt"] == 1
    assert record["set_at"].endswith("Z")


async def test_values_of_an_unknown_run_is_404(api: Fetch) -> None:
    response = await api("runs", "nope", "values")

    assert response.code == 404


# -- tasks ----


async def test_task_returns_one_task_document(api: Fetch, make_run: MakeRun) -> None:
    run_id = make_run()

    response = await api("runs", run_id, "tasks", "ingest")

    assert response.code == 200
    doc = body(response)
    assert doc["task_key"] == "ingest"
    assert doc["state"] == "SUCCESS"
    assert doc["parameters"] == {"source": "census"}
    assert doc["exit_value"] == "ok"
    assert doc["values"] == {"rows": 1204, "table": "income_clean"}
    assert doc["duration_seconds"] == 2.0
    assert "Etag" in response.headers


async def test_task_that_is_not_part_of_the_run_is_404_naming_the_tasks(
    api: Fetch, make_run: MakeRun
) -> None:
    run_id = make_run()

    response = await api("runs", run_id, "tasks", "nope")

    assert response.code == 404
    message = body(response)["message"]
    assert "'nope'" in message
    assert "'ingest'" in message


async def test_task_of_an_unknown_run_is_404(api: Fetch) -> None:
    response = await api("runs", "20261129-000000-000-ffffff", "tasks", "ingest")

    assert response.code == 404


# -- executed notebooks ----


def _notebook(text: str) -> dict[str, Any]:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [{"cell_type": "markdown", "id": "a1", "metadata": {}, "source": text}],
    }


async def test_notebook_under_the_server_root_is_returned_as_a_contents_path(
    api: Fetch, make_run: MakeRun, jp_root_dir: Path
) -> None:
    executed = jp_root_dir / "out" / "ingest.ipynb"
    executed.parent.mkdir()
    executed.write_text(json.dumps(_notebook("hello")))
    run_id = make_run(output_notebook=str(executed))

    data = body(await api("runs", run_id, "tasks", "ingest", "notebook"))

    assert data["path"] == "out/ingest.ipynb"
    assert data["notebook"] is None
    assert data["name"] == "ingest.ipynb"


async def test_notebook_in_the_runs_directory_outside_the_root_is_returned_as_json(
    api: Fetch, make_run: MakeRun, store: RunStore
) -> None:
    run_id = make_run()
    executed = store.notebook_path(run_id, "ingest")
    executed.write_text(json.dumps(_notebook("from the runs directory")))
    store.write_task(run_id, "ingest", {"state": "SUCCESS", "output_notebook": str(executed)})

    data = body(await api("runs", run_id, "tasks", "ingest", "notebook"))

    assert data["path"] is None
    assert data["notebook"]["cells"][0]["source"] == "from the runs directory"


async def test_notebook_recorded_relative_to_the_run_directory_is_found(
    api: Fetch, make_run: MakeRun, store: RunStore
) -> None:
    run_id = make_run()
    executed = store.notebook_path(run_id, "ingest")
    executed.write_text(json.dumps(_notebook("relative")))
    store.write_task(run_id, "ingest", {"state": "SUCCESS", "output_notebook": "notebooks/ingest.ipynb"})

    data = body(await api("runs", run_id, "tasks", "ingest", "notebook"))

    assert data["notebook"]["cells"][0]["source"] == "relative"


async def test_notebook_outside_the_root_and_the_runs_directory_is_never_served(
    api: Fetch, make_run: MakeRun, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.ipynb"
    elsewhere.write_text(json.dumps(_notebook("secret")))
    run_id = make_run(output_notebook=str(elsewhere))

    response = await api("runs", run_id, "tasks", "ingest", "notebook")

    assert response.code == 404
    assert b"secret" not in response.body
    assert "outside" in body(response)["message"]


async def test_notebook_recorded_with_dots_that_leave_the_runs_directory_is_never_served(
    api: Fetch, make_run: MakeRun, store: RunStore, tmp_path: Path
) -> None:
    (tmp_path / "escaped.ipynb").write_text(json.dumps(_notebook("secret")))
    run_id = make_run()
    store.write_task(run_id, "ingest", {"state": "SUCCESS", "output_notebook": "../../escaped.ipynb"})

    response = await api("runs", run_id, "tasks", "ingest", "notebook")

    assert response.code == 404
    assert b"secret" not in response.body


async def test_notebook_of_a_task_that_has_none_yet_is_404(api: Fetch, make_run: MakeRun) -> None:
    run_id = make_run()

    response = await api("runs", run_id, "tasks", "train", "notebook")

    assert response.code == 404
    assert "no executed notebook" in body(response)["message"]


async def test_notebook_of_a_for_each_iteration_is_chosen_by_query_argument(
    api: Fetch, make_run: MakeRun, store: RunStore
) -> None:
    run_id = make_run()
    executed = store.notebook_path(run_id, "train", iteration=1)
    executed.write_text(json.dumps(_notebook("iteration one")))
    store.write_task(
        run_id,
        "train",
        {"state": "SUCCESS", "iterations": [{"index": 0}, {"index": 1, "output_notebook": str(executed)}]},
    )

    found = await api("runs", run_id, "tasks", "train", "notebook", params={"iteration": "1"})
    missing = await api("runs", run_id, "tasks", "train", "notebook", params={"iteration": "7"})

    assert body(found)["notebook"]["cells"][0]["source"] == "iteration one"
    assert body(found)["iteration"] == 1
    assert missing.code == 404


# -- safety ----


def _sample_path(pattern: str, run_id: str) -> str:
    path = pattern.replace("(?P<run_id>[^/]+)", run_id).replace("(?P<task_key>[^/]+)", "ingest")
    return re.sub(r"/\?$", "", path)


def _extension_rules(app: Any) -> list[Any]:
    rules = []
    for outer in app.default_router.rules:
        for rule in getattr(outer.target, "rules", []):
            if isinstance(rule.target, type) and issubclass(rule.target, TaskValuesHandler):
                rules.append(rule)
    return rules


async def test_every_route_is_registered_and_refuses_requests_without_credentials(
    jp_serverapp: Any, jp_fetch: Any, make_run: MakeRun
) -> None:
    run_id = make_run()
    registered = {rule.target for rule in _extension_rules(jp_serverapp.web_app)}
    assert registered == {handler for _name, _pattern, handler in ROUTES}

    for _name, pattern, handler in ROUTES:
        path = _sample_path(pattern, run_id)
        for method in ("GET", "POST", "DELETE"):
            if method.lower() not in vars(handler) and not any(
                method.lower() in vars(base)
                for base in handler.__mro__[1:]
                if base is not TaskValuesHandler and issubclass(base, TaskValuesHandler)
            ):
                continue
            data = {"body": b"{}"} if method == "POST" else {}
            response = await jp_fetch(
                path, method=method, headers={"Authorization": ""}, raise_error=False, **data
            )
            assert response.code == 403, (method, path)
            assert b"1204" not in response.body
        if "get" in vars(handler):
            authorized = await jp_fetch(path, raise_error=False)
            # 404: the task has no executed notebook; 400: a route that needs query arguments
            assert authorized.code in (200, 400, 404), path


async def test_a_wrong_token_is_refused(api: Fetch, make_run: MakeRun) -> None:
    run_id = make_run()

    response = await api("runs", run_id, headers={"Authorization": "token not-the-token"})

    assert response.code == 403


@pytest.mark.parametrize(
    "run_id",
    [
        "..%2f..%2fetc%2fpasswd",
        "..%2F..",
        "..",
        "%2e%2e",
        "%2Fetc%2Fpasswd",
        "%2Fetc",
        "run%00id",
        "a" * 129,
        "x" * 5000,
        "run%5c..%5c..",
        "~root",
        ".hidden",
        "20261129%20000000",
    ],
)
async def test_a_run_id_that_could_name_another_path_is_400(
    raw_api: Fetch, make_run: MakeRun, run_id: str
) -> None:
    make_run()
    for suffix in ("", "/values", "/tasks/ingest", "/tasks/ingest/notebook"):
        response = await raw_api(f"runs/{run_id}{suffix}")

        assert response.code == 400, suffix
        assert "not a valid run id" in body(response)["message"]


async def test_a_run_id_with_dots_inside_names_no_file_outside(raw_api: Fetch, make_run: MakeRun) -> None:
    make_run()

    response = await raw_api("runs/a..b")

    assert response.code == 400


async def test_a_path_that_leaves_the_route_never_reaches_the_extension(raw_api: Fetch) -> None:
    response = await raw_api("runs/../../../etc/passwd")

    assert response.code == 404
    assert b"root:" not in response.body


async def test_a_task_key_with_path_tricks_is_404_and_touches_nothing(
    raw_api: Fetch, make_run: MakeRun, runs_dir: Path
) -> None:
    run_id = make_run()
    before = sorted(p.relative_to(runs_dir) for p in runs_dir.rglob("*"))

    for task_key in ("..%2f..%2f..", "%2Fetc%2Fpasswd", "ingest%00", "t" * 3000):
        for suffix in ("", "/notebook"):
            response = await raw_api(f"runs/{run_id}/tasks/{task_key}{suffix}")
            assert response.code == 404, (task_key, suffix)

    assert sorted(p.relative_to(runs_dir) for p in runs_dir.rglob("*")) == before


# -- configuration ----


def test_runs_dir_defaults_to_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JUPYTER_TASKVALUES_RUNS_DIR", str(tmp_path / "elsewhere"))

    assert TaskValuesExtension().runs_dir == str(tmp_path / "elsewhere")


def test_runs_dir_help_names_the_environment_variable() -> None:
    assert "JUPYTER_TASKVALUES_RUNS_DIR" in TaskValuesExtension.class_traits()["runs_dir"].help


async def test_the_server_reads_the_configured_runs_directory(api: Fetch, runs_dir: Path) -> None:
    other = RunStore(runs_dir)
    other.create_run(job_name="configured", tasks={}, run_id="20261129-000000-000-abcdef")

    data = body(await api("runs"))

    assert [r["job_name"] for r in data["runs"]] == ["configured"]


async def test_a_runs_directory_on_a_url_is_served_with_notebooks_as_json(
    api: Fetch, jp_serverapp: Any, tmp_path: Path
) -> None:
    url = f"memory://taskvalues-server-test/{tmp_path.name}"
    jp_serverapp.web_app.settings[SETTINGS_KEY].runs_dir = url
    remote = RunStore(url)
    run_id = remote.create_run(job_name="remote", tasks={"ingest": {"type": "notebook"}})
    remote.set_value(run_id, "ingest", "rows", 7)
    staged = tmp_path / "staged.ipynb"
    staged.write_text(json.dumps(_notebook("stored remotely")))
    location = remote.write_notebook(run_id, "ingest", None, staged)
    remote.write_task(run_id, "ingest", {"state": "SUCCESS", "output_notebook": location})

    listed = body(await api("runs"))
    first = await api("runs", run_id)
    unchanged = await api("runs", run_id, headers={"If-None-Match": first.headers["Etag"]})
    notebook = body(await api("runs", run_id, "tasks", "ingest", "notebook"))

    assert [r["run_id"] for r in listed["runs"]] == [run_id]
    assert body(first)["tasks"]["ingest"]["values"] == {"rows": 7}
    assert unchanged.code == 304
    assert notebook["path"] is None
    assert notebook["notebook"]["cells"][0]["source"] == "stored remotely"
