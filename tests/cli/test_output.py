"""Task output in the terminal, with real kernels: --log-output, failure details, show --output, a pty."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from jupyter_taskvalues.store import RunStore
from tests.jobhelpers import cli, job, nb_task, notebook, start_cli

pytest_plugins = ["tests.s3.fixtures"]


def _printing_job(tmp_path: Path) -> Path:
    notebook(
        tmp_path / "a.ipynb",
        "import sys\nfor i in range(3):\n    print('a says', i, flush=True)\nprint('a warns', file=sys.stderr)",
        "dbutils.jobs.taskValues.set('rows', 3)\n6 * 7",
    )
    notebook(tmp_path / "b.ipynb", "print('b line 1')\nprint('b line 2')")
    return job(
        tmp_path / "job.json", [nb_task("a", "a"), nb_task("b", "b", depends_on=["a"])], name="printing"
    )


def test_log_output_with_json_keeps_json_on_stdout_and_prefixed_lines_in_order_on_stderr(
    tmp_path: Path, runs_dir: Path
) -> None:
    result = cli("run", str(_printing_job(tmp_path)), "--json", "--log-output")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tasks"]["a"]["values"] == {"rows": 3}
    lines = result.stderr.splitlines()
    a_lines = [line for line in lines if line.startswith("a | ")]
    assert a_lines == ["a | a says 0", "a | a says 1", "a | a says 2", "a | a warns", "a | 42"]
    assert [line for line in lines if line.startswith("b | ")] == ["b | b line 1", "b | b line 2"]
    assert lines.index("a | 42") < lines.index("b | b line 1")  # b runs after a
    assert "\x1b" not in result.stderr and "\x1b" not in result.stdout


def test_a_failed_task_shows_its_failing_line_traceback_end_and_notebook(
    tmp_path: Path, runs_dir: Path
) -> None:
    notebook(tmp_path / "bad.ipynb", "x = 1", "y = 2\nraise ValueError(f'bad value {x + y}')")
    result = cli("run", str(job(tmp_path / "job.json", [nb_task("bad", "bad")])))
    assert result.returncode == 1
    out = result.stdout
    assert "error: ValueError: bad value 3" in out
    assert "cell 2, line 2: raise ValueError(f'bad value {x + y}')" in out
    assert "ValueError: bad value 3" in out.splitlines()[-2]  # the traceback's last line, then the notebook
    (run_id,) = os.listdir(runs_dir)
    assert out.splitlines()[-1].strip() == f"notebook: {runs_dir / run_id / 'notebooks' / 'bad.ipynb'}"
    assert "\x1b" not in out


def test_show_output_prints_what_a_task_printed(tmp_path: Path, runs_dir: Path) -> None:
    assert cli("run", str(_printing_job(tmp_path)), "--json").returncode == 0
    shown = cli("show", "latest", "--task", "a", "--output")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == "a says 0\na says 1\na says 2\n42\n"
    assert shown.stderr == "a warns\n"
    unknown = cli("show", "latest", "--task", "nope", "--output")
    assert unknown.returncode == 2 and "its tasks are: a, b" in unknown.stderr


def test_on_a_terminal_stderr_gets_the_live_table_and_a_piped_stdout_no_escape_codes(
    tmp_path: Path, runs_dir: Path
) -> None:
    notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(1)\ndbutils.jobs.taskValues.set('n', 1)")
    path = job(tmp_path / "job.json", [nb_task("slow", "slow")], name="table")
    primary, secondary = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_taskvalues.cli", "run", str(path)],
        stdout=subprocess.PIPE,
        stderr=secondary,
        env=env,
    )
    os.close(secondary)
    drawn = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    stdout = process.stdout.read().decode() if process.stdout else ""
    assert process.wait(timeout=120) == 0
    os.close(primary)
    text = drawn.decode()
    assert "\x1b[" in text and "TASK" in text and "ELAPSED" in text and "RUNNING" in text
    assert "finished: SUCCESS" in text
    assert "\x1b" not in stdout and "n = 1" in stdout


def test_a_failed_for_each_iteration_shows_its_line_and_notebook(tmp_path: Path, runs_dir: Path) -> None:
    notebook(
        tmp_path / "each.ipynb",
        "n = int(dbutils.widgets.get('n'))",
        "assert n != 2, f'n was {n}'",
    )
    task = {
        "task_key": "sq",
        "for_each_task": {
            "inputs": "[1, 2]",
            "task": nb_task("sq_it", "each", base_parameters={"n": "{{input}}"}),
        },
    }
    result = cli("run", str(job(tmp_path / "job.json", [task])))
    assert result.returncode == 1
    out = result.stdout
    assert "error: AssertionError: n was 2" in out
    assert "cell 2, line 1: assert n != 2, f'n was {n}'" in out
    (run_id,) = os.listdir(runs_dir)
    notebooks = [line.strip() for line in out.splitlines() if line.strip().startswith("notebook: ")]
    assert len(notebooks) == 1 and notebooks[0].startswith(f"notebook: {runs_dir / run_id}")


def test_on_s3_each_task_output_log_is_uploaded_whatever_its_state_and_show_log_reads_it(
    tmp_path: Path, s3_runs: str
) -> None:
    notebook(tmp_path / "ok.ipynb", "for n in range(3000):\n    print(f'ok {n:04d}')")
    notebook(tmp_path / "bad.ipynb", "print('about to fail')\nraise ValueError('no rows')")
    notebook(tmp_path / "slow.ipynb", "import time\nprint('waiting', flush=True)\ntime.sleep(120)")
    path = job(
        tmp_path / "job.json",
        [nb_task("ok", "ok"), nb_task("bad", "bad"), nb_task("slow", "slow", timeout_seconds=3)],
    )
    done = cli("run", str(path), "--runs-dir", s3_runs, "--max-output-bytes", "4096", "--json")
    assert done.returncode == 1, done.stderr[-2000:]
    tasks = json.loads(done.stdout)["tasks"]
    assert {k: t["state"] for k, t in tasks.items()} == {"ok": "SUCCESS", "bad": "FAILED", "slow": "TIMEDOUT"}

    def shown(task: str) -> str:
        result = cli("show", "latest", "--runs-dir", s3_runs, "--task", task, "--log")
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert shown("ok") == "".join(f"ok {n:04d}\n" for n in range(3000))  # whole: 24,000 bytes
    assert shown("bad") == "about to fail\n"
    assert shown("slow") == "waiting\n"
    # The kept notebook's note names the log where it now is, not the runner's staging file.
    run_id = json.loads(done.stdout)["run_id"]
    kept = RunStore(s3_runs).read_notebook(run_id, "ok")
    note = "".join("".join(o.get("text", "")) for o in kept["cells"][0]["outputs"])
    assert f"the whole output is in {s3_runs}/{run_id}/notebooks/ok.output.log ..." in note
    assert not RunStore(s3_runs).output_log_path(run_id, "ok").exists()  # the staging file is gone


def test_on_s3_a_canceled_task_output_log_is_uploaded(tmp_path: Path, s3_runs: str) -> None:
    notebook(tmp_path / "slow.ipynb", "import time\nprint('started', flush=True)\ntime.sleep(300)")
    path = job(tmp_path / "job.json", [nb_task("slow", "slow")])
    process = start_cli("run", str(path), "--runs-dir", s3_runs, "--json")
    store = RunStore(s3_runs)
    deadline = time.monotonic() + 120
    while not (ids := store.run_ids()) or (store.read_task(ids[0], "slow") or {}).get("state") != "RUNNING":
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    time.sleep(1)  # the kernel prints once it runs the cell
    canceled = cli("cancel", "latest", "--runs-dir", s3_runs, "--wait")
    assert canceled.returncode == 0, canceled.stderr
    stdout, stderr = process.communicate(timeout=120)
    assert json.loads(stdout)["tasks"]["slow"]["state"] == "CANCELED", stderr[-2000:]
    shown = cli("show", "latest", "--runs-dir", s3_runs, "--task", "slow", "--log")
    assert (shown.returncode, shown.stdout) == (0, "started\n"), shown.stderr


def test_show_log_of_a_task_that_printed_nothing_says_so(tmp_path: Path, runs_dir: Path) -> None:
    notebook(tmp_path / "quiet.ipynb", "x = 1")
    assert cli("run", str(job(tmp_path / "job.json", [nb_task("quiet", "quiet")]))).returncode == 0
    shown = cli("show", "latest", "--task", "quiet", "--log")
    assert shown.returncode == 2
    assert (
        "Task 'quiet' of run " in shown.stderr and "has no output log (its state is SUCCESS)" in shown.stderr
    )
    both = cli("show", "latest", "--task", "quiet", "--log", "--output")
    assert both.returncode == 2 and "pass one of them" in both.stderr
