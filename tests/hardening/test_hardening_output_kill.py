"""The runner killed with SIGKILL while a task streams output: the run reads as interrupted, repair completes.

What was streamed before the kill is in the task's output log (it is written as it arrives, not at the end), the
values stored before the kill are kept, and the repaired attempt starts its own log and notebook.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.hardening.hardening_helpers import wait_for
from tests.jobhelpers import cli, job, kernel_processes, nb_task, notebook


def test_a_runner_killed_while_a_task_streams_output_leaves_an_interrupted_run_that_repair_completes(
    tmp_path: Path, runs_dir: Path
) -> None:
    fixed = tmp_path / "fixed"
    notebook(
        tmp_path / "chatty.ipynb",
        "import os, time\ndbutils.jobs.taskValues.set('before', 1)\n"
        f"if not os.path.exists({str(fixed)!r}):\n"
        "    n = 0\n"
        "    while True:  # streams until the runner is killed\n"
        "        print(f'early {n:06d}', flush=True)\n"
        "        n += 1\n"
        "        time.sleep(0.002)\n"
        "for n in range(1000):\n"
        "    print(f'late {n:04d}')\n"
        "dbutils.jobs.taskValues.set('after', 2)",
    )
    path = job(tmp_path / "job.json", [nb_task("chatty", "chatty")])
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_taskvalues.cli", "run", str(path), "--runs-dir", str(runs_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    logs = lambda: list(runs_dir.glob("*/notebooks/chatty.output.log"))  # noqa: E731 - a probe
    wait_for(lambda: bool(logs()) and logs()[0].stat().st_size > 20_000, timeout=120)
    process.send_signal(signal.SIGKILL)
    process.wait()
    (run_id,) = os.listdir(runs_dir)
    wait_for(lambda: kernel_processes(str(runs_dir)) == [], timeout=30, interval=0.2)

    shown = json.loads(cli("show", run_id, "--json", "--runs-dir", str(runs_dir)).stdout)
    assert shown["state"] == "INTERRUPTED"
    assert shown["tasks"]["chatty"]["values"] == {"before": 1}
    streamed = logs()[0].read_text().splitlines()
    assert len(streamed) > 1000
    assert streamed[: len(streamed) - 1] == [f"early {n:06d}" for n in range(len(streamed) - 1)]  # in order

    fixed.write_text("yes")
    repaired = cli("repair", run_id, "--json", "--runs-dir", str(runs_dir))
    assert repaired.returncode == 0, repaired.stderr[-2000:]
    document = json.loads(repaired.stdout)
    assert document["state"] == "SUCCESS"
    assert document["tasks"]["chatty"]["values"] == {"before": 1, "after": 2}
    assert logs()[0].read_text() == "".join(f"late {n:04d}\n" for n in range(1000))
