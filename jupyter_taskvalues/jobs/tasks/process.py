"""Run a task's Python process: its own process group, the task context in its environment, output kept.

The child is ``python -m jupyter_taskvalues.jobs.tasks.launch ...`` of this interpreter, which installs the
runtime seam first (so ``from databricks.sdk.runtime import dbutils`` resolves to ours, as in a task's kernel)
and then runs the script or the entry point. A timeout or a cancel kills the whole process group.

What the process prints goes where a notebook task's output goes: its stdout and stderr are read as they come
and appended, in the order they reach the runner, to the task's **output log**
(:class:`~jupyter_taskvalues.jobs.output_log.OutputLog`, capped by ``--max-output-log-bytes``), which the store
keeps when the task ends, whatever its state (uploaded, on a runs directory on a URL). Each piece also goes to
:func:`~..hooks.report_output` when someone watches (``--stream``, the server's live output). The child's stdout
is line-buffered (:mod:`.launch`), as on a terminal, so that a line printed before a traceback comes before it.
There are no separate stdout and stderr files: the log holds both, and a failed task's error quotes the last
lines of stderr, kept in memory.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
import sys
from collections import deque
from collections.abc import Mapping, Sequence

from ...context import TaskContext, environment_for
from ...store import open_store, utcnow
from ..hooks import output_wanted, report_output
from ..output_log import MAX_LOG_BYTES, OutputLog, close_and_keep
from .base import TaskRequest, TaskResult

__all__ = ["STDERR_TAIL_LINES", "run_python"]

#: Lines of stderr a failed task's error quotes.
STDERR_TAIL_LINES = 20
#: Bytes at the end of stderr kept in memory for that quote.
_STDERR_TAIL_BYTES = 64_000
_KILL_GRACE = 2.0
_READ = 65536


async def run_python(
    request: TaskRequest, argv: Sequence[str], *, extra_env: Mapping[str, str] | None = None
) -> TaskResult:
    """Run ``python -m jupyter_taskvalues.jobs.tasks.launch *argv`` as the task of ``request``.

    stdout and stderr go to the task's output log (see the module docstring), and to
    :func:`~..hooks.report_output` as they arrive when someone watches; an exit code other than 0 fails the
    task with the last lines of stderr.
    """
    task = request.context
    result = TaskResult(state="FAILED", start_time=utcnow())
    log = OutputLog(
        open_store(task.runs_dir).output_log_path(task.run_id, task.task_key, task.iteration),
        request.max_log_bytes or MAX_LOG_BYTES,
        "A failed task's error quotes the last lines of its stderr.",
    )
    log.start()  # this attempt's log replaces the last one's, even if it prints nothing
    stderr_tail: deque[bytes] = deque()
    env = dict(os.environ)
    env.update(environment_for(task))
    env.update(extra_env or {})
    command = [sys.executable, "-m", "jupyter_taskvalues.jobs.tasks.launch", *argv]
    pipe = asyncio.subprocess.PIPE
    try:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=str(request.cwd), env=env, stdout=pipe, stderr=pipe, start_new_session=True
        )

        async def finish() -> int:
            assert process.stdout is not None and process.stderr is not None
            watched = output_wanted()
            await asyncio.gather(
                _pump(process.stdout, "stdout", log, request, watched, None),
                _pump(process.stderr, "stderr", log, request, watched, stderr_tail),
            )
            return await process.wait()

        try:
            code = await asyncio.wait_for(finish(), request.timeout)
        except asyncio.TimeoutError:
            await _kill(process)
            result.state = "TIMEDOUT"
            result.error = f"The task timed out after {request.timeout:g} s (timeout_seconds)."
            return result
        except asyncio.CancelledError:
            await _kill(process)
            raise
    finally:
        result.end_time = utcnow()
        await _keep_log(log, task, result)
    if code == 0:
        result.state = "SUCCESS"
        return result
    tail = _tail(stderr_tail)
    result.error = f"The process exited with code {code}." + (
        f" Last lines of stderr:\n{tail}" if tail else ""
    )
    return result


async def _pump(
    source: asyncio.StreamReader,
    stream: str,
    log: OutputLog,
    request: TaskRequest,
    watched: bool,
    tail: deque[bytes] | None,
) -> None:
    """Copy one of the process's streams to the output log (and the watcher) as it comes, until it closes."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # a character may span two reads
    kept = 0
    while True:
        chunk = await source.read(_READ)
        text = decoder.decode(chunk, final=not chunk)
        log.write(text)
        if watched:
            report_output(request.context.run_id, request.context.task_key, stream, text)
        if tail is not None and chunk:
            tail.append(chunk)
            kept += len(chunk)
            while kept - len(tail[0]) >= _STDERR_TAIL_BYTES:
                kept -= len(tail.popleft())
        if not chunk:
            return


async def _keep_log(log: OutputLog, task: TaskContext, result: TaskResult) -> None:
    """Close the output log and keep it (upload it, on a URL); a log that cannot be written or kept is said in
    the task's error (a notebook's says so in the executed notebook instead)."""
    _, problem = await close_and_keep(log, task)
    if log.error is not None:
        problem = f"Could not keep the output log: {log.error}"
    if problem is not None:
        result.error = (result.error + "\n" if result.error else "") + problem


async def _kill(process: asyncio.subprocess.Process) -> None:
    """Stop the process group: SIGTERM, then SIGKILL if it is still there after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
            os.killpg(process.pid, sig)
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), _KILL_GRACE)
            break
        except asyncio.TimeoutError:
            continue
    # Children of the script that left the group still die with it: it was killed as a whole group above.
    with contextlib.suppress(ProcessLookupError):  # the group is already gone
        os.killpg(process.pid, signal.SIGKILL)


def _tail(chunks: deque[bytes]) -> str:
    text = b"".join(chunks)[-_STDERR_TAIL_BYTES:].decode("utf-8", errors="replace")
    return "\n".join(text.rstrip().splitlines()[-STDERR_TAIL_LINES:])
