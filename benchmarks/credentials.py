"""Time one task that imports the SDK's runtime, with a ``~/.databrickscfg`` for an unreachable host and without.

Usage: ``python benchmarks/credentials.py [--repeat N]`` (default 3; the runs alternate, so load drifts hit
both; one untimed warm-up run of each comes first)

The task is a Databricks source notebook that does ``from databricks.sdk.runtime import dbutils`` and sets one
task value, and the list of connections its kernel opened (checked empty). Each run is ``jupyter-taskvalues
run job.json --json`` in a fresh process, with ``HOME`` pointing at a folder that holds a ``.databrickscfg``
(``host = http://127.0.0.1:9``, where nothing listens) or nothing, and no ``DATABRICKS_*`` variable. Without
the runtime seam the import would build the SDK's remote client, whose configuration asks that host for its
metadata for five minutes (the SDK's retry budget) before going on. Printed: the medians of the CLI's wall
time and of the task's ``duration_seconds`` (kernel start included), and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOTEBOOK = (
    "# Databricks notebook source\n"
    "from databricks.sdk.runtime import dbutils\n\n"
    "# COMMAND ----------\n\n"
    "dbutils.jobs.taskValues.set('type', type(dbutils).__module__)\n"
)
# Prepended to the first cell, so the task also reports every connection the kernel opened (there must be none).
AUDIT = (
    "import sys\n_connections = []\n"
    "sys.addaudithook(lambda e, a: _connections.append(repr(a[1])) if e == 'socket.connect' else None)\n"
)
CONNECTIONS = "dbutils.jobs.taskValues.set('connections', _connections)\n"
PROFILE = "[DEFAULT]\nhost = http://127.0.0.1:9\ntoken = dapi-unreachable\n"


def _run(folder: Path, home: Path) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "JUPYTER_TASKVALUES_"))}
    env["HOME"] = str(home)
    env["IPYTHONDIR"] = str(folder / "ipython")  # one profile for both, made by the warm-up run
    command = [sys.executable, "-m", "jupyter_taskvalues.cli", "run", str(folder / "job.json"), "--json"]
    command += ["--runs-dir", str(folder / "runs")]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=900)
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"The run with HOME={home} failed:\n{done.stdout}\n{done.stderr}")
    task = json.loads(done.stdout)["tasks"]["t"]
    if task["values"] != {"type": "jupyter_taskvalues.runtime.dbutils", "connections": []}:
        raise SystemExit(f"The task did not get our dbutils, or opened connections: {task['values']}")
    return wall, float(task["duration_seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        header, body = NOTEBOOK.split("\n", 1)
        (folder / "task.py").write_text(f"{header}\n{AUDIT}{body}{CONNECTIONS}")
        task = {"task_key": "t", "notebook_task": {"notebook_path": "./task"}}
        (folder / "job.json").write_text(json.dumps({"name": "credentials", "tasks": [task]}))
        homes = {"without": folder / "home-without", "with": folder / "home-with"}
        for home in homes.values():
            home.mkdir()
        (homes["with"] / ".databrickscfg").write_text(PROFILE)
        for home in homes.values():
            _run(folder, home)  # warm-up, not timed: first byte-compilation and the IPython profile
        timings: dict[str, list[tuple[float, float]]] = {label: [] for label in homes}
        for _ in range(args.repeat):
            for label, home in homes.items():
                timings[label].append(_run(folder, home))
        print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs, {args.repeat} runs each")
        for label, runs in timings.items():
            wall = statistics.median(run[0] for run in runs)
            duration = statistics.median(run[1] for run in runs)
            print(f"{label:>7} ~/.databrickscfg: CLI {wall:.2f} s, task {duration:.2f} s (medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
