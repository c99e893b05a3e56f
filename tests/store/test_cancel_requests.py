"""Cancel requests through the store, on a local directory and on ``memory://``: written whole, read back, and
unreadable ones ignored with a warning."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from jupyter_taskvalues.exceptions import RunNotFoundError, TaskNotFoundError
from jupyter_taskvalues.jobs.cancel import describe_request
from jupyter_taskvalues.store import RunStore


@pytest.fixture(params=["local", "memory"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> RunStore:
    root = str(tmp_path / "runs") if request.param == "local" else f"memory://cancel-{tmp_path.name}"
    return RunStore(root)


def _run(store: RunStore) -> str:
    return store.create_run(
        job_name="pipeline",
        tasks={"first": {"type": "notebook"}, "Second Task": {"type": "notebook"}},
    )


def test_a_cancel_request_is_read_back_with_who_asked_through_what_and_when(any_store: RunStore) -> None:
    run_id = _run(any_store)

    written = any_store.request_cancel(run_id, requested_by="ada", via="cli")
    any_store.request_cancel(run_id, "Second Task", requested_by="bob", via="jupyter-server")
    requests, garbage = any_store.cancel_requests(run_id)
    requests.sort(key=lambda r: str(r["requested_by"]))  # oldest first; these two may share a millisecond

    assert garbage == []
    assert [(r["task_key"], r["requested_by"], r["via"]) for r in requests] == [
        (None, "ada", "cli"),
        ("Second Task", "bob", "jupyter-server"),
    ]
    assert requests[0] == written | {"name": "cancel.json"}
    assert written["run_id"] == run_id and written["repair_count"] == 0
    assert written["requested_at"].endswith("Z")
    assert requests[1]["name"].startswith("cancel-~")  # a key that is not a plain name is hashed
    for request in requests:
        any_store.remove_request(run_id, request["name"])
    any_store.remove_request(run_id, "cancel.json")  # already gone: no error
    assert any_store.cancel_requests(run_id) == ([], [])


def test_a_request_for_an_unknown_run_or_task_is_refused_and_nothing_is_written(any_store: RunStore) -> None:
    run_id = _run(any_store)

    with pytest.raises(RunNotFoundError, match="20990101-000000-000-000000"):
        any_store.request_cancel("20990101-000000-000-000000")
    with pytest.raises(TaskNotFoundError, match="'train' is not part of run"):
        any_store.request_cancel(run_id, "train")

    assert any_store.cancel_requests(run_id) == ([], [])


def test_a_request_file_that_is_garbage_is_ignored_with_a_warning(
    any_store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = _run(any_store)
    any_store.request_cancel(run_id, "first")
    any_store._write_request(run_id, "cancel.json", "{not json")
    any_store._write_request(run_id, "cancel-other.json", json.dumps({"op": "cancel", "task_key": "first"}))
    any_store._write_request(run_id, "notes.txt", json.dumps({"op": "explode", "task_key": None}))

    with caplog.at_level(logging.WARNING, logger="jupyter_taskvalues.store._base"):
        requests, garbage = any_store.cancel_requests(run_id)

    assert [r["task_key"] for r in requests] == ["first"]
    assert sorted(garbage) == ["cancel-other.json", "cancel.json", "notes.txt"]
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 3
    assert all(f"of run {run_id}: it is not a cancel request" in m for m in warned)


def test_a_request_file_with_only_op_and_task_key_is_read_and_described(any_store: RunStore) -> None:
    run_id = _run(any_store)
    any_store._write_request(run_id, "cancel.json", json.dumps({"op": "cancel", "task_key": None}))

    requests, garbage = any_store.cancel_requests(run_id)

    assert garbage == []
    assert requests == [{"op": "cancel", "task_key": None, "name": "cancel.json"}]
    assert describe_request(requests[0]) == "by someone (api) at an unknown time"


def test_a_local_request_is_a_whole_file_in_the_runs_requests_folder(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    run_id = _run(store)

    store.request_cancel(run_id, "first", requested_by="ada")

    folder = tmp_path / "runs" / run_id / "requests"
    assert [p.name for p in folder.iterdir()] == ["cancel-first.json"]  # no temporary file left
    written = json.loads((folder / "cancel-first.json").read_text())
    assert written["requested_by"] == "ada"
    assert list(written) == [  # the file's keys, in the order every version wrote them
        "op",
        "run_id",
        "task_key",
        "repair_count",
        "requested_at",
        "requested_by",
        "via",
        "host",
        "pid",
    ]
