"""``%load_ext jupyter_taskvalues`` and ``%taskvalue`` on a real IPython shell, over a real runs directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from IPython.core.error import UsageError
from IPython.testing import globalipapp
from IPython.utils.capture import capture_output

from jupyter_taskvalues import context
from jupyter_taskvalues.context import TaskContext
from jupyter_taskvalues.ipython import extension, magics
from jupyter_taskvalues.runtime import session
from jupyter_taskvalues.runtime.dbutils import NotebookExit, dbutils

if TYPE_CHECKING:
    from IPython.core.interactiveshell import ExecutionResult, InteractiveShell

    from jupyter_taskvalues.store import RunStore


class Job:
    """A run of a two-task job ("a" then "b"), and a way to make this process one of its tasks."""

    def __init__(self, store: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.store = store
        self.monkeypatch = monkeypatch
        self.run_id = store.create_run(job_name="demo", tasks={"a": {}, "b": {}})

    def enter(self, task_key: str, **fields: Any) -> None:
        task = TaskContext(run_id=self.run_id, task_key=task_key, runs_dir=str(self.store.root), **fields)
        for name in list(os.environ):
            if name.startswith(context.ENV_PREFIX) and name != context.RUNS_DIR_ENV:
                self.monkeypatch.delenv(name)
        for name, value in context.environment_for(task).items():
            self.monkeypatch.setenv(name, value)


def _shell() -> InteractiveShell:
    """IPython's own test shell (one per process; the module's get_ipython is replaced once it exists)."""
    shell: InteractiveShell = globalipapp.get_ipython()  # type: ignore[no-untyped-call]
    return shell


def _run(shell: InteractiveShell, code: str) -> ExecutionResult:
    result: ExecutionResult = shell.run_cell(code)  # type: ignore[no-untyped-call]
    return result


@pytest.fixture
def ip() -> Iterator[InteractiveShell]:
    """IPython's test shell with the extension loaded; unloaded and cleaned afterwards."""
    shell: InteractiveShell = _shell()
    session.clear_session()
    session.detach()
    shell.user_ns.pop("dbutils", None)
    shell.run_line_magic("load_ext", "jupyter_taskvalues")
    yield shell
    shell.run_line_magic("unload_ext", "jupyter_taskvalues")
    for name in ("x", "df", "dbutils", "result"):
        shell.user_ns.pop(name, None)
    session.clear_session()
    session.detach()


