"""Faults around the runner, with real kernels: kernels that die, a runner killed, floods of output, leftovers.

Each test runs a real job; the faults are real (``os._exit``, a segfault, SIGKILL, 100 MB on stdout, child
processes left running).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_taskvalues import run_job
from jupyter_taskvalues.jobs.scheduler import RunOptions
from tests.hardening.hardening_helpers import wait_for
from tests.jobhelpers import cli, job, kernel_processes, nb_task, notebook


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# -- kernels that die ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "death",
    [
        pytest.param("import os\nos._exit(1)", id="os._exit"),
        pytest.param("import ctypes\nctypes.string_at(0)", id="segfault"),
        pytest.param("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", id="sigkill"),
    ],
)
def test_a_kernel_that_dies_fails_its_task_with_kernel_died_and_the_job_goes_on_by_run_if(
    tmp_path: Path, runs_dir: Path, death: str
) -> None:
    notebook(
        tmp_path / "die.ipynb",
        "dbutils.jobs.taskValues.set('before', 1)",
        death,
        "dbutils.jobs.taskValues.set('after', 2)",
    )
    notebook(tmp_path / "ok.ipynb", "dbutils.jobs.taskValues.set('ran', True)")
    path = job(
        tmp_path / "job.json",
        [
            nb_task("die", "die"),
            nb_task("needs_success", "ok", depends_on=["die"]),
            nb_task("cleanup", "ok", depends_on=["die"], run_if="ALL_DONE"),
            nb_task("alert", "ok", depends_on=["die"], run_if="AT_LEAST_ONE_FAILED"),
        ],
    )

    run = run_job(path, runs_dir=runs_dir, options=RunOptions(max_parallel=2))

    died = run["tasks"]["die"]
    assert died["state"] == "FAILED"
    assert "kernel died" in died["error"]
    assert died["values"] == {"before": 1}  # what was set before the crash is kept
    assert Path(died["output_notebook"]).exists()
    assert run["tasks"]["needs_success"]["state"] == "UPSTREAM_FAILED"
    assert run["tasks"]["cleanup"]["values"] == {"ran": True}
    assert run["tasks"]["alert"]["values"] == {"ran": True}
    assert run["state"] == "FAILED"
    assert kernel_processes(str(runs_dir)) == []


def test_a_kernel_that_dies_is_retried_and_the_retry_can_succeed(tmp_path: Path, runs_dir: Path) -> None:
    marker = tmp_path / "crashed-once"
    notebook(
        tmp_path / "flaky.ipynb",
        f"import os\nif not os.path.exists({str(marker)!r}):\n    open({str(marker)!r}, 'w').close()\n"
        "    os._exit(1)\ndbutils.jobs.taskValues.set('ok', True)",
    )
    path = job(tmp_path / "job.json", [nb_task("flaky", "flaky", max_retries=1)])

    run = run_job(path, runs_dir=runs_dir)

    task = run["tasks"]["flaky"]
    assert task["state"] == "SUCCESS"
    assert [a["state"] for a in task["attempts"]] == ["FAILED", "SUCCESS"]
    assert "kernel died" in task["attempts"][0]["error"]
    assert task["values"] == {"ok": True}


# -- a runner killed with SIGKILL -----------------------------------------------------------------------------


def test_a_runner_alone_killed_with_sigkill_takes_its_kernels_down_and_repair_completes_the_run(
    tmp_path: Path, runs_dir: Path
) -> None:
    # Only the runner process is killed (not its process group): its kernels, in sessions of their own, must
    # notice their parent is gone and exit, and must not keep writing into the interrupted run.
    started = tmp_path / "started"
    gate = tmp_path / "gate"
    notebook(tmp_path / "a.ipynb", "dbutils.jobs.taskValues.set('a', 1)")
    notebook(
        tmp_path / "slow.ipynb",
        f"import os, time\nopen({str(started)!r}, 'w').close()\n"
        f"while not os.path.exists({str(gate)!r}):\n    time.sleep(0.05)\n"
        "dbutils.jobs.taskValues.set('b', 2)",
    )
    path = job(
        tmp_path / "job.json",
        [
            nb_task("a", "a"),
            nb_task("slow", "slow", depends_on=["a"]),
            nb_task("c", "a", depends_on=["slow"]),
        ],
    )
    env = {**os.environ, "JUPYTER_TASKVALUES_RUNS_DIR": str(runs_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_taskvalues.cli", "run", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    wait_for(started.exists, timeout=120)
    process.send_signal(signal.SIGKILL)
    process.wait()
    (run_id,) = os.listdir(runs_dir)

    wait_for(lambda: kernel_processes(str(runs_dir)) == [], timeout=30, interval=0.2)
    gate.write_text("open")  # had the orphaned kernel survived, it would now set 'b' in the dead run
    time.sleep(0.5)
    shown = json.loads(cli("show", run_id, "--json", "--runs-dir", str(runs_dir)).stdout)
    assert shown["state"] == "INTERRUPTED"
    assert shown["tasks"]["slow"]["values"] == {}

    repaired = cli("repair", run_id, "--json", "--runs-dir", str(runs_dir))

    assert repaired.returncode == 0, repaired.stderr
    document = json.loads(repaired.stdout)
    assert document["state"] == "SUCCESS"
    assert document["tasks"]["a"]["values"] == {"a": 1}
    assert document["tasks"]["slow"]["values"] == {"b": 2}
    assert document["tasks"]["c"]["state"] == "SUCCESS"
    assert kernel_processes(str(runs_dir)) == []


# -- a flood of output ----------------------------------------------------------------------------------------

FLOOD_RUNNER = r"""
import json, resource, sys
from jupyter_taskvalues import run_job
from jupyter_taskvalues.jobs.scheduler import RunOptions

