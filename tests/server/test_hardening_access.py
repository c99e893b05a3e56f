"""Access to the REST API: every route the extension registers requires Jupyter's authentication and
authorization, and no URL reaches a file outside the runs directory.

As jupyter_server's own authorization tests do, the routes are found by walking the live server's router (not
read from our route table), so a handler added later without the decorators is caught.
"""

from __future__ import annotations

import json
import random
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from jupyter_server.auth import Authorizer

from jupyter_taskvalues.store import RunStore

from .conftest import Fetch

MakeRun = Callable[..., str]
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SECRET = "s3cr3t-outside-the-runs-directory"


class DenyAll(Authorizer):  # type: ignore[misc]
    """An authorizer that refuses everything and remembers what it was asked."""

    asked: ClassVar[list[tuple[str, str]]] = []

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        DenyAll.asked.append((action, resource))
        return False


def _extension_routes(app: Any) -> list[tuple[str, type]]:
    """(pattern, handler) of every route whose handler comes from this package, found in the live router."""
    found = []
    for outer in app.default_router.rules:
        for rule in getattr(outer.target, "rules", []):
            target = rule.target
            if isinstance(target, type) and target.__module__.startswith("jupyter_taskvalues"):
                found.append((rule.matcher.regex.pattern, target))
    return found


def _sample(pattern: str, run_id: str) -> str:
    path = re.sub(r"\(\?P<run_id>[^)]*\)", run_id, pattern)
    path = re.sub(r"\(\?P<task_key>[^)]*\)", "ingest", path)
    return path.replace("/?$", "").replace("$", "").replace("\\", "")


async def test_every_route_refuses_every_method_without_credentials(
    jp_serverapp: Any, http_server_client: Any, make_run: MakeRun
) -> None:
    run_id = make_run(values={"secret_value": SECRET})
    routes = _extension_routes(jp_serverapp.web_app)
    assert len(routes) >= 5

    for pattern, _handler in routes:
        path = _sample(pattern, run_id)
        for method in METHODS:
            response = await http_server_client.fetch(
                path,
                method=method,
                body=b"{}" if method in ("POST", "PUT", "PATCH") else None,
                raise_error=False,
                allow_nonstandard_methods=True,
            )
            # OPTIONS is the CORS preflight jupyter_server answers for every API handler, with no body.
            preflight = method == "OPTIONS" and response.code in (200, 204) and not response.body
            assert response.code in (403, 405) or preflight, (method, path, response.code)
            assert SECRET.encode() not in (response.body or b""), (method, path)


async def test_every_route_refuses_a_wrong_token_and_writes_nothing(
    jp_serverapp: Any, http_server_client: Any, make_run: MakeRun, tmp_path: Path
) -> None:
    run_id = make_run(values={"secret_value": SECRET})
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    for pattern, _handler in _extension_routes(jp_serverapp.web_app):
        for method in ("GET", "POST", "PUT", "DELETE"):
            response = await http_server_client.fetch(
                _sample(pattern, run_id),
                method=method,
                headers={"Authorization": "token wrong"},
                body=b"{}" if method in ("POST", "PUT") else None,
                raise_error=False,
                allow_nonstandard_methods=True,
            )
            assert response.code in (403, 405), (method, pattern, response.code)
            assert SECRET.encode() not in (response.body or b"")
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


@pytest.fixture
def deny_all(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    DenyAll.asked = []
    jp_server_config["ServerApp"]["authorizer_class"] = DenyAll
    return jp_server_config


async def test_every_route_asks_the_authorizer_for_the_taskvalues_resource(
    deny_all: dict[str, Any], jp_serverapp: Any, jp_fetch: Any, jp_base_url: str, make_run: MakeRun
) -> None:
    run_id = make_run(values={"secret_value": SECRET})
    routes = _extension_routes(jp_serverapp.web_app)

    for pattern, handler in routes:
        DenyAll.asked = []
        reads = "get" in vars(handler)  # the routes that only act (rerun, repair) are asked to write
        response = await jp_fetch(
            _sample(pattern, run_id).removeprefix(jp_base_url),
            method="GET" if reads else "POST",
            body=None if reads else b"{}",
            raise_error=False,
        )
        assert response.code == 403, pattern
        assert SECRET.encode() not in response.body
        assert ("read" if reads else "write", "taskvalues") in DenyAll.asked, (pattern, DenyAll.asked)


# -- run ids and task keys in URLs ----------------------------------------------------------------------------

_PIECES = [
    "..", ".", "/", "\\", "%2f", "%2F", "%5c", "%00", "%2e%2e", "%252e%252e%252f", "~", "outside", "run.json",
    "\u202e", "\u0430", "e\u0301", "%e2%80%ae", "%c0%ae%c0%ae", "%ff", "a", "0", "-", "_", " ", "%20", "?", "#",
    "values", "tasks", "notebook", "x" * 200,
]  # fmt: skip


def _hostile_ids(count: int) -> list[str]:
    rng = random.Random(20261129)
    ids = []
    for _ in range(count):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 6)))
        raw = text.replace("/", "%2F").replace("?", "%3F").replace("#", "%23")  # stay in the path part
        ids.append(urllib.parse.quote(text, safe="%~") if rng.random() < 0.5 else raw)
    return ids


async def test_three_hundred_hostile_run_ids_and_task_keys_never_reach_outside_the_runs_directory(
    raw_api: Fetch, make_run: MakeRun, runs_dir: Path, tmp_path: Path
) -> None:
    # A directory shaped like a run, next to the runs directory, holding a secret.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "run.json").write_text(
        json.dumps({"format": 1, "run_id": "outside", "job_name": SECRET, "tasks": {}})
    )
    run_id = make_run()
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    codes: dict[int, int] = {}

    for hostile in _hostile_ids(300):
        for suffix in ("", "/values", "/tasks/ingest", "/tasks/ingest/notebook"):
            response = await raw_api(f"runs/{hostile}{suffix}")
            codes[response.code] = codes.get(response.code, 0) + 1
            assert response.code in (400, 404), (hostile, suffix, response.code)
            assert SECRET.encode() not in response.body
        for suffix in ("", "/notebook"):
            response = await raw_api(f"runs/{run_id}/tasks/{hostile}{suffix}")
            assert response.code in (400, 404), (hostile, suffix, response.code)
            assert SECRET.encode() not in response.body

    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    assert codes.get(400, 0) > 0


async def test_an_executed_notebook_that_is_a_symlink_out_of_the_runs_directory_is_never_served(
    api: Fetch, make_run: MakeRun, store: RunStore, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.ipynb"
    secret.write_text(
        json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [], "x": SECRET})
    )
    run_id = make_run()
    link = store.notebook_path(run_id, "ingest")
    link.symlink_to(secret)
    store.write_task(run_id, "ingest", {"state": "SUCCESS", "output_notebook": str(link)})

    response = await api("runs", run_id, "tasks", "ingest", "notebook")

    # The store reads its own copy of the notebook and follows the link (tests/hardening/STORE_FINDINGS.md).
    assert response.code == 404, response.body
    assert SECRET.encode() not in response.body
