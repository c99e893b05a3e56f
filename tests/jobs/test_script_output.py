"""A script task's output goes to its output log, as a notebook task's does: shown, capped, kept on a URL store.

Real processes and real files: the scripts run in fresh interpreters, the runs directories are folders in
``tmp_path``, ``memory://`` (the runner's own process holds it; the scripts there set no value) or S3 (moto on
loopback, reached by every process).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.jobs.api import open_store, run_job
from jupyter_taskvalues.jobs.output_log import LOG_CUT_NOTE
from jupyter_taskvalues.jobs.scheduler import RunOptions
from tests.jobhelpers import cli, job

pytest_plugins = ["tests.s3.fixtures"]

#: Prints to both streams, a pause between each line so that the order they reach the runner is the order printed.
CHATTY = (
    "import sys, time\n"
    "print('to out')\n"
    "time.sleep(0.5)\n"
    "print('to err', file=sys.stderr)\n"
    "time.sleep(0.5)\n"
    "print('out again')\n"
)


def _script(tmp_path: Path, key: str, source: str, **fields: Any) -> dict[str, Any]:
    (tmp_path / f"{key}.py").write_text(source)
    return {"task_key": key, "spark_python_task": {"python_file": f"{key}.py"}, **fields}


def _log(runs: str | Path, run_id: str, task_key: str, iteration: int | None = None) -> str:
    with open_store(runs).open_output_log(run_id, task_key, iteration) as log:
        return log.read().decode()


@pytest.mark.slow
def test_show_log_and_show_output_print_a_script_tasks_output_in_the_order_printed(
    tmp_path: Path, runs_dir: Path
) -> None:
    path = job(tmp_path / "job.json", [_script(tmp_path, "talk", CHATTY + "raise SystemExit(3)\n")])
    done = cli("run", str(path), "--json")
    task = json.loads(done.stdout)["tasks"]["talk"]
    assert task["state"] == "FAILED"
    assert task["error"] == "The process exited with code 3. Last lines of stderr:\nto err"
    printed = "to out\nto err\nout again\n"
    for flag in ("--log", "--output"):  # --output: no executed notebook, so the log
        shown = cli("show", "latest", "--task", "talk", flag)
        assert (shown.returncode, shown.stdout, shown.stderr) == (0, printed, ""), flag


def test_on_a_memory_store_a_script_tasks_log_outlives_the_run_and_is_read_back(tmp_path: Path) -> None:
    runs = f"memory://script-logs-{tmp_path.name}"
    document = run_job(job(tmp_path / "job.json", [_script(tmp_path, "talk", CHATTY)]), runs_dir=runs)
    assert document["tasks"]["talk"]["state"] == "SUCCESS"
    assert _log(runs, document["run_id"], "talk") == "to out\nto err\nout again\n"
    store = open_store(runs)
    assert not store.output_log_path(document["run_id"], "talk").exists()  # the staging file is gone
    assert "logs" not in document["tasks"]["talk"]  # the record names no local file that is gone


@pytest.mark.slow
def test_on_s3_a_script_tasks_log_is_uploaded_when_it_ends_and_shown_by_another_process(
    tmp_path: Path, s3_runs: str
) -> None:
    source = (
        "from jupyter_taskvalues import dbutils\nprint('set rows')\ndbutils.jobs.taskValues.set('rows', 3)\n"
    )
    path = job(tmp_path / "job.json", [_script(tmp_path, "ingest", source)])
    done = cli("run", str(path), "--runs-dir", s3_runs, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(done.stdout)
    assert document["tasks"]["ingest"]["values"] == {"rows": 3}
    assert "logs" not in document["tasks"]["ingest"]
    for flag in ("--log", "--output"):
        shown = cli("show", "latest", "--runs-dir", s3_runs, "--task", "ingest", flag)
        assert (shown.returncode, shown.stdout) == (0, "set rows\n"), shown.stderr
    assert not open_store(s3_runs).output_log_path(document["run_id"], "ingest").exists()  # staging file gone


def test_on_a_memory_store_a_timed_out_script_tasks_log_is_uploaded_too(tmp_path: Path) -> None:
    runs = f"memory://script-timeout-{tmp_path.name}"
    slow = _script(tmp_path, "slow", "import time\nprint('started')\ntime.sleep(60)\n", timeout_seconds=2)
    document = run_job(job(tmp_path / "job.json", [slow]), runs_dir=runs)
    assert document["tasks"]["slow"]["state"] == "TIMEDOUT"
    assert _log(runs, document["run_id"], "slow") == "started\n"  # printed before the kill: line-buffered


def test_a_script_printing_past_the_log_cap_keeps_its_head_and_ends_with_the_note(tmp_path: Path) -> None:
    flood = (
        "import sys\nfor n in range(2000):\n    print(f'line {n:04d}')\nprint('the end', file=sys.stderr)\n"
    )
    document = run_job(
        job(tmp_path / "job.json", [_script(tmp_path, "flood", flood)]),
        runs_dir=tmp_path / "runs",
        options=RunOptions(max_output_log_bytes=4096),
    )
    head, note = _log(tmp_path / "runs", document["run_id"], "flood").rstrip("\n").rsplit("\n", 1)
    printed = "".join(f"line {n:04d}\n" for n in range(2000)) + "the end\n"
    assert len(head.encode()) == 4096 and printed.startswith(head)
    assert note == (
        f"{LOG_CUT_NOTE}{len(printed) - 4096:,} more bytes were printed after the first 4,096, over the "
        "4,096-byte limit of the output log (--max-output-log-bytes); they were dropped. A failed task's error "
        "quotes the last lines of its stderr. ...]"
    )


def test_a_retried_script_tasks_log_is_its_last_attempts_even_when_that_one_prints_nothing(
    tmp_path: Path,
) -> None:
    flag = tmp_path / "tried"
    source = (
        "import pathlib, sys\n"
        f"flag = pathlib.Path({str(flag)!r})\n"
        "if not flag.exists():\n"
        "    flag.touch()\n"
        "    print('first attempt')\n"
        "    sys.exit(1)\n"
    )
    document = run_job(
        job(tmp_path / "job.json", [_script(tmp_path, "flaky", source, max_retries=1)]),
        runs_dir=tmp_path / "runs",
    )
    task = document["tasks"]["flaky"]
    assert [a["state"] for a in task["attempts"]] == ["FAILED", "SUCCESS"]
    assert _log(tmp_path / "runs", document["run_id"], "flaky") == ""


def test_each_for_each_iteration_of_a_script_keeps_its_own_log(tmp_path: Path) -> None:
    nested = _script(tmp_path, "one", "import sys\nprint('item', sys.argv[1])\n")
    nested["spark_python_task"]["parameters"] = ["{{input}}"]
    each = {"task_key": "each", "for_each_task": {"inputs": '["a", "b"]', "concurrency": 2, "task": nested}}
    document = run_job(job(tmp_path / "job.json", [each]), runs_dir=tmp_path / "runs")
    assert document["tasks"]["each"]["state"] == "SUCCESS"
    runs, run_id = tmp_path / "runs", document["run_id"]
    assert [_log(runs, run_id, "each", i) for i in (0, 1)] == ["item a\n", "item b\n"]


def test_a_log_that_cannot_be_uploaded_is_said_in_the_error_of_a_script_and_of_a_notebook_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_taskvalues.store._fsspec import FsspecRunStore
    from tests.jobhelpers import nb_task, notebook

    def refused(self: Any, *args: Any) -> str:  # the object store's answer, at the upload seam
        raise OSError("quota exceeded")

    monkeypatch.setattr(FsspecRunStore, "write_output_log", refused)
    notebook(tmp_path / "says.ipynb", "print('from the notebook')")
    tasks = [_script(tmp_path, "talk", "print('from the script')\n"), nb_task("says", "says.ipynb")]
    document = run_job(job(tmp_path / "job.json", tasks), runs_dir=f"memory://unkept-{tmp_path.name}")
    for key in ("talk", "says"):
        task = document["tasks"][key]
        assert "Could not keep the output log: quota exceeded" in (task["error"] or ""), key