@pytest.fixture
def job(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> Job:
    return Job(store, monkeypatch)


def _files(root: Path | str) -> dict[str, bytes]:
    root = Path(root)  # a local store's root (RunStore.root is typed for object stores too)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# -- loading ------------------------------------------------------------------------------------------------


def test_load_ext_registers_the_magic_and_puts_dbutils_in_the_namespace(ip: InteractiveShell) -> None:
    assert "taskvalue" in ip.magics_manager.magics["line"]
    assert ip.user_ns["dbutils"] is dbutils
    assert "dbutils" in ip.user_ns_hidden  # not listed by %who


def test_load_ext_keeps_the_users_own_dbutils() -> None:
    shell: InteractiveShell = _shell()
    mine = object()
    shell.user_ns["dbutils"] = mine
    try:
        extension.load_ipython_extension(shell)
        assert shell.user_ns["dbutils"] is mine
        extension.unload_ipython_extension(shell)
        assert shell.user_ns["dbutils"] is mine
    finally:
        shell.user_ns.pop("dbutils", None)


def test_loading_twice_is_harmless(ip: InteractiveShell, job: Job) -> None:
    extension.load_ipython_extension(ip)
    ip.run_line_magic("load_ext", "jupyter_taskvalues")
    assert ip.user_ns["dbutils"] is dbutils
    assert ip.custom_exceptions == (NotebookExit,)
    job.enter("a")
    ip.run_line_magic("taskvalue", "set k 1")
    assert job.store.get_value(job.run_id, "a", "k") == 1


def test_unload_removes_the_magic_the_namespace_entry_and_the_exit_handler(ip: InteractiveShell) -> None:
    extension.unload_ipython_extension(ip)
    assert "taskvalue" not in ip.magics_manager.magics["line"]
    assert not hasattr(ip.magics_manager.user_magics, "taskvalue")
    assert "dbutils" not in ip.user_ns
    assert ip.custom_exceptions == ()
    extension.load_ipython_extension(ip)  # the fixture unloads again


def test_the_first_taskvalue_hands_over_to_the_magics_method_and_unload_removes_it(
    ip: InteractiveShell,
) -> None:
    ip.run_line_magic("taskvalue", "detach")
    magic = ip.magics_manager.magics["line"]["taskvalue"]
    assert isinstance(magic.__self__, magics.TaskValueMagics)
    assert magic.__self__.shell is ip
    ip.run_line_magic("taskvalue", "detach")
    assert ip.magics_manager.magics["line"]["taskvalue"] == magic  # handed over once, for good
    ip.run_line_magic("unload_ext", "jupyter_taskvalues")
    assert "taskvalue" not in ip.magics_manager.magics["line"]
    assert not hasattr(ip.magics_manager.user_magics, "taskvalue")
    ip.run_line_magic("load_ext", "jupyter_taskvalues")  # the fixture unloads again


def test_load_ext_in_a_fresh_interpreter_imports_dbutils_and_nothing_heavier() -> None:
    # %load_ext must stay cheap (issue 6): the magics' parsers, the value rules, the store, the panel and
    # ipywidgets are imported by the first %taskvalue or dbutils call that needs them.
    code = textwrap.dedent(
        """
        import json, sys
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        before = set(sys.modules)
        shell.run_line_magic("load_ext", "jupyter_taskvalues")
        assert "dbutils" in shell.user_ns and "taskvalue" in shell.magics_manager.magics["line"]
        loaded = sorted(set(sys.modules) - before)
        shell.run_cell("%taskvalue?")
        print(json.dumps({"load_ext": loaded, "manual": sorted(set(sys.modules) - before)}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "%taskvalue attach RUN_ID TASK" in result.stdout  # the manual, without a first use
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    ours = [name for name in imported["load_ext"] if name.startswith("jupyter_taskvalues")]
    assert ours == [
        "jupyter_taskvalues",
        "jupyter_taskvalues.context",
        "jupyter_taskvalues.exceptions",
        "jupyter_taskvalues.ipython",
        "jupyter_taskvalues.ipython.extension",
        "jupyter_taskvalues.runtime",
        "jupyter_taskvalues.runtime._help",
        "jupyter_taskvalues.runtime.dbutils",
        "jupyter_taskvalues.runtime.display",
        "jupyter_taskvalues.runtime.namespace",
        "jupyter_taskvalues.runtime.seam",
        "jupyter_taskvalues.runtime.secrets",
        "jupyter_taskvalues.runtime.session",
        "jupyter_taskvalues.runtime.spark",
        "jupyter_taskvalues.runtime.widgets",
    ]
    heavy = ("html", "ipywidgets", "jupyter_taskvalues.store", "jupyter_taskvalues.widget")
    assert not [name for name in imported["load_ext"] if name.startswith(heavy)]
    assert "jupyter_taskvalues.ipython.magics" in imported["manual"]


def test_dbutils_works_in_cells_without_an_import(ip: InteractiveShell, job: Job) -> None:
    job.enter("a")
    result = _run(ip, "dbutils.jobs.taskValues.set(key='rows', value=3)")
    assert result.success
    job.enter("b")
    _run(ip, "x = dbutils.jobs.taskValues.get(taskKey='a', key='rows', default=0, debugValue=1)")
    assert ip.user_ns["x"] == 3


# -- set and get --------------------------------------------------------------------------------------------


def test_set_evaluates_the_expression_in_the_user_namespace(ip: InteractiveShell, job: Job) -> None:
    job.enter("a")
    ip.user_ns["df"] = [1, 2, 3]
    ip.run_line_magic("taskvalue", "set rows len(df) * 2")
    assert job.store.get_value(job.run_id, "a", "rows") == 6


def test_set_braces_are_python_not_ipython_interpolation(ip: InteractiveShell, job: Job) -> None:
    job.enter("a")
    ip.run_line_magic("taskvalue", 'set best {"model": "gbt", "auc": 0.91}')
    assert job.store.get_value(job.run_id, "a", "best") == {"model": "gbt", "auc": 0.91}
    with pytest.raises(UsageError, match="of type set"):
        ip.run_line_magic("taskvalue", "set pair {1, 2}")


def test_set_accepts_a_quoted_key(ip: InteractiveShell, job: Job) -> None:
    job.enter("a")
    ip.run_line_magic("taskvalue", "set 'my key' 'a value'")
    assert job.store.get_value(job.run_id, "a", "my key") == "a value"


def test_set_returns_nothing(ip: InteractiveShell, job: Job) -> None:
    job.enter("a")
    assert ip.run_line_magic("taskvalue", "set k 1") is None


def test_set_outside_a_job_keeps_the_value_in_the_interactive_session(ip: InteractiveShell) -> None:
    ip.run_line_magic("taskvalue", "set k [1, 2]")
    assert session.session_values() == {"k": [1, 2]}


def test_set_of_an_invalid_value_is_a_usage_error_and_stores_nothing(ip: InteractiveShell, job: Job) -> None:
    job.enter("a")
    with pytest.raises(UsageError, match=r"%taskvalue set: Task value 'k' of task 'a' contains nan"):
        ip.run_line_magic("taskvalue", "set k float('nan')")
    with pytest.raises(UsageError, match="49,153 bytes as JSON; the limit is 49,152"):
        ip.run_line_magic("taskvalue", "set k 'x' * 49_151")
    with pytest.raises(UsageError, match="contains '/'"):
        ip.run_line_magic("taskvalue", "set a/b 1")
    assert job.store.count_values(job.run_id) == 0


def test_get_through_run_cell_assigns_the_value(ip: InteractiveShell, job: Job) -> None:
    job.enter("a")
    ip.run_line_magic("taskvalue", "set rows 1204")
    job.enter("b")
    result = _run(ip, "x = %taskvalue get a rows")
    assert result.success
    assert ip.user_ns["x"] == 1204


def test_get_with_default_for_a_missing_value(ip: InteractiveShell, job: Job) -> None:
    job.enter("b")
    assert ip.run_line_magic("taskvalue", "get a rows --default 0") == 0
    assert ip.run_line_magic("taskvalue", 'get a rows --default={"a": [1]}') == {"a": [1]}
    assert ip.run_line_magic("taskvalue", "get a rows --debug 5 --default 'd'") == "d"


def test_get_outside_a_job_returns_the_debug_expression(ip: InteractiveShell) -> None:
    ip.user_ns["df"] = [1, 2]
    _run(ip, "x = %taskvalue get ingest rows --default 1 --debug len(df)")
    assert ip.user_ns["x"] == 2
    assert ip.run_line_magic("taskvalue", "get ingest rows --debug 0") == 0


def test_get_outside_a_job_without_debug_is_a_usage_error_naming_the_fix(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match=r"not in a job run.*Pass --debug EXPR"):
        ip.run_line_magic("taskvalue", "get ingest rows")


def test_get_missing_value_and_unknown_task_are_usage_errors(ip: InteractiveShell, job: Job) -> None:
    job.enter("b")
    with pytest.raises(UsageError, match=r"%taskvalue get: Task 'a' of run .* set no value 'rows'"):
        ip.run_line_magic("taskvalue", "get a rows")
    with pytest.raises(UsageError, match=r"'zz' is not part of run"):
        ip.run_line_magic("taskvalue", "get zz rows --default 1")


# -- list ---------------------------------------------------------------------------------------------------


def test_list_shows_the_runs_values_as_an_escaped_html_table(
    ip: InteractiveShell, job: Job, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A terminal shell formats text only; a notebook's kernel asks for HTML too.
    monkeypatch.setattr(ip.display_formatter, "active_types", ["text/plain", "text/html"])
    job.enter("a")
    ip.run_line_magic("taskvalue", "set rows 1204")
    ip.run_line_magic("taskvalue", "set note '<script>alert(1)</script>'")
    job.enter("b")
    ip.run_line_magic("taskvalue", "set '<b>key' 1")
    with capture_output() as captured:
        assert ip.run_line_magic("taskvalue", "list") is None
    (output,) = captured.outputs
    page = output.data["text/html"]
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;key" in page
    assert f"Task values of run {job.run_id} (job &#x27;demo&#x27;)" in page
    text = output.data["text/plain"]
    assert text.splitlines()[1].split() == ["task", "key", "value", "bytes", "set", "at"]
    assert "a     rows" in text


def test_list_of_one_task(ip: InteractiveShell, job: Job) -> None:
    job.enter("a")
    ip.run_line_magic("taskvalue", "set only_a 1")
    job.enter("b")
    ip.run_line_magic("taskvalue", "set only_b 2")
    with capture_output() as captured:
        ip.run_line_magic("taskvalue", "list b")
    text = captured.outputs[0].data["text/plain"]
    assert "only_b" in text and "only_a" not in text and "task 'b'" in text


def test_list_shows_for_each_iterations(ip: InteractiveShell, job: Job) -> None:
    job.enter("a", iteration=3)
    ip.run_line_magic("taskvalue", "set k 'it'")
    with capture_output() as captured:
        ip.run_line_magic("taskvalue", "list a")
    assert "a[3]" in captured.outputs[0].data["text/plain"]


def test_list_truncates_long_values(ip: InteractiveShell, job: Job) -> None:
    job.enter("a")
    ip.run_line_magic("taskvalue", "set long 'x' * 1000")
    with capture_output() as captured:
        ip.run_line_magic("taskvalue", "list")
    text = captured.outputs[0].data["text/plain"]
    assert "x" * 100 + "…" in text and "x" * 200 not in text and "1,002" in text


def test_list_outside_a_job_shows_the_interactive_session(ip: InteractiveShell) -> None:
    with capture_output() as captured:
        ip.run_line_magic("taskvalue", "list")
    assert captured.outputs[0].data["text/plain"] == "Interactive session (not a job run): no values."
    ip.run_line_magic("taskvalue", "set k 'v'")
    with capture_output() as captured:
        ip.run_line_magic("taskvalue", "list")
    assert '(interactive session)  k    "v"' in captured.outputs[0].data["text/plain"]


def test_list_of_an_unknown_task_is_a_usage_error(ip: InteractiveShell, job: Job) -> None:
    job.enter("a")
    with pytest.raises(UsageError, match=r"task 'zz' is not part of run .* Its tasks are: 'a', 'b'"):
        ip.run_line_magic("taskvalue", "list zz")
    job.monkeypatch.delenv("JUPYTER_TASKVALUES_RUN_ID")
    with pytest.raises(UsageError, match="not in a job run"):
        ip.run_line_magic("taskvalue", "list a")


# -- context, attach, detach -------------------------------------------------------------------------------


def test_context_in_a_job_run(ip: InteractiveShell, job: Job, capsys: pytest.CaptureFixture[str]) -> None:
    job.enter("a", attempt=2, parameters={"env": "prod"})
    ip.run_line_magic("taskvalue", "context")
    out = capsys.readouterr().out
    assert f"Run:         {job.run_id} (job 'demo')" in out
    assert "Task:        a (attempt 2)" in out
    assert f"Runs dir:    {job.store.root}" in out
    assert 'Parameters:  {"env": "prod"}' in out


def test_context_outside_a_job_run(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("taskvalue", "context")
    assert capsys.readouterr().out.startswith("Not in a job run")


def test_attach_reads_an_earlier_run_and_never_modifies_it(
    ip: InteractiveShell, job: Job, capsys: pytest.CaptureFixture[str]
) -> None:
    job.enter("a")
    ip.run_line_magic("taskvalue", "set rows 10")
    job.monkeypatch.delenv("JUPYTER_TASKVALUES_RUN_ID")
    before = _files(job.store.root)
    ip.run_line_magic("taskvalue", f"attach {job.run_id} b --runs-dir {job.store.root}")
    assert f"Attached to run {job.run_id} as task 'b'" in capsys.readouterr().out
    _run(ip, "x = %taskvalue get a rows")
    assert ip.user_ns["x"] == 10
    ip.run_line_magic("taskvalue", "set rows 99")
    _run(ip, "dbutils.jobs.taskValues.set('other', 1)")
    after = _files(job.store.root)
    attached = [path for path in after if "/attached/" in path]  # the record that keeps the run from gc
    assert len(attached) == 1
    assert {path: data for path, data in after.items() if path not in attached} == before
    assert session.session_values() == {"rows": 99, "other": 1}
    ip.run_line_magic("taskvalue", "context")
    assert "Attached:    yes" in capsys.readouterr().out
    with capture_output() as captured:
        ip.run_line_magic("taskvalue", "list")
    titles = [output.data["text/plain"].splitlines()[0] for output in captured.outputs]
    assert titles == [
        f"Task values of run {job.run_id} (job 'demo'), attached",
        "Interactive session (not a job run)",
    ]
    ip.run_line_magic("taskvalue", "detach")
    assert f"Detached from run {job.run_id}." in capsys.readouterr().out
    assert _files(job.store.root) == before
    with pytest.raises(UsageError, match="not in a job run"):
        ip.run_line_magic("taskvalue", "get a rows")
    ip.run_line_magic("taskvalue", "detach")
    assert "Not attached to a run." in capsys.readouterr().out


def test_attach_latest_uses_the_default_runs_directory(ip: InteractiveShell, job: Job) -> None:
    ip.run_line_magic("taskvalue", "attach latest a")
    attached = session.attached_context()
    assert attached is not None and (attached.run_id, attached.task_key) == (job.run_id, "a")


def test_attach_to_an_unknown_run_or_task_is_a_usage_error(ip: InteractiveShell, job: Job) -> None:
    with pytest.raises(UsageError, match="No run '20200101-000000-000-abcdef'"):
        ip.run_line_magic("taskvalue", "attach 20200101-000000-000-abcdef a")
    with pytest.raises(UsageError, match="'zz' is not part of run"):
        ip.run_line_magic("taskvalue", f"attach {job.run_id} zz")
    with pytest.raises(UsageError, match="not a valid run id"):
        ip.run_line_magic("taskvalue", "attach ../etc a")


# -- show ---------------------------------------------------------------------------------------------------


def test_show_displays_the_run_panel(ip: InteractiveShell, job: Job, monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_taskvalues.widget.panel import RunPanel

    made: list[RunPanel] = []
    original = RunPanel.for_current

    def recording(run_id: str | None = None, **options: Any) -> RunPanel:
        panel = original(run_id, **options)
        made.append(panel)
        return panel

    monkeypatch.setattr(RunPanel, "for_current", recording)
    job.store.update_run(job.run_id, state="SUCCESS")
    try:
        with capture_output() as captured:
            assert ip.run_line_magic("taskvalue", f"show {job.run_id}") is None
        assert [panel.run_id for panel in made] == [job.run_id]
        assert (
            captured.outputs[0].data["application/vnd.jupyter.widget-view+json"]["model_id"]
            == made[0].model_id
        )
    finally:
        for panel in made:
            panel.close()


# -- mistakes and the manual -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("", "needs a subcommand"),
        ("bogus", "unknown subcommand 'bogus'"),
        ("set", "needs a KEY and a Python EXPR"),
        ("set k", "needs a KEY and a Python EXPR"),
        ("set k undefined_name", "cannot evaluate 'undefined_name' for the value of 'k': NameError"),
        ("set k 1 +", "SyntaxError"),
        ("set 'unclosed 1", "No closing quotation"),
        ("get", "needs a TASK and a KEY"),
        ("get a", "needs a TASK and a KEY"),
        ("get a k extra", "unexpected 'extra'"),
        ("get a k --default", "--default needs a Python expression"),
        ("get a k --default 1 --default 2", "--default is given twice"),
        ("get a k --debug nope", "cannot evaluate 'nope' for --debug"),
        ("list a b", "unrecognized arguments: b"),
        ("context now", "unrecognized arguments: now"),
        ("attach", "the following arguments are required: run_id, task"),
        ("attach r", "the following arguments are required: task"),
        ("detach x", "unrecognized arguments: x"),
        ("show a b", "unrecognized arguments: b"),
    ],
)
def test_user_mistakes_are_usage_errors(ip: InteractiveShell, line: str, words: str) -> None:
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("taskvalue", line)
    assert words in str(info.value)


def test_a_mistake_in_a_cell_prints_one_line_and_no_traceback(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _run(ip, "%taskvalue get ingest rows")
    assert isinstance(result.error_in_exec, UsageError)
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "UsageError: %taskvalue get: not in a job run" in output
    assert "Traceback" not in output


def test_notebook_exit_prints_its_value_instead_of_a_traceback(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _run(ip, "dbutils.notebook.exit('done')\nx = 'not reached'")
    assert isinstance(result.error_in_exec, NotebookExit)
    assert type(result.error_in_exec).__name__ == "NotebookExit"
    assert str(result.error_in_exec) == "done"
    captured = capsys.readouterr()
    assert captured.out.strip() == "Notebook exited: done"
    assert "Traceback" not in captured.out + captured.err
    assert "x" not in ip.user_ns


def test_the_manual_shows_an_example_of_each_subcommand() -> None:
    manual = magics.TaskValueMagics.taskvalue.__doc__ or ""
    examples = [line.strip() for line in manual.splitlines() if line.strip().startswith("In [")]
    for subcommand in ("set", "get", "list", "context", "attach", "detach", "show"):
        assert any(f"%taskvalue {subcommand}" in example for example in examples), subcommand
    assert "In [1]: %load_ext jupyter_taskvalues" in examples


def test_the_manual_is_what_the_question_mark_prints(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(ip, "%taskvalue?")
    page = capsys.readouterr().out
    assert "%taskvalue attach RUN_ID TASK" in page and "In [4]: rows = %taskvalue get" in page


# -- in a real kernel ---------------------------------------------------------------------------------------


def test_in_a_kernel_a_warm_task_sets_values_and_notebook_exit_replies_notebook_exit(store: RunStore) -> None:
    from jupyter_client.manager import start_new_kernel

    run_id = store.create_run(job_name="demo", tasks={"a": {}})
    task = TaskContext(run_id=run_id, task_key="a", runs_dir=str(store.root))
    manager, client = start_new_kernel(kernel_name="python3")
    messages: list[dict[str, Any]] = []
    try:
        # The kernel starts outside any job run, then learns its task, as a warm kernel of the runner does.
        warm = client.execute_interactive(
            "%load_ext jupyter_taskvalues\nassert 'dbutils' in dir()", timeout=60
        )
        assert warm["content"]["status"] == "ok"
        enter = (
            "from jupyter_taskvalues import context\n"
            f"context.install(context.TaskContext(**{task.__dict__!r}))\n"
            "%taskvalue set rows 1204\n"
            "dbutils.jobs.taskValues.set('model', {'auc': 0.91})"
        )
        assert client.execute_interactive(enter, timeout=60)["content"]["status"] == "ok"
        reply = client.execute_interactive(
            "dbutils.notebook.exit(42)\nprint('not reached')", output_hook=messages.append, timeout=60
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)

    assert store.get_value(run_id, "a", "rows") == 1204
    assert store.get_value(run_id, "a", "model") == {"auc": 0.91}
    content = reply["content"]
    assert (content["status"], content["ename"], content["evalue"]) == ("error", "NotebookExit", "42")
    streams = [m["content"]["text"] for m in messages if m["msg_type"] == "stream"]
    assert "".join(streams) == "Notebook exited: 42\n"
    assert not [m for m in messages if m["msg_type"] == "error"]  # no traceback shown
