"""A real ``jupyter server`` process: a run started over REST outlives its client and ends with the server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.store import RunStore
from tests.jobhelpers import job, nb_task, notebook

pytestmark = pytest.mark.slow

TOKEN = "test-token-for-a-server-process"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(port: int, path: str, *, method: str = "GET", data: Any = None) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/{path}",
        method=method,
        data=None if data is None else json.dumps(data).encode(),
        headers={"Authorization": f"token {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _descendants(pid: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, p in parents.items() if p == parent]
        found.update(children)
        frontier.extend(children)
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_stopping_the_server_process_cancels_its_runs_and_leaves_no_process(tmp_path: Path) -> None:
    root, runs = tmp_path / "root", tmp_path / "runs"
    notebook(root / "sleep.ipynb", "import time\nprint('started', flush=True)\ntime.sleep(300)")
    job(root / "sleep.job.json", [nb_task("sleep", "sleep"), nb_task("after", "sleep", depends_on=["sleep"])])
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            f"--ServerApp.root_dir={root}",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.open_browser=False",
            "--ServerApp.allow_root=True",  # test machines often run as root
            f"--IdentityProvider.token={TOKEN}",
            f"--TaskValuesExtension.runs_dir={runs}",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _call(port, "api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        run_id = _call(port, "taskvalues/api/runs", method="POST", data={"path": "sleep.job.json"})["run_id"]
        while True:  # the client that started the run is gone; the run goes on
            output = _call(port, f"taskvalues/api/runs/{run_id}/tasks/sleep/output")
            if output["lines"] == ["started"]:
                break
            assert time.monotonic() < deadline, output
            time.sleep(0.2)
        children = _descendants(server.pid)
        assert children, "the task's kernel runs under the server"

        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()

    store = RunStore(runs)
    assert store.read_run(run_id)["state"] == "CANCELED", stderr.decode()[-2000:]
    assert store.read_task(run_id, "sleep")["state"] == "CANCELED"
    assert store.read_task(run_id, "after")["state"] == "UPSTREAM_CANCELED"
    deadline = time.monotonic() + 10
    while (left := [pid for pid in children if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == []
