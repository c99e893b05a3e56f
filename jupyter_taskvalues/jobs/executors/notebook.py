"""Execute one notebook task in a fresh kernel, the way papermill does, as numbered steps.

``execute_notebook``: read the notebook (any supported format) → inject parameters → take a fresh kernel →
make it the task (:mod:`jupyter_taskvalues.ipython.bootstrap`) → run the cells with nbclient → keep the executed notebook
→ hand the kernel back to be shut down off the critical path.

A cell that calls ``dbutils.notebook.exit(value)`` ends the notebook successfully with ``value`` as its result.
A timeout or a cancel interrupts the kernel, then kills it (and its child processes) if it does not stop.

When the notebook ends, with the kernel alive, the result gets the child runs of ``dbutils.notebook.run``
(:mod:`jupyter_taskvalues.runtime.notebook_run`): after the last cell (or an exit) in the reply to the
end-of-task guard's request, after a failing cell from one silent request of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ...context import TaskContext
from ...exceptions import NotebookFormatError
from ...records import NotebookRunRecord
from ...store import open_store, utcnow
from ...task_cell import bootstrap_code
from ...timestamps import parse_time
from ..hooks import output_wanted, report_output
from ..kernels.pool import Kernel, KernelStartError, shell_reply
from ..output_log import close_and_keep

__all__ = ["KernelSource", "NotebookResult", "NotebookRun", "execute_notebook"]

log = logging.getLogger(__name__)

#: Largest text kept for one output in an executed notebook; a task printing more keeps a note instead.
MAX_OUTPUT_BYTES = 1_000_000
_INTERRUPT_GRACE = 2.0
_INLINE_READ_BYTES = (
    256 * 1024
)  # notebooks up to this size are read on the event loop once nbformat is loaded


class KernelSource(Protocol):
    """Where kernels come from: a :class:`~.kernels.KernelPool`, or anything that acts like one."""

    async def acquire(self) -> Kernel: ...

    def release(self, kernel: Kernel) -> None: ...


@dataclass(frozen=True)
class NotebookRun:
    """One execution of a notebook as (an attempt of) a task."""

    notebook: Path
    task: TaskContext
    output_path: Path
    parameters: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    #: Bytes kept per output in the executed notebook, applied while the task runs (``None``: the default).
    max_output_bytes: int | None = None
    #: Bytes the task's output log keeps, the first ones (``None``: the default, 256 MiB).
    max_log_bytes: int | None = None


@dataclass
class NotebookResult:
    """What happened: a result state as the Jobs API names it, and the details."""

    state: str  # SUCCESS, FAILED, TIMEDOUT or CANCELED
    start_time: str
    end_time: str = ""
    error: str | None = None
    exit_value: str | None = None
    output_notebook: str | None = None
    ename: str | None = None
    #: Where the time went, in seconds (``read``, ``kernel_wait``, ``bootstrap``, ``cells``, ``user``,
    #: ``keep``, ``release``, ``total``) and when it began and ended (``began``, ``ended``: ``time.monotonic()``).
    #: ``user`` is the time the kernel itself reports spending in the cells; the rest is the runner's.
    timings: dict[str, float] = field(default_factory=dict)
    #: What the end-of-task guard could not prove lost, but warns of (:mod:`...runtime.guard`).
    warnings: list[str] = field(default_factory=list)
    #: The child runs of ``dbutils.notebook.run`` in the task's kernel (:mod:`...runtime.notebook_run`).
    notebook_runs: list[NotebookRunRecord] = field(default_factory=list)


async def execute_notebook(run: NotebookRun, kernels: KernelSource) -> NotebookResult:
    """Execute ``run.notebook`` as ``run.task`` and return the result; never raises for a task failure.

    Cancelling the coroutine interrupts the kernel; the result is then recorded as ``CANCELED`` by the caller.
    """
    clock = _Clock()
    result = NotebookResult(state="FAILED", start_time=utcnow(), timings=clock.timings)
    try:
        if _prepared_inline(run.notebook):
            nb = _prepare(run)
        else:
            # In a worker thread: the event loop goes on starting kernels while the first task imports nbformat
            # (or while a large notebook is parsed).
            nb = await asyncio.to_thread(_prepare, run)
    except (NotebookFormatError, ValueError, OSError) as e:
        result.error = str(e)
        result.end_time = utcnow()
        return result
    clock.lap("read")

    try:
        kernel = await kernels.acquire()
    except KernelStartError as e:
        result.error = str(e)
        result.end_time = utcnow()
        return result
    clock.lap("kernel_wait")

    cwd = str(run.notebook.parent)
    client = _notebook_client(nb, kernel, cwd)
    streamed = _output_stream(run)
    streamed.wrap(client)  # output to disk as it arrives, capped in memory (jobs/notebooks/streaming.py)
    if output_wanted():
        _stream_outputs(client, run.task)
    # nbclient turns a cancel into DeadKernelError, so a timeout or a cancel is decided here, not inside it.
    cells = asyncio.ensure_future(_run_cells(client, kernel, run, cwd, result, clock))
    try:
        done, _ = await asyncio.wait({cells}, timeout=run.timeout)
        if not done:
            await _stop_execution(kernel, cells)
            result.state = "TIMEDOUT"
            result.error = f"The task timed out after {run.timeout:g} s (timeout_seconds)."
    except asyncio.CancelledError:
        await _stop_execution(kernel, cells)
        result.state = "CANCELED"
        result.error = "The run was canceled."
        raise
    finally:
        clock.lap("cells")
        result.timings["user"] = _kernel_seconds(nb)
        result.end_time = utcnow()
        streamed.finish(nb, await _keep_output_log(run, streamed, result))
        _keep_notebook(nb, run.output_path, result, run.max_output_bytes or MAX_OUTPUT_BYTES)
        clock.lap("keep")
        kernels.release(kernel)
        clock.lap("release")
        clock.finish()
        log.debug(
            "task %s: %s",
            run.task.task_key,
            ", ".join(f"{k}={v:.4f}" for k, v in result.timings.items()),
            extra={"timing": {"event": "task", "task_key": run.task.task_key, **result.timings}},
        )
    return result


def _output_stream(run: NotebookRun) -> Any:
    from ..notebooks.streaming import MAX_LOG_BYTES, OutputStream

    task = run.task
    stream = OutputStream(
        open_store(task.runs_dir).output_log_path(task.run_id, task.task_key, task.iteration),
        run.max_output_bytes or MAX_OUTPUT_BYTES,
        run.max_log_bytes or MAX_LOG_BYTES,
    )
    stream.log.replace_previous()  # a retry that prints nothing must not keep the last attempt's log
    return stream


async def _keep_output_log(run: NotebookRun, streamed: Any, result: NotebookResult) -> str | None:
    """Close the output log and keep it (on a URL: upload it, in a thread, whatever the task's state); return
    its URL on a URL store. A log that cannot be kept is said in the task's error."""
    where, problem = await close_and_keep(streamed.log, run.task)
    if problem is not None:
        result.error = (result.error + "\n" if result.error else "") + problem
    return where


def _prepared_inline(notebook: Path) -> bool:
    """Whether reading ``notebook`` is quick enough for the event loop: nbformat and nbclient are imported and
    the file is small (about a millisecond). A hop to a worker thread costs more than that on a busy machine."""
    if "nbclient" not in sys.modules or "nbformat" not in sys.modules:
        return False
    try:
        return os.stat(notebook).st_size <= _INLINE_READ_BYTES
    except OSError:
        return False  # the thread reports it


def _prepare(run: NotebookRun) -> Any:
    """Read the notebook and inject its parameters (the first call also imports nbformat and nbclient)."""
    import_nbformat()
    import nbclient  # noqa: F401 - imported here, off the event loop, before the task needs it

    from ..notebooks.formats import inject_parameters, read_notebook

    return inject_parameters(read_notebook(run.notebook), run.parameters)


def import_nbformat() -> Any:
    """Import nbformat without the jsonschema format checkers it never uses; return the module.

    nbformat imports jsonschema, whose format checkers import ``rfc3987_syntax`` when it is installed (it is,
    wherever jupyter_server is: jupyter-events asks for ``jsonschema[format-nongpl]``), and that module builds a
    grammar at import: about 1.1 s of CPU, most of what the first task would otherwise pay. nbformat validates
    notebooks without format checking, so the import of ``rfc3987_syntax`` is declined while nbformat loads
    (jsonschema then leaves out its ``iri`` and ``iri-reference`` checks) and allowed again right after. If
    jsonschema is already loaded there is nothing to save, and nothing is declined.
    """
    if "nbformat" in sys.modules or "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        import nbformat

        return nbformat
    # A None entry in sys.modules makes `import rfc3987_syntax` raise ImportError, which jsonschema expects.
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    try:
        import nbformat
    finally:
        if sys.modules.get("rfc3987_syntax", ...) is None:
            del sys.modules["rfc3987_syntax"]
    return nbformat


class _Clock:
    """Laps of ``time.monotonic()`` kept in a timings dict: each lap is the time since the previous one."""

    def __init__(self) -> None:
        self.began = self.last = time.monotonic()
        self.timings: dict[str, float] = {"began": self.began}

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.timings[name] = self.timings.get(name, 0.0) + now - self.last
        self.last = now

    def finish(self) -> None:
        self.timings["ended"] = self.last
        self.timings["total"] = self.last - self.began


def _kernel_seconds(nb: Any) -> float:
    """Return the time the kernel reported spending in the notebook's cells (nbclient's timing metadata)."""
    total = 0.0
    for cell in nb.cells:
        execution = cell.get("metadata", {}).get("execution", {})
        # Both stamps come from the kernel: it announces the code (execute_input), runs it, then replies.
        started, replied = execution.get("iopub.execute_input"), execution.get("shell.execute_reply")
        if started and replied:
            with contextlib.suppress(ValueError):
                total += (_parse_stamp(replied) - _parse_stamp(started)).total_seconds()
    return total


def _parse_stamp(stamp: str) -> dt.datetime:
    return parse_time(stamp)


def _notebook_client(nb: Any, kernel: Kernel, cwd: str) -> Any:
    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        km=None,  # the kernel is ours to run and stop, not nbclient's
        timeout=None,
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": cwd}},
    )
    client.kc = kernel.client
    client.reset_execution_trackers()
    return client


