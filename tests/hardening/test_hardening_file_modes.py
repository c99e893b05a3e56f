"""Files and directories the store and the runner create are not world-writable, even under a umask of 0.

A world-writable value file or run directory would let any local user replace a task value that a later task
(or a condition deciding a deployment) reads. The job runs in a subprocess, so the umask of the test process
is left alone.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.jobhelpers import job, nb_task, notebook

UMASK_ZERO_RUNNER = r"""
import os, sys
os.umask(0)
from jupyter_taskvalues import run_job
from jupyter_taskvalues.jobs.scheduler import RunOptions

run = run_job(sys.argv[1], runs_dir=sys.argv[2], options=RunOptions(max_parallel=1))
print(run["state"])
"""


def test_nothing_the_runner_and_the_store_create_is_world_writable_under_umask_zero(
    tmp_path: Path, runs_dir: Path
) -> None:
    notebook(tmp_path / "a.ipynb", "dbutils.jobs.taskValues.set('rows', 3)")
    notebook(
        tmp_path / "each.ipynb",
        "dbutils.jobs.taskValues.set('seen', dbutils.widgets.get('item'))",
    )
    path = job(
        tmp_path / "job.json",
        [
            nb_task("a", "a", max_retries=0),
            {
                "task_key": "loop",
                "depends_on": [{"task_key": "a"}],
                "for_each_task": {
                    "inputs": "[1, 2]",
                    "task": nb_task("loop_iteration", "each", base_parameters={"item": "{{input}}"}),
                },
            },
        ],
    )
    script = tmp_path / "runner.py"
    script.write_text(UMASK_ZERO_RUNNER)

    result = subprocess.run(
        [sys.executable, str(script), str(path), str(runs_dir)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "SUCCESS"
    writable = []
    for dirpath, dirnames, filenames in os.walk(runs_dir):
        for name in [*dirnames, *filenames]:
            mode = os.lstat(os.path.join(dirpath, name)).st_mode
            if mode & stat.S_IWOTH:
                writable.append(
                    f"{oct(stat.S_IMODE(mode))} {os.path.relpath(os.path.join(dirpath, name), runs_dir)}"
                )
    if runs_dir.stat().st_mode & stat.S_IWOTH:
        writable.append(f"{oct(stat.S_IMODE(runs_dir.stat().st_mode))} (the runs directory)")
    assert writable == [], json.dumps(writable, indent=1)
