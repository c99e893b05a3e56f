"""Repair through the REST API with the command line's choices: the run's target, variables and user, overridden."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.store import RunStore
from tests.cli.test_bundles import _repair_bundle  # the bundle the command line's repair tests use

from .conftest import Fetch, body
from .test_runs import finished, post, until


async def _repaired(api: Fetch, run_id: str, count: int, data: dict[str, Any]) -> dict[str, Any]:
    """Repair ``run_id`` with the body ``data``; the run document once repair number ``count`` has finished."""
    response = await post(api, "runs", run_id, "repair", data=data)
    assert response.code == 202, body(response)
    assert body(response)["tasks"] == ["a"]
    return await until(api, run_id, lambda d: finished(d) and d.get("repair_count") == count)


@pytest.mark.slow  # four real kernel runs in the server
async def test_repair_reuses_the_runs_target_variables_and_user_and_the_body_overrides_them(
    api: Fetch, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _repair_bundle(jp_root_dir)
    monkeypatch.setenv("JUPYTER_TASKVALUES_USER", "ada@example.com")
    started = body(await post(api, "runs", data={"path": "databricks.yml", "target": "prod"}))
    first = await until(api, started["run_id"], finished)
    run_id = first["run_id"]
    assert first["tasks"]["a"]["parameters"] == {
        "greeting": "hello-prod",
        "where": "prod",
        "owner": "ada@example.com",
    }

    monkeypatch.setenv("JUPYTER_TASKVALUES_USER", "someone.else@example.com")  # the recorded user wins
    again = await _repaired(api, run_id, 1, {"tasks": ["a"]})
    assert again["tasks"]["a"]["parameters"] == first["tasks"]["a"]["parameters"]

    changed = await _repaired(
        api, run_id, 2, {"tasks": ["a"], "variables": {"suffix": "?"}, "user": "bob@example.com"}
    )
    assert changed["tasks"]["a"]["parameters"] == {
        "greeting": "hello-prod?",
        "where": "prod",
        "owner": "bob@example.com",
    }

    # another target: its variables resolve for it (the recorded suffix is not reused); the user is
    moved = await _repaired(api, run_id, 3, {"tasks": ["a"], "target": "dev"})
    assert moved["tasks"]["a"]["parameters"] == {
        "greeting": "hello",
        "where": "dev",
        "owner": "bob@example.com",
    }


async def test_repair_with_an_unknown_target_or_a_variable_that_is_not_a_string_is_a_400_that_names_it(
    api: Fetch, jp_root_dir: Path, store: RunStore
) -> None:
    _repair_bundle(jp_root_dir)
    run_id = body(await post(api, "runs", data={"path": "databricks.yml", "target": "prod"}))["run_id"]
    done = await until(api, run_id, finished)
    recorded = store.read_run(run_id)

    unknown = await post(api, "runs", run_id, "repair", data={"target": "prdo"})
    not_declared = await post(api, "runs", run_id, "repair", data={"variables": {"sufix": "?"}})
    number = await post(api, "runs", run_id, "repair", data={"variables": {"suffix": 3}})
    listed = await post(api, "runs", run_id, "repair", data={"variables": ["suffix=?"]})
    empty_user = await post(api, "runs", run_id, "repair", data={"user": ""})

    assert [r.code for r in (unknown, not_declared, number, listed, empty_user)] == [400] * 5
    assert "'prdo' is not defined (targets: dev, prod)" in body(unknown)["message"]
    assert "no variable 'sufix'" in body(not_declared)["message"]
    assert body(number)["message"].startswith("Variable 'suffix' must be a string, not 3")
    assert "'variables' must be an object" in body(listed)["message"]
    assert "'user'" in body(empty_user)["message"]
    assert store.read_run(run_id) == recorded  # the record is unchanged
    assert recorded.get("repair_count", 0) == 0 and done["state"] == "SUCCESS"


async def test_a_run_started_with_variables_and_a_user_is_run_again_with_them(
    api: Fetch, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch, store: RunStore
) -> None:
    _repair_bundle(jp_root_dir)
    data = {"path": "databricks.yml", "variables": {"suffix": "!"}, "user": "ada@example.com"}
    first = await until(api, body(await post(api, "runs", data=data))["run_id"], finished)
    expected = {"greeting": "hello!", "where": "dev", "owner": "ada@example.com"}
    assert first["tasks"]["a"]["parameters"] == expected
    assert store.read_run(first["run_id"])["target"] == "dev"  # the default target, as the run resolved it

    monkeypatch.setenv("JUPYTER_TASKVALUES_USER", "someone.else@example.com")  # the recorded user wins
    again = await post(api, "runs", first["run_id"], "rerun")
    assert again.code == 201, body(again)
    second = await until(api, body(again)["run_id"], finished)
    assert second["tasks"]["a"]["parameters"] == expected

    bad = await post(api, "runs", data={"path": "databricks.yml", "variables": {"suffix": 1}})
    assert bad.code == 400 and "suffix" in body(bad)["message"]
