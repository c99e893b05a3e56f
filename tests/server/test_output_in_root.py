"""A runs directory inside the server's root: the output route links the executed notebook for JupyterLab."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_taskvalues import context
from tests.jobhelpers import job, nb_task, notebook

from .conftest import Fetch, body
from .test_runs import finished, until


@pytest.fixture
def runs_dir(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = jp_root_dir / "job-runs"
    monkeypatch.setenv(context.RUNS_DIR_ENV, str(path))
    return path


async def test_an_ended_task_links_its_executed_notebook_under_the_server_root(
    api: Fetch, jp_fetch: Fetch, jp_root_dir: Path, runs_dir: Path
) -> None:
    notebook(jp_root_dir / "hello.ipynb", "print('hello')")
    job(jp_root_dir / "hello.job.json", [nb_task("hello", "hello")])
    started = body(await api("runs", method="POST", body=json.dumps({"path": "hello.job.json"})))
    await until(api, started["run_id"], finished)

    output = body(await api("runs", started["run_id"], "tasks", "hello", "output"))

    assert output["lines"] == ["hello"]
    path = output["notebook"]["path"]
    assert path is not None and path.startswith("job-runs/") and path.endswith(".ipynb")
    opened = await jp_fetch("api", "contents", *path.split("/"))  # the contents manager opens the same path
    assert body(opened)["type"] == "notebook"