def _stream_outputs(client: Any, task: TaskContext) -> None:
    """Hand each output to the run's observer as nbclient records it (``--log-output``; see :mod:`..hooks`)."""
    record = client.output

    def output(outs: Any, msg: dict[str, Any], display_id: Any, cell_index: int) -> Any:
        content, kind = msg.get("content") or {}, msg.get("msg_type")
        if kind == "stream":
            report_output(task.run_id, task.task_key, str(content.get("name")), str(content.get("text", "")))
        elif kind == "error":
            text = "\n".join(content.get("traceback") or [f"{content.get('ename')}: {content.get('evalue')}"])
            report_output(task.run_id, task.task_key, "stderr", text + "\n")
        elif kind == "execute_result" and "text/plain" in (content.get("data") or {}):
            report_output(task.run_id, task.task_key, "stdout", str(content["data"]["text/plain"]) + "\n")
        return record(outs, msg, display_id, cell_index)

    client.output = output


async def _run_cells(
    client: Any, kernel: Kernel, run: NotebookRun, cwd: str, result: NotebookResult, clock: _Clock
) -> None:
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    aborted = False

    def check_reply(execute_reply: dict[str, Any] | None = None, **_: Any) -> None:
        nonlocal aborted  # a kernel aborts the requests queued behind one that failed
        aborted = aborted or bool(execute_reply and execute_reply["content"].get("status") == "aborted")

    client.on_cell_executed = check_reply
    try:
        if kernel.warmed:
            # The bootstrap is importable: send the first cell right behind it. If it fails, the kernel refuses
            # every later cell with the reason (see jupyter_taskvalues.ipython.bootstrap).
            kernel.client.execute(bootstrap_code(run.task, cwd), silent=True, store_history=False)
        else:
            await _bootstrap(kernel, run.task, cwd)
        clock.lap("bootstrap")
        for index, cell in enumerate(client.nb.cells):
            await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            if aborted:
                result.error = (
                    f"The kernel did not run cell {index + 1}: it aborted the cell after an earlier error."
                )
                await _read_notebook_runs(kernel, result)
                return
    except CellExecutionError as e:
        if e.ename == "NotebookExit":
            result.state = "SUCCESS"
            result.exit_value = e.evalue
            await _check_task_end(kernel, result)
            return
        result.ename = e.ename
        result.error = f"{e.ename}: {e.evalue}" + _cell_label(client, e)
        await _read_notebook_runs(kernel, result)
        return
    except DeadKernelError:
        result.error = "The kernel died while running the notebook (it crashed or was killed)."
        result.ename = "DeadKernelError"
        return
    except _BootstrapError as e:
        result.error = str(e)
        return
    result.state = "SUCCESS"
    await _check_task_end(kernel, result)


