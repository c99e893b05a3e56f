"""Four concurrent runs of one fan-out job in one runs directory: two started over REST, two by the CLI.

The server's runs go through its runner manager (``POST runs``, ``c.RunnerManager.max_parallel = 3``) while two
``jupyter-taskvalues run`` subprocesses (``--max-parallel`` 1 and 2) run the same job in the same runs directory.
The checks are those of ``tests/hardening/test_hardening_concurrent_runs.py``: no value lost or crossed, each run
its own state and parameters, each run's kernels at once within its own limit.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.document import run_document
from jupyter_taskvalues.store import RunStore
from tests.hardening.test_hardening_concurrent_runs import check_run, fan_out_job, start_cli

from .conftest import Fetch, body
from .test_runs import finished, post, until


@pytest.fixture
def jp_server_config(runs_dir: Path) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_taskvalues": True},
            "allow_unauthenticated_access": False,
        },
        "TaskValuesExtension": {"runs_dir": str(runs_dir)},
        "RunnerManager": {"max_parallel": 3},
    }


@pytest.mark.slow
async def test_rest_and_cli_runs_at_once_keep_their_values_states_and_limits(
    api: Fetch, jp_root_dir: Path, runs_dir: Path
) -> None:
    path = fan_out_job(jp_root_dir)
    limits = {"cli1": 1, "cli2": 2, "srv1": 3, "srv2": 3}
    clis = {tag: start_cli(path, runs_dir, tag, limits[tag]) for tag in ("cli1", "cli2")}
    server_ids = {}
    for tag in ("srv1", "srv2"):
        response = await post(api, "runs", data={"path": path.name, "parameters": {"tag": tag}})
        assert response.code == 201, response.body
        server_ids[tag] = body(response)["run_id"]
    for run_id in server_ids.values():
        await until(api, run_id, finished, timeout=240)
    documents: dict[str, dict[str, Any]] = {}
    for tag, process in clis.items():
        while process.poll() is None:  # the event loop keeps serving while the CLI runs finish
            await asyncio.sleep(0.2)
        out, err = process.communicate()
        assert process.returncode == 0, err[-2000:]
        documents[tag] = json.loads(out)
    store = RunStore(runs_dir)
    for tag, run_id in server_ids.items():
        documents[tag] = body(await api("runs", run_id))
    for tag, document in documents.items():
        check_run(document, tag, limits[tag])
        check_run(run_document(store, document["run_id"]), tag, limits[tag])
    spans = [
        (d["tasks"]["split"]["values"]["window"][0], d["tasks"]["total"]["values"]["window"][1])
        for d in documents.values()
    ]
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans
