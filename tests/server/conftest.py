"""Fixtures of the REST API tests: a Jupyter Server with the extension over a runs directory in tmp_path.

Run these tests as their own pytest invocation: ``pytest tests/server -p pytest_jupyter.jupyter_server``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from tornado.httpclient import HTTPResponse

if TYPE_CHECKING:
    from jupyter_taskvalues.store import RunStore

Fetch = Callable[..., Awaitable[HTTPResponse]]


@pytest.fixture
def jp_server_config(runs_dir: Path) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_taskvalues": True},
            "allow_unauthenticated_access": False,
        },
        "TaskValuesExtension": {"runs_dir": str(runs_dir)},
    }


@pytest.fixture
def api(jp_fetch: Fetch) -> Fetch:
    """``await api("runs", run_id)``: GET an extension route with the server's token; errors are returned."""

    def fetch(*parts: str, **kwargs: Any) -> Awaitable[HTTPResponse]:
        kwargs.setdefault("raise_error", False)
        return jp_fetch("taskvalues", "api", *parts, **kwargs)

    return fetch


@pytest.fixture
def raw_api(http_server_client: Any, jp_base_url: str, jp_auth_header: dict[str, str]) -> Fetch:
    """``await raw_api("runs/..%2f..")``: GET a path exactly as written (no escaping), with the token."""

    def fetch(path: str, **kwargs: Any) -> Awaitable[HTTPResponse]:
        headers = {**jp_auth_header, **kwargs.pop("headers", {})}
        return http_server_client.fetch(  # type: ignore[no-any-return]
            f"{jp_base_url}taskvalues/api/{path}", headers=headers, raise_error=False, **kwargs
        )

    return fetch


def body(response: HTTPResponse) -> Any:
    return json.loads(response.body)


@pytest.fixture
def make_run(store: RunStore, tmp_path: Path) -> Callable[..., str]:
    """Create a two-task run (``ingest`` → ``train``) through the store; return its id."""

    def make(
        *,
        job_name: str = "income",
        state: str = "SUCCESS",
        run_id: str | None = None,
        values: dict[str, Any] | None = None,
        output_notebook: str | None = None,
    ) -> str:
        run_id = store.create_run(
            job_name=job_name,
            run_id=run_id,
            parameters={"env": "test"},
            tasks={
                "ingest": {"type": "notebook", "notebook_path": "ingest.ipynb", "depends_on": []},
                "train": {
                    "type": "notebook",
                    "notebook_path": "train.ipynb",
                    "depends_on": [{"task_key": "ingest", "outcome": None}],
                },
            },
        )
        store.update_run(run_id, state=state, start_time="2026-11-29T04:47:35.123Z")
        store.write_task(
            run_id,
            "ingest",
            {
                "state": "SUCCESS",
                "attempts": [{"attempt": 1, "state": "SUCCESS"}],
                "start_time": "2026-11-29T04:47:35.200Z",
                "end_time": "2026-11-29T04:47:37.200Z",
                "parameters": {"source": "census"},
                "exit_value": "ok",
                "output_notebook": output_notebook,
            },
        )
        for key, value in (values or {"rows": 1204, "table": "income_clean"}).items():
            store.set_value(run_id, "ingest", key, value)
        return run_id

    return make
