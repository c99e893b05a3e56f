"""Run a task's Python process: its own process group, the task context in its environment, output kept.

The child is ``python -m jupyter_taskvalues.jobs.tasks.launch ...`` of this interpreter, which installs the
runtime seam first (so ``from databricks.sdk.runtime import dbutils`` resolves to ours, as in a task's kernel)
and then runs the script or the entry point. A timeout or a cancel kills the whole process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from ...context import environment_for
from ...store import utcnow
from ..hooks import output_wanted, report_output
from .base import TaskRequest, TaskResult

__all__ = ["STDERR_TAIL_LINES", "run_python"]

#: Lines of stderr a failed task's error quotes.
STDERR_TAIL_LINES = 20
_KILL_GRACE = 2.0


async def run_python(
    request: TaskRequest,
    argv: Sequence[str],
    *,
    name: str,
    extra_env: Mapping[str, str] | None = None,
) -> TaskResult:
    """Run ``python -m jupyter_taskvalues.jobs.tasks.launch *argv`` as the task of ``request``.

    stdout and stderr go to ``<log_dir>/<name>.stdout.txt`` / ``.stderr.txt`` (named in ``logs``), and
    to :func:`~..hooks.report_output` as they arrive when someone watches (``--stream``);
    an exit code other than 0 fails the task with the last lines of stderr.
    """
    result = TaskResult(state="FAILED", start_time=utcnow())
    request.log_dir.mkdir(parents=True, exist_ok=True)
    out_path = request.log_dir / f"{name}.stdout.txt"
    err_path = request.log_dir / f"{name}.stderr.txt"
    result.logs = {"stdout": str(out_path), "stderr": str(err_path)}
    env = dict(os.environ)
    env.update(environment_for(request.context))
    env.update(extra_env or {})
    command = [sys.executable, "-m", "jupyter_taskvalues.jobs.tasks.launch", *argv]
    streaming = output_wanted()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        pipe = asyncio.subprocess.PIPE
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=str(request.cwd),
            env=env,
            stdout=pipe if streaming else out,
            stderr=pipe if streaming else err,
            start_new_session=True,
        )

        async def finish() -> int:
            if streaming:  # someone watches (--stream): copy to the files and hand each piece on
                assert process.stdout is not None and process.stderr is not None
                await asyncio.gather(
                    _pump(process.stdout, out, request, "stdout"),
                    _pump(process.stderr, err, request, "stderr"),
                )
            return await process.wait()

        try:
            code = await asyncio.wait_for(finish(), request.timeout)
        except asyncio.TimeoutError:
            await _kill(process)
            result.state = "TIMEDOUT"
            result.error = f"The task timed out after {request.timeout:g} s (timeout_seconds)."
            result.end_time = utcnow()
            return result
        except asyncio.CancelledError:
            await _kill(process)
            raise
    result.end_time = utcnow()
    if code == 0:
        result.state = "SUCCESS"
        return result
    tail = _tail(err_path)
    result.error = f"The process exited with code {code}." + (
        f" Last lines of stderr:\n{tail}" if tail else ""
    )
    return result


async def _pump(source: asyncio.StreamReader, sink: BinaryIO, request: TaskRequest, stream: str) -> None:
    while chunk := await source.read(65536):
        sink.write(chunk)
        report_output(
            request.context.run_id, request.context.task_key, stream, chunk.decode(errors="replace")
        )


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


def _tail(path: Path) -> str:
    try:
        text = path.read_bytes()[-64_000:].decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-STDERR_TAIL_LINES:])
