"""``spark_python_task`` (and ``python_task``-style file tasks): the file runs as a script.

A fresh interpreter (this Python), its own process group, ``parameters`` as ``sys.argv[1:]``, the script's
folder as its working directory and first on ``sys.path``, the task context in its environment so
``dbutils.jobs.taskValues`` reads and writes the run. stdout and stderr go to the task's output log
(:mod:`.process`).
"""

from __future__ import annotations

from ..model import ScriptTask
from .base import TaskRequest, TaskResult
from .process import run_python

__all__ = ["run_script"]


async def run_script(script: ScriptTask, parameters: list[str], request: TaskRequest) -> TaskResult:
    """Run ``script`` with ``parameters`` (references already resolved) as the task of ``request``."""
    if not script.path.is_file():
        from ...store import utcnow

        now = utcnow()
        return TaskResult(
            "FAILED",
            now,
            now,
            f"Script {str(script.path)!r} does not exist; fix python_file in the job file.",
        )
    return await run_python(request, ["script", str(script.path), *parameters])
