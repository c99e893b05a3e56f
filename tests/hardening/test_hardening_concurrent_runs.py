"""Four runs of one fan-out job at once in one runs directory: two from the CLI, two from the runner manager.

The CLI runs are real subprocesses (``python -m jupyter_taskvalues.cli run``); the manager runs are started by the
server's :class:`~jupyter_taskvalues.server.manager.RunnerManager` on an event loop in this process, while the CLI
runs go on. Every notebook records, as task values, the wall-clock window in which it executed and which run it
belongs to; the test then reads every run back and checks that no value was lost or crossed into another run,
that each run's state is its own, and that no run ever had more kernels executing at once than its limit
(``--max-parallel`` for a CLI run, ``c.RunnerManager.max_parallel`` for the manager's).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.document import run_document
from jupyter_taskvalues.server.manager import ACTIVE_STATES, RunnerManager
from jupyter_taskvalues.store import RunStore
from tests.jobhelpers import job, nb_task, notebook

#: Elements of the fan-out, and the values each iteration sets besides its window.
WIDTH = 5
KEYS = 12

WINDOW_CODE = "import time\n_start = time.time()\n"
WINDOW_END = "dbutils.jobs.taskValues.set('window', [_start, time.time()])\n"


def fan_out_job(root: Path) -> Path:
    """``split`` → ``each`` (a for-each of :data:`WIDTH` iterations, concurrency 4) → ``total``."""
    notebook(
        root / "split.ipynb",
        WINDOW_CODE + f"dbutils.jobs.taskValues.set('parts', list(range({WIDTH})))\n"
        "dbutils.jobs.taskValues.set('tag', dbutils.widgets.get('tag'))\ntime.sleep(0.2)\n" + WINDOW_END,
        parameters="tag = ''",
    )
    notebook(
        root / "each.ipynb",
        WINDOW_CODE + "n = int(dbutils.widgets.get('n'))\ntag = dbutils.widgets.get('tag')\n"
        f"for k in range({KEYS}):\n"
        "    dbutils.jobs.taskValues.set(f'k{k}', {'tag': tag, 'n': n, 'k': k})\n"
        "time.sleep(0.4)\n" + WINDOW_END,
    )
    notebook(
        root / "total.ipynb",
        WINDOW_CODE + "parts = dbutils.jobs.taskValues.get('split', 'parts')\n"
        "dbutils.jobs.taskValues.set('total', sum(parts))\n"
        "dbutils.jobs.taskValues.set('tag', dbutils.widgets.get('tag'))\n" + WINDOW_END,
    )
    return job(
        root / "fan.job.json",
        [
            nb_task("split", "split", base_parameters={"tag": "{{job.parameters.tag}}"}),
            {
                "task_key": "each",
                "depends_on": [{"task_key": "split"}],
                "for_each_task": {
                    "inputs": "{{tasks.split.values.parts}}",
                    "concurrency": 4,
                    "task": nb_task(
                        "each_iteration",
                        "each",
                        base_parameters={"n": "{{input}}", "tag": "{{job.parameters.tag}}"},
                    ),
                },
            },
            nb_task("total", "total", depends_on=["each"], base_parameters={"tag": "{{job.parameters.tag}}"}),
        ],
        name="fan",
        parameters=[{"name": "tag", "default": "none"}],
    )


def start_cli(path: Path, runs_dir: Path, tag: str, max_parallel: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_taskvalues.cli",
            "run",
            str(path),
            "--runs-dir",
            str(runs_dir),
            "--max-parallel",
            str(max_parallel),
            "--param",
            f"tag={tag}",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def manager_runs(path: Path, runs_dir: Path, tags: list[str], max_parallel: int) -> list[str]:
    """Start one run per tag through a runner manager and wait until all have finished."""
    manager = RunnerManager(str(runs_dir), max_parallel=max_parallel)
    ids = [await manager.start(path, parameters={"tag": tag}) for tag in tags]
    store = manager.store
    for _ in range(1200):
        if not manager.active_runs and all(store.read_run(i)["state"] not in ACTIVE_STATES for i in ids):
            return ids
        await asyncio.sleep(0.1)
    await manager.shutdown()
    raise AssertionError(f"manager runs still active after 120 s: {manager.active_runs}")


def most_at_once(windows: list[list[float]]) -> int:
    """The largest number of the ``[start, end]`` windows that overlap at one instant."""
    events = sorted([(start, 1) for start, _ in windows] + [(end, -1) for _, end in windows])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def check_run(document: dict[str, Any], tag: str, limit: int) -> int:
    """Assert the run is whole and its own; return the most notebooks it had executing at once."""
    assert document["state"] == "SUCCESS", document.get("error")
    assert document["parameters"]["tag"] == tag
    tasks = document["tasks"]
    assert tasks["split"]["values"]["tag"] == tag
    assert {key: value for key, value in tasks["total"]["values"].items() if key != "window"} == {
        "tag": tag,
        "total": sum(range(WIDTH)),
    }
    iterations = tasks["each"]["iterations"]
    assert [it["state"] for it in iterations] == ["SUCCESS"] * WIDTH
    windows = [tasks["split"]["values"]["window"], tasks["total"]["values"]["window"]]
    for n, iteration in enumerate(iterations):
        values = iteration["values"]
        assert {key: values[key] for key in values if key != "window"} == {
            f"k{k}": {"tag": tag, "n": n, "k": k} for k in range(KEYS)
        }
        windows.append(values["window"])
    peak = most_at_once(windows)
    assert 1 <= peak <= limit, f"run {tag} had {peak} notebooks executing at once, its limit is {limit}"
    return peak


@pytest.mark.slow
def test_four_concurrent_fan_out_runs_from_cli_and_manager_keep_values_states_and_limits(
    tmp_path: Path, runs_dir: Path
) -> None:
    path = fan_out_job(tmp_path / "job")
    limits = {"cli1": 1, "cli2": 2, "srv1": 3, "srv2": 3}
    clis = {tag: start_cli(path, runs_dir, tag, limits[tag]) for tag in ("cli1", "cli2")}
    server_ids = asyncio.run(manager_runs(path, runs_dir, ["srv1", "srv2"], max_parallel=3))
    documents: dict[str, dict[str, Any]] = {}
    for tag, process in clis.items():
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err[-2000:]
        documents[tag] = json.loads(out)
    store = RunStore(runs_dir)
    for tag, run_id in zip(("srv1", "srv2"), server_ids, strict=True):
        documents[tag] = run_document(store, run_id)
    # Read back from the store as a later reader does, not only as each runner printed it.
    ids = {tag: document["run_id"] for tag, document in documents.items()}
    assert len(set(ids.values())) == 4
    listed = {run["run_id"] for run in store.list_runs()}
    assert set(ids.values()) <= listed
    peaks = {}
    for tag, document in documents.items():
        check_run(document, tag, limits[tag])
        peaks[tag] = check_run(run_document(store, ids[tag]), tag, limits[tag])
    # The limits were tested, not only met by runs that happened to run one notebook at a time.
    assert max(peaks.values()) >= 2, peaks
    # ...and the four runs were executing at the same time (each one's first notebook began before any ended).
    spans = [
        (d["tasks"]["split"]["values"]["window"][0], d["tasks"]["total"]["values"]["window"][1])
        for d in documents.values()
    ]
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans
    print("notebooks executing at once, per run:", peaks)