async def _check_task_end(kernel: Kernel, result: NotebookResult) -> None:
    """After the last cell, fail the task if its task values went nowhere; keep the guard's warnings and the
    child runs (one request for all three)."""
    from ...runtime.guard import GUARD_CODE, GUARD_WARNINGS, read_warnings
    from ...runtime.notebook_run import NOTEBOOK_RUNS, read_notebook_runs

    expressions = {"warnings": GUARD_WARNINGS, "notebook_runs": NOTEBOOK_RUNS}
    msg_id = kernel.client.execute(GUARD_CODE, silent=True, store_history=False, user_expressions=expressions)
    try:
        reply = await shell_reply(kernel, msg_id)
    except KernelStartError:
        return  # the kernel died after the last cell: there is nothing left to check
    content = reply["content"]
    if content.get("status") == "error":
        result.state = "FAILED"
        result.ename = content.get("ename")
        result.error = f"{content.get('ename')}: {content.get('evalue')}"
        await _read_notebook_runs(kernel, result)  # a kernel evaluates no expression of a failed request
    else:
        result.warnings = read_warnings(content)
        result.notebook_runs = read_notebook_runs(content)


async def _read_notebook_runs(kernel: Kernel, result: NotebookResult) -> None:
    """Read the child runs of a notebook that failed, with one silent request (the kernel is alive)."""
    from ...runtime.notebook_run import NOTEBOOK_RUNS, read_notebook_runs

    msg_id = kernel.client.execute(
        "", silent=True, store_history=False, user_expressions={"notebook_runs": NOTEBOOK_RUNS}
    )
    try:
        reply = await shell_reply(kernel, msg_id)
    except KernelStartError:
        return  # the kernel died: its list with it (the kept children stay in the store)
    result.notebook_runs = read_notebook_runs(reply["content"])


