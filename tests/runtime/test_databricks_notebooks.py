"""Databricks source notebooks written for this suite, run as tasks in real kernels (issue 14).

Each notebook reaches for the runtime the way Databricks notebooks do: ``from databricks.sdk.runtime import
...``, ``DBUtils(spark)``, ``display``, ``dbutils.notebook.run``, ``dbutils.secrets``, ``dbutils.fs``,
``%sql``, ``%run``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues import run_job
from jupyter_taskvalues.document import run_document
from jupyter_taskvalues.store import RunStore
from tests.jobhelpers import cli, databricks_source, job, nb_task
from tests.runtime.hiding import SDK, SPARK, site_without, swap_cell

# Records every socket connection the kernel opens from here on (an audit hook cannot be removed, and the
# kernel ends with the task).
CONNECTIONS = (
    "import sys\n"
    "_connections = []\n"
    "sys.addaudithook(lambda event, args: _connections.append(repr(args[1])) if event == 'socket.connect' "
    "else None)"
)


def _task(tmp_path: Path, runs_dir: Path, *cells: str, **fields: Any) -> dict[str, Any]:
    databricks_source(tmp_path / "task.py", *cells)
    run = run_job(job(tmp_path / "job.json", [nb_task("t", "task", **fields)]), runs_dir=runs_dir)
    task: dict[str, Any] = run["tasks"]["t"]
    task["run_id"] = run["run_id"]
    return task


def _outputs(task: dict[str, Any]) -> list[dict[str, Any]]:
    nb = json.loads(Path(task["output_notebook"]).read_text())
    return [output for cell in nb["cells"] for output in cell.get("outputs", [])]


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


# -- every import style --------------------------------------------------------------------------------------


RUNTIME = (
    "['display', 'displayHTML', 'dbutils', 'table', 'sql', 'udf', 'getArgument', 'sc', 'sqlContext', 'spark']"
)


UNREACHABLE = "http://127.0.0.1:9"


def _credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, profile: str = "") -> None:
    """Databricks credentials for a host that is unreachable, in the task kernel's environment from its start.

    ``source`` is ``"none"`` (no variables, no config file), ``"environment"`` (``DATABRICKS_HOST`` and
    ``DATABRICKS_TOKEN``, and a config file too) or ``"databrickscfg"`` (only the config file, which the SDK
    reads when no variable configures it; ``profile`` adds lines to its profile).
    """
    config = tmp_path / "databrickscfg"
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
    if source != "none":
        config.write_text(f"[DEFAULT]\nhost = {UNREACHABLE}\ntoken = dapi-from-file\n{profile}")
    if source == "environment":
        monkeypatch.setenv("DATABRICKS_HOST", UNREACHABLE)
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")


@pytest.mark.parametrize("sdk", ["sdk-installed", "sdk-absent"])
@pytest.mark.parametrize("credentials", ["none", "environment", "databrickscfg"])
def test_every_import_style_in_a_task_gives_our_runtime_and_makes_no_network_call(
    tmp_path: Path, runs_dir: Path, monkeypatch: pytest.MonkeyPatch, credentials: str, sdk: str
) -> None:
    _credentials(tmp_path, monkeypatch, credentials)
    databricks_source(tmp_path / "helpers.py", "def double(n):\n    return 2 * n")
    swap = swap_cell(site_without(tmp_path, SDK), ("databricks",)) + "\n" if sdk == "sdk-absent" else ""
    task = _task(
        tmp_path,
        runs_dir,
        swap + CONNECTIONS + f"\nnames = {RUNTIME}\nnative = {{name: globals()[name] for name in names}}",
        "from databricks.sdk.runtime import dbutils\nassert dbutils is native['dbutils'], type(dbutils)",
        "for name in names:\n    del globals()[name]\n"
        "from databricks.sdk.runtime import *\n"
        "rebound = [name for name in names if globals()[name] is not native[name]]\nassert not rebound, rebound",
        "from pyspark.dbutils import DBUtils\nassert DBUtils(spark) is native['dbutils']",
        "# MAGIC %run ./helpers",
        "try:\n    from databricks.sdk import WorkspaceClient\n    client = 'importable'\n"
        "except ImportError:\n    client = 'missing'\n"
        "import os\n"
        "dbutils.jobs.taskValues.set('doubled', double(int(getArgument('n', '0'))))\n"
        "dbutils.jobs.taskValues.set('client', client)\n"
        "dbutils.jobs.taskValues.set('seen', [os.environ.get('DATABRICKS_HOST'), "
        "os.path.exists(os.environ['DATABRICKS_CONFIG_FILE'])])\n"
        "dbutils.jobs.taskValues.set('connections', _connections)",
        base_parameters={"n": "21"},
    )

    assert task["state"] == "SUCCESS", task.get("error")
    client = "importable" if sdk == "sdk-installed" else "missing"
    seen = {"none": [None, False], "environment": [UNREACHABLE, True], "databrickscfg": [None, True]}
    assert task["values"] == {"doubled": 42, "client": client, "seen": seen[credentials], "connections": []}


def test_workspace_client_dbutils_in_a_task_is_ours_and_its_constructor_probes_the_host(
    tmp_path: Path, runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # WorkspaceClient() resolves the profile and asks the host for its metadata (the SDK's own config
    # resolution, a limit the README states); the profile's short retry budget is the README's remedy.
    _credentials(tmp_path, monkeypatch, "databrickscfg", profile="retry_timeout_seconds = 1\n")
    task = _task(
        tmp_path,
        runs_dir,
        CONNECTIONS,
        "from databricks.sdk import WorkspaceClient\n"
        "w = WorkspaceClient()\n"
        "assert w.dbutils is dbutils, type(w.dbutils)\n"
        "w.dbutils.jobs.taskValues.set('through', 'workspace-client')\n"
        "dbutils.jobs.taskValues.set('connections', sorted(set(_connections)))",
    )

    assert task["state"] == "SUCCESS", task.get("error")
    assert task["values"] == {"through": "workspace-client", "connections": ["('127.0.0.1', 9)"]}


# -- the guard -----------------------------------------------------------------------------------------------


FAKE_REMOTE = (
    "class _DroppingTaskValues:\n"
    "    def set(self, key, value):\n"
    "        return True  # what a remote dbutils does off Databricks: nothing\n"
    "class FakeRemoteDbUtils:\n"
    "    class jobs:\n"
    "        taskValues = _DroppingTaskValues()\n"
    "dbutils = FakeRemoteDbUtils()"
)


def test_guard_fails_the_task_whose_set_went_to_a_remote_dbutils_bound_over_ours(
    tmp_path: Path, runs_dir: Path
) -> None:
    task = _task(tmp_path, runs_dir, FAKE_REMOTE, "dbutils.jobs.taskValues.set('rows', 1204)")

    assert task["state"] == "FAILED"
    assert task["values"] == {}
    assert "LostTaskValuesError" in task["error"] and "Task values were lost" in task["error"]
    assert "FakeRemoteDbUtils" in task["error"] and "In [2]" in task["error"]


def test_guard_catches_the_silent_loss_through_the_sdks_own_remote_dbutils(
    tmp_path: Path, runs_dir: Path
) -> None:
    task = _task(
        tmp_path,
        runs_dir,
        "from databricks.sdk.dbutils import RemoteDbUtils\nfrom databricks.sdk.core import Config\n"
        "dbutils = RemoteDbUtils(Config(host='http://127.0.0.1:9', token='dapi-test', retry_timeout_seconds=1))",
        "print('set returned', dbutils.jobs.taskValues.set('rows', 1204))",
    )

    # The SDK's set returned without a word (the loss the guard is for); the guard failed the task.
    assert "set returned None" in Path(task["output_notebook"]).read_text()
    assert task["state"] == "FAILED" and task["values"] == {}
    assert "LostTaskValuesError" in task["error"] and "databricks.sdk.dbutils.RemoteDbUtils" in task["error"]


def test_guard_lets_a_foreign_dbutils_pass_with_a_warning_when_no_cell_sets_a_value(
    tmp_path: Path, runs_dir: Path
) -> None:
    task = _task(tmp_path, runs_dir, FAKE_REMOTE, "x = 1")

    assert task["state"] == "SUCCESS", task.get("error")
    [warning] = task["warnings"]
    assert warning.startswith("dbutils is a __main__.FakeRemoteDbUtils, not jupyter-taskvalues' dbutils.")
    assert "from databricks.sdk.runtime import dbutils" in warning


REMOTE_DBUTILS = (
    "from databricks.sdk.core import Config\n"
    "from databricks.sdk.dbutils import RemoteDbUtils\n"
    "dbutils = RemoteDbUtils(Config(host='http://127.0.0.1:9', token='dapi-test', retry_timeout_seconds=1))\n"
)


def test_guard_fails_the_task_whose_helper_module_sets_through_its_remote_dbutils(
    tmp_path: Path, runs_dir: Path
) -> None:
    helpers = tmp_path / "src" / "helpers.py"
    helpers.parent.mkdir()
    helpers.write_text(
        REMOTE_DBUTILS + "\n\ndef publish(key, value):\n    dbutils.jobs.taskValues.set(key, value)\n"
    )
    task = _task(tmp_path, runs_dir, "from src.helpers import publish\npublish('rows', 1204)")

    assert task["state"] == "FAILED"
    assert task["values"] == {}
    assert "LostTaskValuesError" in task["error"]
    assert (
        f"src.helpers ({helpers}) line 7 calls dbutils.jobs.taskValues.set on its global dbutils"
        in task["error"]
    )
    assert "a databricks.sdk.dbutils.RemoteDbUtils" in task["error"]


def test_guard_warns_in_the_record_and_the_cli_when_a_remote_dbutils_is_handed_to_a_helper(
    tmp_path: Path, runs_dir: Path
) -> None:
    publishing = tmp_path / "src" / "publishing.py"
    publishing.parent.mkdir()
    publishing.write_text("def publish(dbutils, key, value):\n    dbutils.jobs.taskValues.set(key, value)\n")
    databricks_source(
        tmp_path / "task.py",
        REMOTE_DBUTILS,
        "from src.publishing import publish\npublish(dbutils, 'rows', 1204)",
    )
    path = job(tmp_path / "job.json", [nb_task("t", "task")])

    result = cli("run", str(path), "--runs-dir", str(runs_dir))

    assert result.returncode == 0, result.stderr
    store = RunStore(runs_dir)
    [run_id] = [run["run_id"] for run in store.list_runs()]
    task = run_document(store, run_id)["tasks"]["t"]
    assert task["state"] == "SUCCESS" and task["values"] == {}
    [warning] = task["warnings"]
    assert warning.startswith(
        "dbutils is a databricks.sdk.dbutils.RemoteDbUtils, not jupyter-taskvalues' dbutils."
    )
    assert f"src.publishing ({publishing}) line 2 calls taskValues.set on an object it was given" in warning
    assert f"      warning: {warning}\n" in result.stdout


def test_the_cli_shows_each_warning_as_one_yellow_line() -> None:
    from io import StringIO

    from rich.console import Console

    from jupyter_taskvalues.cli.render import print_run

    task = {
        "state": "SUCCESS",
        "values": {},
        "warnings": ["first \x1b[2J", "second"],
        "duration_seconds": 1.0,
    }
    out = StringIO()

    print_run(
        {"run_id": "r", "job_name": "j", "state": "SUCCESS", "tasks": {"t": task}},
        Console(file=out, force_terminal=True, color_system="standard", width=200),
    )

    lines = [line for line in out.getvalue().splitlines() if "warning:" in line]
    assert lines == ["\x1b[33m      warning: first \\x1b[2J\x1b[0m", "\x1b[33m      warning: second\x1b[0m"]


def test_guard_checks_a_task_that_ends_with_notebook_exit(tmp_path: Path, runs_dir: Path) -> None:
    task = _task(
        tmp_path,
        runs_dir,
        FAKE_REMOTE,
        "dbutils.jobs.taskValues.set('rows', 1)",
        "from jupyter_taskvalues import dbutils as ours\nours.notebook.exit('done')",
    )

    assert task["state"] == "FAILED"
    assert "Task values were lost" in task["error"]


# -- display -------------------------------------------------------------------------------------------------


def test_display_and_display_html_are_rich_outputs_of_the_executed_notebook(
    tmp_path: Path, runs_dir: Path
) -> None:
    task = _task(
        tmp_path,
        runs_dir,
        "import pandas as pd\ndisplay(pd.DataFrame({'city': ['Oslo', 'Lima'], 'n': [1, 2]}))",
        "displayHTML('<h2 id=\"report\">Report</h2>')",
        "display([{'a': 1}, {'a': 2}])",
    )

    assert task["state"] == "SUCCESS", task.get("error")
    shown = [output for output in _outputs(task) if output["output_type"] == "display_data"]
    assert len(shown) == 3
    table = _text(shown[0]["data"]["text/html"])
    assert "<table" in table and "Oslo" in table and "Lima" in table
    assert _text(shown[1]["data"]["text/html"]) == '<h2 id="report">Report</h2>'
    assert "<table" in _text(shown[2]["data"]["text/html"])


# -- dbutils.notebook.run ------------------------------------------------------------------------------------


def test_notebook_run_passes_arguments_as_widgets_and_returns_the_exit_value(
    tmp_path: Path, runs_dir: Path
) -> None:
    databricks_source(
        tmp_path / "child.py",
        "dbutils.widgets.text('n', '1')\nn = int(dbutils.widgets.get('n'))",
        "dbutils.jobs.taskValues.set('child_saw', n)\ndbutils.notebook.exit(str(n * 2))",
        "raise AssertionError('not reached: exit ended the child')",
    )
    task = _task(
        tmp_path,
        runs_dir,
        "result = dbutils.notebook.run('./child', 60, {'n': '4'})\n"
        "dbutils.jobs.taskValues.set('result', result)",
    )

    assert task["state"] == "SUCCESS", task.get("error")
    assert task["values"] == {"child_saw": 4, "result": "8"}
    kept = RunStore(runs_dir).read_notebook(task["run_id"], "t.notebook_run.1")
    record = kept["metadata"]["jupyter_taskvalues"]["notebook_run"]
    assert record["arguments"] == {"n": "4"} and record["exit_value"] == "8" and record["state"] == "SUCCESS"
    # The task's record lists the child run, and where it was kept.
    [child] = task["notebook_runs"]
    assert {**record, "output_notebook": child["output_notebook"]} == {**child, "task_key": "t"}
    assert json.loads(Path(child["output_notebook"]).read_text()) == kept


def test_notebook_run_raises_for_a_failing_missing_or_slow_child(tmp_path: Path, runs_dir: Path) -> None:
    databricks_source(tmp_path / "fails.py", "raise ValueError('bad input row 7')")
    databricks_source(tmp_path / "slow.py", "import time\ntime.sleep(60)")
    task = _task(
        tmp_path,
        runs_dir,
        "from jupyter_taskvalues.runtime.notebook_run import NotebookRunTimeoutError, WorkflowException\n"
        "outcomes = {}\n"
        "for name, timeout in (('./fails', 60), ('./nowhere/missing', 60), ('./slow', 2)):\n"
        "    try:\n"
        "        dbutils.notebook.run(name, timeout)\n"
        "    except WorkflowException as e:\n"
        "        outcomes[name] = [type(e).__name__, isinstance(e, TimeoutError), str(e)]\n"
        "dbutils.jobs.taskValues.set('outcomes', outcomes)",
    )

    assert task["state"] == "SUCCESS", task.get("error")
    outcomes = task["values"]["outcomes"]
    assert outcomes["./fails"][0] == "WorkflowException"
    assert "ValueError: bad input row 7" in outcomes["./fails"][2]
    missing = outcomes["./nowhere/missing"][2]
    assert "nowhere/missing" in missing and "missing.py" in missing and "missing.ipynb" in missing
    assert outcomes["./slow"][:2] == ["NotebookRunTimeoutError", True]
    assert "timed out after 2 seconds" in outcomes["./slow"][2]


def _children(tmp_path: Path) -> None:
    """``doubled`` exits with twice its argument ``n``; ``broken`` fails."""
    databricks_source(
        tmp_path / "doubled.py",
        "dbutils.widgets.text('n', '1')",
        "dbutils.notebook.exit(str(int(dbutils.widgets.get('n')) * 2))",
    )
    databricks_source(tmp_path / "broken.py", "raise ValueError('bad input row 7')")


@pytest.mark.slow
def test_the_child_runs_of_each_task_are_listed_in_the_run_document_and_by_show(
    tmp_path: Path, runs_dir: Path
) -> None:
    _children(tmp_path)
    databricks_source(
        tmp_path / "caller.py",
        "doubled = dbutils.notebook.run('./doubled', 60, {'n': '4'})",
        "try:\n    dbutils.notebook.run('./broken', 60)\nexcept Exception as e:\n    caught = type(e).__name__",
        "dbutils.jobs.taskValues.set('seen', [doubled, caught])",
    )
    databricks_source(tmp_path / "fails.py", "dbutils.notebook.run('./broken', 60, {'why': 'uncaught'})")
    databricks_source(tmp_path / "plain.py", "x = 1")
    path = job(
        tmp_path / "job.json",
        [nb_task("caller", "caller"), nb_task("fails", "fails"), nb_task("plain", "plain")],
    )

    shown = cli("run", str(path), "--runs-dir", str(runs_dir))
    store = RunStore(runs_dir)
    [run_id] = [run["run_id"] for run in store.list_runs()]
    tasks = run_document(store, run_id)["tasks"]

    caller = tasks["caller"]
    assert caller["state"] == "SUCCESS", caller["error"]
    assert caller["values"] == {"seen": ["8", "WorkflowException"]}
    first, second = caller["notebook_runs"]
    assert {k: first[k] for k in ("number", "path", "arguments", "state", "exit_value", "error")} == {
        "number": 1,
        "path": "./doubled",
        "arguments": {"n": "4"},
        "state": "SUCCESS",
        "exit_value": "8",
        "error": None,
    }
    assert (second["number"], second["path"], second["state"], second["exit_value"]) == (
        2,
        "./broken",
        "FAILED",
        None,
    )
    assert "ValueError: bad input row 7" in second["error"]
    for child in (first, second):
        assert child["start_time"] <= child["end_time"]
        kept = json.loads(Path(child["output_notebook"]).read_text())
        assert kept == store.read_notebook(run_id, f"caller.notebook_run.{child['number']}")
        assert kept["metadata"]["jupyter_taskvalues"]["notebook_run"]["state"] == child["state"]
    # A task that fails because its child failed still lists the child.
    fails = tasks["fails"]
    assert fails["state"] == "FAILED" and "WorkflowException" in fails["error"]
    [child] = fails["notebook_runs"]
    assert (child["path"], child["arguments"], child["state"]) == ("./broken", {"why": "uncaught"}, "FAILED")
    assert Path(child["output_notebook"]).is_file()
    assert tasks["plain"]["notebook_runs"] == []
    # `show` prints them under their task: path, state, exit value, where kept.
    result = cli("show", run_id, "--runs-dir", str(runs_dir))
    assert result.returncode == 0, result.stderr
    assert (
        f"      notebook run 1: ./doubled SUCCESS, exit: 8, kept as {first['output_notebook']}\n"
        f"      notebook run 2: ./broken FAILED, kept as {second['output_notebook']}\n"
        "          error: Notebook './broken' (run by dbutils.notebook.run) failed: ValueError: bad input row 7\n"
    ) in result.stdout
    assert f"      notebook run 1: ./broken FAILED, kept as {child['output_notebook']}\n" in result.stdout
    assert shown.returncode != 0  # the run failed: task fails


@pytest.mark.slow
def test_each_for_each_iteration_lists_its_own_child_runs(tmp_path: Path, runs_dir: Path) -> None:
    _children(tmp_path)
    databricks_source(
        tmp_path / "each.py",
        "n = dbutils.widgets.get('n')\nif n == '3':\n    dbutils.notebook.run('./broken', 60)",
        "dbutils.notebook.exit(dbutils.notebook.run('./doubled', 60, {'n': n}))",
    )
    loop = {
        "task_key": "loop",
        "for_each_task": {
            "inputs": "[1, 3]",
            "concurrency": 2,
            "task": nb_task("each_it", "each", base_parameters={"n": "{{input}}"}),
        },
    }
    run = run_job(job(tmp_path / "job.json", [loop]), runs_dir=runs_dir)

    ok, failed = run["tasks"]["loop"]["iterations"]
    assert ok["state"] == "SUCCESS" and ok["exit_value"] == "2"
    [child] = ok["notebook_runs"]
    assert (child["path"], child["arguments"], child["state"], child["exit_value"]) == (
        "./doubled",
        {"n": "1"},
        "SUCCESS",
        "2",
    )
    # Numbered in the iteration's own kernel, kept with the iteration.
    kept = RunStore(runs_dir).read_notebook(run["run_id"], "loop.notebook_run.1", 0)
    assert json.loads(Path(child["output_notebook"]).read_text()) == kept
    assert failed["state"] == "FAILED"
    assert [(c["path"], c["state"]) for c in failed["notebook_runs"]] == [("./broken", "FAILED")]
    assert run["tasks"]["loop"]["notebook_runs"] == []


@pytest.mark.slow
def test_a_task_timeout_that_interrupts_a_running_child_lists_it_canceled(
    tmp_path: Path, runs_dir: Path
) -> None:
    databricks_source(tmp_path / "slow.py", "import time\ntime.sleep(120)")
    task = _task(tmp_path, runs_dir, "dbutils.notebook.run('./slow', 0)", timeout_seconds=8)

    assert task["state"] == "TIMEDOUT"
    [child] = task["notebook_runs"]
    assert (child["path"], child["state"]) == ("./slow", "CANCELED")
    assert child["error"] == "dbutils.notebook.run('./slow') was interrupted."
    assert Path(child["output_notebook"]).is_file()


def test_show_prints_child_runs_escaped_as_data() -> None:
    from io import StringIO

    from rich.console import Console

    from jupyter_taskvalues.cli.render import print_run

    child = {
        "number": 1,
        "path": "./child\x1b[2J",
        "state": "FAILED",
        "exit_value": "done\x07",
        "error": "Notebook failed: \x1b]0;title\x07boom\nTraceback...",
        "output_notebook": "/runs/r/notebooks/t.notebook_run.1\x1b[31m.ipynb",
    }
    iteration = {"index": 0, "input": 1, "state": "SUCCESS", "notebook_runs": [{**child, "state": "SUCCESS"}]}
    task = {"state": "SUCCESS", "values": {}, "notebook_runs": [child], "iterations": [iteration]}
    out = StringIO()

    print_run(
        {"run_id": "r", "job_name": "j", "state": "SUCCESS", "tasks": {"t": task}},
        Console(file=out, width=300),
    )

    assert out.getvalue().splitlines()[2:] == [
        "      notebook run 1: ./child\\x1b[2J FAILED, exit: done\\x07, "
        "kept as /runs/r/notebooks/t.notebook_run.1\\x1b[31m.ipynb",
        "          error: Notebook failed: \\x1b]0;title\\x07boom",
        "      [0] 1: SUCCESS",
        "          notebook run 1: ./child\\x1b[2J SUCCESS, exit: done\\x07, "
        "kept as /runs/r/notebooks/t.notebook_run.1\\x1b[31m.ipynb",
    ]


# -- secrets -------------------------------------------------------------------------------------------------


def test_secret_values_are_redacted_from_the_executed_notebook_and_the_error(
    tmp_path: Path, runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRET_PROD_DB__PASSWORD", "hunter2-very-secret")
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(
        json.dumps({"warehouse": {"token": "file-token-0042", "user": "etl", "key": "clé-privée-42"}})
    )
    secrets_file.chmod(0o600)
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRETS_FILE", str(secrets_file))
    task = _task(
        tmp_path,
        runs_dir,
        "password = dbutils.secrets.get('prod-db', 'password')\nprint('password is', password)\n"
        "dbutils.jobs.taskValues.set('length', len(password))",
        "token = dbutils.secrets.getBytes('warehouse', 'token')\nprint('token is', token.decode())\n"
        "print('key is', dbutils.secrets.getBytes('warehouse', 'key'))\n"
        "dbutils.jobs.taskValues.set('keys', [m.key for m in dbutils.secrets.list('warehouse')])\n"
        "dbutils.jobs.taskValues.set('scopes', [s.name for s in dbutils.secrets.listScopes()])",
        "displayHTML(f'<code>{password}</code>')\npassword",
        "raise RuntimeError(f'cannot log in with {password}')",
    )

    assert task["state"] == "FAILED"
    assert task["values"] == {
        "length": len("hunter2-very-secret"),
        "keys": ["key", "token", "user"],
        "scopes": ["prod_db", "warehouse"],  # the variable's portable PROD_DB, as get() takes it
    }
    kept = Path(task["output_notebook"]).read_text()
    assert "hunter2-very-secret" not in kept and "file-token-0042" not in kept
    printed = "".join(_text(output.get("text", "")) for output in _outputs(task))
    assert "key is b'[REDACTED]'" in printed and "\\xc3\\xa9" not in printed
    assert "password is [REDACTED]" in kept and "<code>[REDACTED]</code>" in kept
    assert "token is [REDACTED]" in kept
    assert "hunter2-very-secret" not in task["error"] and "[REDACTED]" in task["error"]


def test_a_secret_passed_to_a_notebook_run_child_is_redacted_in_the_kept_child(
    tmp_path: Path, runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRET_API__TOKEN", "tok-123456789")
    databricks_source(tmp_path / "child.py", "print('got', dbutils.widgets.get('token'))")
    task = _task(
        tmp_path,
        runs_dir,
        "dbutils.notebook.run('./child', 60, {'token': dbutils.secrets.get('api', 'token')})",
    )

    assert task["state"] == "SUCCESS", task.get("error")
    kept = json.dumps(RunStore(runs_dir).read_notebook(task["run_id"], "t.notebook_run.1"))
    assert "tok-123456789" not in kept and "got [REDACTED]" in kept


def test_a_missing_secret_raises_naming_scope_and_key(tmp_path: Path, runs_dir: Path) -> None:
    task = _task(tmp_path, runs_dir, "dbutils.secrets.get('payments', 'api-key')")

    assert task["state"] == "FAILED"
    assert "Secret does not exist with scope: payments and key: api-key" in task["error"]
    assert "JUPYTER_TASKVALUES_SECRET_PAYMENTS__API_KEY" in task["error"]


# -- dbutils.fs ----------------------------------------------------------------------------------------------


def test_dbutils_fs_on_a_volume_path_writes_under_the_dbfs_root(
    tmp_path: Path, runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "dbfs-root"
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setenv("JUPYTER_TASKVALUES_DBFS_ROOT", str(root))
    monkeypatch.setenv("JUPYTER_TASKVALUES_FS_ROOTS", str(shared))
    task = _task(
        tmp_path,
        runs_dir,
        "base = '/Volumes/main/sales/raw'\n"
        "dbutils.fs.mkdirs(base + '/in')\n"
        "dbutils.fs.put(base + '/in/orders.csv', 'id,total\\n1,9.5\\n')\n"
        "dbutils.fs.cp(base + '/in/orders.csv', base + '/copy.csv')\n"
        "listing = [(f.path, f.name, f.size) for f in dbutils.fs.ls(base)]\n"
        "dbutils.jobs.taskValues.set('listing', listing)\n"
        "dbutils.jobs.taskValues.set('head', dbutils.fs.head(base + '/copy.csv', 8))",
        "# MAGIC %fs ls /Volumes/main/sales/raw",
        f"dbutils.fs.mv(base + '/copy.csv', 'file:{shared}/orders.csv')\n"
        "dbutils.jobs.taskValues.set('removed', dbutils.fs.rm(base + '/in', recurse=True))\n"
        "dbutils.jobs.taskValues.set('left', [f.name for f in dbutils.fs.ls(base)])",
        "try:\n    dbutils.fs.ls('file:/etc')\nexcept PermissionError as e:\n"
        "    dbutils.jobs.taskValues.set('refused', str(e))",
    )

    assert task["state"] == "SUCCESS", task.get("error")
    assert task["values"]["listing"] == [
        ["dbfs:/Volumes/main/sales/raw/copy.csv", "copy.csv", 15],
        ["dbfs:/Volumes/main/sales/raw/in/", "in/", 0],
    ]
    assert task["values"]["head"] == "id,total"
    assert (shared / "orders.csv").read_text() == "id,total\n1,9.5\n"
    assert task["values"]["removed"] is True and task["values"]["left"] == []
    assert (root / "Volumes/main/sales/raw").is_dir() and not (root / "Volumes/main/sales/raw/in").exists()
    assert "'file:/etc' is outside the roots" in task["values"]["refused"]


# -- spark ---------------------------------------------------------------------------------------------------


def test_without_pyspark_spark_names_the_extra_on_first_use_and_sql_cells_fail_naming_the_cell(
    tmp_path: Path, runs_dir: Path
) -> None:
    task = _task(
        tmp_path,
        runs_dir,
        swap_cell(site_without(tmp_path, SPARK), ("pyspark", "py4j")),
        "try:\n    spark.range(3)\nexcept RuntimeError as e:\n    dbutils.jobs.taskValues.set('spark', str(e))\n"
        "print(repr(spark), repr(sc))",
        "# MAGIC %sql\n# MAGIC SELECT 1 AS one",
    )

    assert task["state"] == "FAILED"
    assert "pip install 'jupyter-taskvalues[spark]'" in task["values"]["spark"]
    assert "SparkUnavailableError" in task["error"]
    assert f"cell 3 of notebook {str(tmp_path / 'task.py')!r}" in task["error"]
    assert "jupyter-taskvalues[spark]" in task["error"]


@pytest.mark.slow
def test_with_pyspark_spark_sql_and_display_use_one_local_session(tmp_path: Path, runs_dir: Path) -> None:
    task = _task(
        tmp_path,
        runs_dir,
        "df = spark.range(5).toDF('n')\ndf.createOrReplaceTempView('numbers')\ndisplay(df)",
        "# MAGIC %sql\n# MAGIC SELECT sum(n) AS total FROM numbers",
        "dbutils.jobs.taskValues.set('total', int(_sqldf.collect()[0]['total']))\n"
        "dbutils.jobs.taskValues.set('same', sql('SELECT 1').sparkSession is spark._target())\n"
        "dbutils.jobs.taskValues.set('rows', table('numbers').count())",
    )

    assert task["state"] == "SUCCESS", task.get("error")
    assert task["values"] == {"total": 10, "same": True, "rows": 5}
    tables = [
        _text(output["data"]["text/html"])
        for output in _outputs(task)
        if output["output_type"] == "display_data" and "text/html" in output["data"]
    ]
    assert len(tables) == 2 and "<table" in tables[0] and "total" in tables[1]