run = run_job(sys.argv[1], runs_dir=sys.argv[2], options=RunOptions(max_parallel=1))
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"run": run, "peak_mib": peak_mib}))
"""


def test_a_task_printing_100_mb_leaves_the_runner_up_and_a_capped_notebook_with_a_note(
    tmp_path: Path, runs_dir: Path
) -> None:
    # 100 lines of 1 MB each, then a value: the task succeeds, the downstream task runs, the kept notebook
    # holds a capped output that says it was cut, and the runner's memory stays bounded.
    notebook(
        tmp_path / "flood.ipynb",
        "import sys\nline = 'x' * (1024 * 1024 - 1)\nfor _ in range(100):\n    print(line)",
        "dbutils.jobs.taskValues.set('done', True)",
    )
    notebook(
        tmp_path / "after.ipynb",
        "dbutils.jobs.taskValues.set('seen', dbutils.jobs.taskValues.get('flood', 'done'))",
    )
    path = job(
        tmp_path / "job.json", [nb_task("flood", "flood"), nb_task("after", "after", depends_on=["flood"])]
    )
    script = tmp_path / "runner.py"
    script.write_text(FLOOD_RUNNER)

    result = subprocess.run(
        [sys.executable, str(script), str(path), str(runs_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    run = report["run"]
    assert run["state"] == "SUCCESS", run["tasks"]["flood"]["error"]
    assert run["tasks"]["after"]["values"] == {"seen": True}
    kept = Path(run["tasks"]["flood"]["output_notebook"])
    assert kept.stat().st_size < 3 * 1024 * 1024
    text = kept.read_text()
    assert "output truncated: 104,857,600 bytes" in text
    # Everything printed went to the output log as it arrived; the note in the notebook says where it is.
    log = kept.with_name("flood.output.log")
    assert log.stat().st_size == 100 * 1024 * 1024
    assert str(log) in text
    print(f"runner peak RSS while a task printed 100 MB: {report['peak_mib']:.0f} MiB")
    assert report["peak_mib"] < 1024


# -- processes a task leaves behind ---------------------------------------------------------------------------


def test_child_processes_a_task_leaves_running_are_gone_when_the_task_ends(
    tmp_path: Path, runs_dir: Path
) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    notebook(
        tmp_path / "child.ipynb",
        f"import subprocess\np = subprocess.Popen(['sleep', '1000'])\nopen({str(pids / 'popen')!r}, 'w').write(str(p.pid))",
    )
    notebook(
        tmp_path / "grandchild.ipynb",
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    if os.fork() == 0:\n"
        f"        open({str(pids / 'grandchild')!r}, 'w').write(str(os.getpid()))\n"
        "        time.sleep(1000)\n"
        "    os._exit(0)\n"
        "os.wait()\n"
        f"while not os.path.exists({str(pids / 'grandchild')!r}):\n    time.sleep(0.01)",
    )
    notebook(
        tmp_path / "shell.ipynb",
        f"import subprocess\nsubprocess.run('sleep 1000 & echo $! > {pids / 'shell'}', shell=True, check=True)",
    )
    path = job(
        tmp_path / "job.json",
        [nb_task("child", "child"), nb_task("grandchild", "grandchild"), nb_task("shell", "shell")],
    )

    run = run_job(path, runs_dir=runs_dir, options=RunOptions(max_parallel=2))

    assert run["state"] == "SUCCESS"
    left = {f.name: int(f.read_text()) for f in pids.iterdir()}
    assert set(left) == {"popen", "grandchild", "shell"}
    try:
        wait_for(lambda: not any(_alive(pid) for pid in left.values()), timeout=10, interval=0.1)
    finally:
        for pid in left.values():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