def _cell_label(client: Any, error: Any) -> str:
    for index, cell in enumerate(client.nb.cells):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("evalue") == error.evalue:
                return f" (in cell {index + 1})"
    return ""


class _BootstrapError(RuntimeError):
    pass


async def _bootstrap(kernel: Kernel, task: TaskContext, cwd: str) -> None:
    """Make the kernel the task: run the bootstrap silently and check that it worked."""
    msg_id = kernel.client.execute(bootstrap_code(task, cwd), silent=True, store_history=False)
    try:
        reply = await shell_reply(kernel, msg_id)
    except KernelStartError:
        raise _BootstrapError(
            f"The kernel died before it could become task {task.task_key!r} (it crashed or was killed)."
        ) from None
    content = reply["content"]
    if content.get("status") != "ok":
        raise _BootstrapError(
            f"The kernel could not become task {task.task_key!r}: {content.get('ename')}: "
            f"{content.get('evalue')}. Is jupyter-taskvalues installed in the kernel's environment?"
        )


async def _stop_execution(kernel: Kernel, cells: asyncio.Future[None]) -> None:
    """Interrupt the running cell; kill the kernel (and its children) if the notebook does not stop quickly."""
    with contextlib.suppress(Exception):  # a dead or unreachable kernel: the kill below handles it
        await kernel.interrupt()
    done, _ = await asyncio.wait({cells}, timeout=_INTERRUPT_GRACE)
    if not done:
        await kernel.kill()
        cells.cancel()
        await asyncio.wait({cells}, timeout=_INTERRUPT_GRACE)


def _keep_notebook(nb: Any, path: Path, result: NotebookResult, max_bytes: int = MAX_OUTPUT_BYTES) -> None:
    """Write the executed notebook (outputs capped) next to the run, atomically."""
    nbformat = import_nbformat()

    from ..notebooks.formats import cap_outputs

    cap_outputs(nb, max_bytes)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        # Never world-writable, whatever the umask.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with open(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)  # type: ignore[no-untyped-call]
        os.replace(tmp, path)
    except (OSError, ValueError) as e:
        result.error = (result.error + "\n" if result.error else "") + f"Could not keep the notebook: {e}"
        return
    result.output_notebook = str(path)
