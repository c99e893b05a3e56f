"""``dbutils.notebook.run(path, timeout_seconds, arguments)``: run a child notebook in a fresh kernel.

As on Databricks, the child runs in its own kernel (nothing of the caller's namespace), reads ``arguments``
as widgets (``dbutils.widgets.get``; papermill-style ``parameters`` cells get them too), and the call returns
the string the child passed to ``dbutils.notebook.exit`` (``None`` if it did not call it). A child that fails
raises :class:`WorkflowException` naming the child, the cell and the error; one that runs longer than
``timeout_seconds`` (0: no limit) is stopped and raises :class:`NotebookRunTimeoutError`.

``path`` is read like a task's notebook (any supported format; extension optional) relative to the caller's
folder, which is the kernel's working directory in a task. A missing notebook raises
:class:`WorkflowException` naming every file name tried.

In a job run the child is part of the calling task: it runs as that task (so its
``dbutils.jobs.taskValues.set`` lands on the caller's task, and it can ``get`` what upstream tasks set), and its
executed notebook is kept in the run's store as the notebook of ``<task>.notebook_run.<n>`` (``n`` counting
from 1 in the calling kernel), with the call in its metadata (``metadata["jupyter_taskvalues"]["notebook_run"]``:
its record, less where it was kept). Outside a job run the child runs with no job context.

**The child runs recorded with the task.** The calling kernel keeps a
:class:`~jupyter_taskvalues.records.NotebookRunRecord` of each call, a missing child's too
(:func:`notebook_runs`). When the task's notebook ends the executor reads them with the user expression
:data:`NOTEBOOK_RUNS` (:func:`read_notebook_runs`): after the last cell it rides on the end-of-task guard's request,
so a task pays no round trip for it; after a failing cell it is one silent request of its own. The runner records
them as the ``notebook_runs`` of the task (or of the for-each iteration), which the run document, ``show`` and the
REST API show. A task timeout whose interrupt stops the calling cell keeps the list (the child it interrupted
is ``CANCELED``); one that has to kill the kernel loses it, and so does a cancel of the run (its attempt's result
is not recorded). The children kept so far stay in the store either way.

nbclient and nbformat are imported when ``run`` is called. The child runs on an event loop of its own in a
worker thread, because a kernel's own loop is already running the calling cell.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from ..exceptions import NotebookFormatError, TaskValuesError
from ..records import NotebookRunRecord
from ..timestamps import utcnow

__all__ = [
    "NOTEBOOK_RUNS",
    "NotebookRunTimeoutError",
    "WorkflowException",
    "notebook_runs",
    "notebook_runs_json",
    "read_notebook_runs",
    "run_notebook",
]

#: The user expression that reads this kernel's child runs as JSON text (``'[]'`` in a kernel that never called
#: ``run``: the expression does not import this module).
NOTEBOOK_RUNS = (
    "(lambda module: module.notebook_runs_json() if module else '[]')"
    "(__import__('sys').modules.get('jupyter_taskvalues.runtime.notebook_run'))"
)

_STOP_GRACE = 5.0  # seconds an interrupted call waits for its child kernel to be killed
_counter = itertools.count(1)
_counter_lock = threading.Lock()
_runs: list[NotebookRunRecord] = []


class WorkflowException(TaskValuesError, RuntimeError):
    """``dbutils.notebook.run`` failed: the child is missing or unreadable, or raised (Databricks' name)."""


class NotebookRunTimeoutError(WorkflowException, TimeoutError):
    """The child notebook of ``dbutils.notebook.run`` ran past ``timeout_seconds`` and was stopped."""


def _arguments(arguments: Any) -> dict[str, str]:
    if arguments is None:
        return {}
    if not isinstance(arguments, dict):
        raise TypeError(
            f"dbutils.notebook.run arguments must be a dict of strings, not {type(arguments).__name__}."
        )
    return {str(name): str(value) for name, value in arguments.items()}


def _setup_cells(arguments: dict[str, str], cwd: str) -> list[str]:
    """The hidden cells that make the child kernel a task (or, outside a job, load the extension)."""
    from ..context import TaskContext
    from ..task_cell import bootstrap_code
    from .session import active_context

    context, attached = active_context()
    if context is not None and not attached:
        child = TaskContext(
            run_id=context.run_id,
            task_key=context.task_key,
            runs_dir=context.runs_dir,
            iteration=context.iteration,
            attempt=context.attempt,
            parameters=arguments,
            max_values=context.max_values,
        )
        return [bootstrap_code(child, cwd)]
    widgets = "".join(f"dbutils.widgets.text({name!r}, {value!r})\n" for name, value in arguments.items())
    return [f"import os\nos.chdir({cwd!r})\n%load_ext jupyter_taskvalues\n{widgets}"]


def run_notebook(path: str, timeout_seconds: float = 0, arguments: Any = None) -> str | None:
    """Run the notebook at ``path`` in a fresh kernel; return its ``dbutils.notebook.exit`` value.

    Parameters
    ----------
    path
        The child notebook, relative to the caller's folder; the extension may be left out.
    timeout_seconds
        Stop the child and raise after this many seconds; 0 or less: no limit.
    arguments
        Widget values for the child (names to strings).

    Raises
    ------
    WorkflowException
        The child does not exist (the message names each file tried), cannot be read, or failed.
    NotebookRunTimeoutError
        The child ran longer than ``timeout_seconds``.
    """
    # lazy: nbformat is slow to import
    from ..jobs.notebooks.formats import inject_parameters, read_notebook, resolve_notebook_path

    values = _arguments(arguments)
    record = _record(path, values)
    try:
        resolved = resolve_notebook_path(Path(path))
        nb = inject_parameters(read_notebook(resolved), values)
    except NotebookFormatError as e:
        message = f"dbutils.notebook.run({path!r}) cannot run the notebook: {e}"
        record.update({"state": "FAILED", "error": message, "end_time": utcnow()})
        raise WorkflowException(message, path=path) from e
    cwd = str(resolved.resolve().parent)  # the child runs in its own folder, as a task does
    from nbformat import v4

    setup = [v4.new_code_cell(source) for source in _setup_cells(values, cwd)]  # type: ignore[no-untyped-call]
    for index, cell in enumerate(setup):
        cell["id"] = f"jupyter-taskvalues-setup-{index}"
    user_cells = list(nb.cells)
    nb.cells = setup + user_cells
    try:
        record["exit_value"] = _execute(nb, cwd, timeout_seconds, path)
        record["state"] = "SUCCESS"
    except WorkflowException as e:
        state = "TIMEDOUT" if isinstance(e, NotebookRunTimeoutError) else "FAILED"
        record.update({"state": state, "error": str(e)})
        raise
    except BaseException:  # the calling cell was interrupted (KeyboardInterrupt) while the child ran
        record.update({"state": "CANCELED", "error": f"dbutils.notebook.run({path!r}) was interrupted."})
        raise
    finally:
        record["end_time"] = utcnow()
        nb.cells = user_cells
        record["output_notebook"] = _keep(nb, record)
    return record["exit_value"]


def _record(path: str, arguments: dict[str, str]) -> NotebookRunRecord:
    """Start the record of one call, numbered, in this kernel's list."""
    with _counter_lock:
        record: NotebookRunRecord = {
            "number": next(_counter),
            "path": path,
            "arguments": arguments,
            "state": "RUNNING",
            "exit_value": None,
            "error": None,
            "start_time": utcnow(),
            "end_time": None,
            "output_notebook": None,
        }
        _runs.append(record)
    return record


def notebook_runs() -> list[NotebookRunRecord]:
    """Return the child runs of ``run`` in this kernel so far, in call order, secrets read so far redacted."""
    from .secrets import redact

    with _counter_lock:
        runs = [record.copy() for record in _runs]
    redacted: list[NotebookRunRecord] = redact(runs)
    return redacted


def notebook_runs_json() -> str:
    """Return :func:`notebook_runs` as JSON text (what :data:`NOTEBOOK_RUNS` evaluates to)."""
    return json.dumps(notebook_runs(), ensure_ascii=False)


def read_notebook_runs(reply_content: Mapping[str, Any]) -> list[NotebookRunRecord]:
    """Return the child runs from the ``execute_reply`` content of a request sent with
    ``user_expressions={"notebook_runs": NOTEBOOK_RUNS}`` (``[]`` when the kernel could not answer)."""
    from ..task_cell import user_expression

    text = user_expression(reply_content, "notebook_runs")  # the JSON text, shown as the repr of a str
    try:
        runs = json.loads(text) if isinstance(text, str) else []
    except ValueError:
        return []
    return (
        [cast("NotebookRunRecord", run) for run in runs if isinstance(run, dict)]
        if isinstance(runs, list)
        else []
    )


def _execute(nb: Any, cwd: str, timeout_seconds: float, path: str) -> str | None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    client = NotebookClient(nb, timeout=None, allow_errors=False, resources={"metadata": {"path": cwd}})
    outcome: dict[str, BaseException | None] = {"error": None}
    timed_out = False
    running: asyncio.Future[Any] | None = None
    loop: asyncio.AbstractEventLoop | None = None

    async def execute() -> None:
        nonlocal timed_out, running, loop
        limit = timeout_seconds if timeout_seconds and timeout_seconds > 0 else None
        # The child kernel's own stderr (start-up notices) would land in the caller's output: its cells'
        # outputs come over the kernel protocol all the same.
        running = asyncio.ensure_future(
            client.async_execute(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        loop = asyncio.get_running_loop()
        done, _ = await asyncio.wait({running}, timeout=limit)
        if not done:
            timed_out = True  # nbclient reports the cancel as a dead kernel: remember why it died
            running.cancel()
        await running

    def target() -> None:
        try:
            asyncio.run(execute())
        except BaseException as e:  # noqa: BLE001 - handed to the calling thread, which raises it
            outcome["error"] = e

    worker = threading.Thread(target=target, name="dbutils.notebook.run", daemon=True)
    worker.start()
    try:
        worker.join()
    except BaseException:  # the calling cell was interrupted: the child stops with it, at once
        client.shutdown_kernel = "immediate"
        if loop is not None and running is not None:
            with contextlib.suppress(RuntimeError):  # its loop has just closed: nothing left to stop
                loop.call_soon_threadsafe(running.cancel)
        worker.join(_STOP_GRACE)
        raise
    error = outcome["error"]
    if timed_out:
        raise NotebookRunTimeoutError(
            f"Notebook {path!r} (run by dbutils.notebook.run) timed out after {timeout_seconds:g} seconds "
            "(timeout_seconds) and was stopped.",
            path=path,
        ) from None
    if error is None:
        return None
    if isinstance(error, CellExecutionError):
        if error.ename == "NotebookExit":
            return str(error.evalue)
        raise WorkflowException(
            f"Notebook {path!r} (run by dbutils.notebook.run) failed: {error.ename}: {error.evalue}",
            path=path,
            ename=error.ename,
        ) from None
    raise WorkflowException(
        f"Notebook {path!r} (run by dbutils.notebook.run) could not run: {type(error).__name__}: {error}",
        path=path,
    ) from error


def _keep(nb: Any, record: NotebookRunRecord) -> str | None:
    """Keep the executed child with the calling task of a job run and return where (outside a job: ``None``)."""
    from ..store import open_store as _store
    from .session import active_context

    context, attached = active_context()
    if context is None or attached:
        return None
    key = f"{context.task_key}.notebook_run.{record['number']}"
    # The call's record, less where the notebook is kept: whoever reads it has just found it.
    call = {name: value for name, value in record.items() if name != "output_notebook"}
    nb.metadata["jupyter_taskvalues"] = {"notebook_run": {"task_key": context.task_key, **call}}
    import nbformat

    from .secrets import redact

    # Secrets this kernel read (an argument, say) are redacted in the child's kept outputs too.
    text = nbformat.writes(nbformat.from_dict(redact(nb)))  # type: ignore[no-untyped-call]
    where = _store(context.runs_dir).write_notebook(
        context.run_id, key, context.iteration, text.encode("utf-8")
    )
    print(f"dbutils.notebook.run({record['path']!r}): {record['state']}, kept as {json.dumps(where)}")
    return where
