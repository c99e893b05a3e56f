"""The command line, run as a user runs it: exit codes, --json, history commands, cancel and crash recovery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.jobhelpers import cli, job, kernel_processes, nb_task, notebook


def _two_task_job(tmp_path: Path) -> Path:
    notebook(tmp_path / "a.ipynb", "dbutils.jobs.taskValues.set('rows', 3)")
    notebook(
        tmp_path / "b.ipynb", "dbutils.jobs.taskValues.set('seen', dbutils.jobs.taskValues.get('a', 'rows'))"
    )
    return job(tmp_path / "job.json", [nb_task("a", "a"), nb_task("b", "b", depends_on=["a"])], name="two")


def test_run_json_prints_exactly_one_run_document_and_exits_zero(tmp_path: Path, runs_dir: Path) -> None:
    result = cli("run", str(_two_task_job(tmp_path)), "--json", "--runs-dir", str(runs_dir))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # one document, nothing else on stdout
    assert document["state"] == "SUCCESS"
    assert document["tasks"]["b"]["values"] == {"seen": 3}


def test_a_relative_runs_dir_means_the_same_folder_to_every_task(tmp_path: Path) -> None:
    path = _two_task_job(tmp_path / "job")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_taskvalues.cli",
            "run",
            str(path),
            "--runs-dir",
            "rel/runs",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["tasks"]["b"]["values"] == {"seen": 3}
    assert (tmp_path / "rel" / "runs").is_dir()


def test_run_prints_the_values_at_the_end(tmp_path: Path, runs_dir: Path) -> None:
    result = cli("run", str(_two_task_job(tmp_path)), "--runs-dir", str(runs_dir))
    assert result.returncode == 0, result.stderr
    assert "SUCCESS" in result.stdout
    assert "rows = 3" in result.stdout and "seen = 3" in result.stdout


def test_failed_run_exits_one(tmp_path: Path, runs_dir: Path) -> None:
    notebook(tmp_path / "bad.ipynb", "raise SystemError('no')")
    result = cli("run", str(job(tmp_path / "job.json", [nb_task("bad", "bad")])), "--runs-dir", str(runs_dir))
    assert result.returncode == 1
    assert "FAILED" in result.stdout


def test_invalid_job_file_exits_two_with_one_clear_line(tmp_path: Path, runs_dir: Path) -> None:
    path = tmp_path / "job.json"
    task = {"task_key": "a", "depends_on": [{"task_key": "ghost"}], "notebook_task": {"notebook_path": "a"}}
    path.write_text(json.dumps({"name": "x", "tasks": [task]}))
    notebook(tmp_path / "a.ipynb", "pass")
    result = cli("run", str(path), "--runs-dir", str(runs_dir))
    assert result.returncode == 2
    assert "ghost" in result.stderr
    assert "Traceback" not in result.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())  # nothing ran


def test_usage_errors_exit_two(tmp_path: Path, runs_dir: Path) -> None:
    assert cli("run", str(_two_task_job(tmp_path)), "--max-parallel", "0").returncode == 2
    assert cli("run", str(_two_task_job(tmp_path)), "--param", "novalue").returncode == 2
    assert cli("frobnicate").returncode == 2


def test_runs_show_get_and_validate(tmp_path: Path, runs_dir: Path) -> None:
    path = _two_task_job(tmp_path)
    env = {"JUPYTER_TASKVALUES_RUNS_DIR": str(runs_dir)}
    run_id = json.loads(cli("run", str(path), "--json", env=env).stdout)["run_id"]

    runs = json.loads(cli("runs", "--json", env=env).stdout)
    assert [r["run_id"] for r in runs] == [run_id]
    assert run_id in cli("runs", env=env).stdout

    shown = json.loads(cli("show", run_id, "--task", "b", "--json", env=env).stdout)
    assert list(shown["tasks"]) == ["b"]
    assert "seen = 3" in cli("show", "latest", env=env).stdout

    got = cli("get", run_id, "a", "rows", env=env)
    assert got.returncode == 0 and json.loads(got.stdout) == 3
    missing = cli("get", run_id, "a", "nope", env=env)
    assert missing.returncode == 2 and "nope" in missing.stderr and "Traceback" not in missing.stderr
    bad_id = cli("show", "../../etc", env=env)
    assert bad_id.returncode == 2 and "not a valid run id" in bad_id.stderr

    valid = cli("validate", str(path))
    assert valid.returncode == 0 and "2 tasks" in valid.stdout


def test_jupyter_subcommand_works(tmp_path: Path) -> None:
    jupyter = Path(sys.executable).with_name("jupyter")
    result = subprocess.run(
        [str(jupyter), "taskvalues", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "run" in result.stdout


def _wait_for(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_sigint_cancels_the_run_records_it_and_leaves_nothing_running(tmp_path: Path, runs_dir: Path) -> None:
    started = tmp_path / "started"
    notebook(tmp_path / "slow.ipynb", f"open({str(started)!r}, 'w').close()\nimport time\ntime.sleep(120)")
    notebook(tmp_path / "after.ipynb", "pass")
    path = job(
        tmp_path / "job.json", [nb_task("slow", "slow"), nb_task("after", "after", depends_on=["slow"])]
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_taskvalues.cli", "run", str(path), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "JUPYTER_TASKVALUES_RUNS_DIR": str(runs_dir)},
    )
    _wait_for(started.exists)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    document = json.loads(stdout)
    assert document["state"] == "CANCELED"
    assert document["tasks"]["slow"]["state"] == "CANCELED"
    assert document["tasks"]["after"]["state"] == "UPSTREAM_CANCELED"
    assert kernel_processes(str(runs_dir)) == []


def test_a_runner_killed_with_sigkill_leaves_an_interrupted_run_that_repair_completes(
    tmp_path: Path, runs_dir: Path
) -> None:
    started = tmp_path / "started"
    gate = tmp_path / "gate"
    notebook(tmp_path / "a.ipynb", "dbutils.jobs.taskValues.set('a', 1)")
    notebook(
        tmp_path / "slow.ipynb",
        f"import os, time\nopen({str(started)!r}, 'w').close()\n"
        f"while not os.path.exists({str(gate)!r}):\n    time.sleep(0.1)\n"
        "dbutils.jobs.taskValues.set('b', 2)",
    )
    path = job(tmp_path / "job.json", [nb_task("a", "a"), nb_task("slow", "slow", depends_on=["a"])])
    env = {**os.environ, "JUPYTER_TASKVALUES_RUNS_DIR": str(runs_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_taskvalues.cli", "run", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    _wait_for(started.exists)
    os.killpg(process.pid, signal.SIGKILL)  # the runner and its kernels die at once, as in a crash
    process.wait()
    (run_id,) = os.listdir(runs_dir)
    shown = json.loads(
        cli("show", run_id, "--json", env={"JUPYTER_TASKVALUES_RUNS_DIR": str(runs_dir)}).stdout
    )
    assert shown["state"] == "INTERRUPTED"
    gate.write_text("open")
    repaired = cli("repair", run_id, "--json", env={"JUPYTER_TASKVALUES_RUNS_DIR": str(runs_dir)})
    assert repaired.returncode == 0, repaired.stderr
    document = json.loads(repaired.stdout)
    assert document["state"] == "SUCCESS"
    assert document["tasks"]["a"]["values"] == {"a": 1}
    assert document["tasks"]["slow"]["values"] == {"b": 2}
