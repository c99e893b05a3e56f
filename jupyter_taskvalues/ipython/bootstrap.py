"""What runs inside a task's kernel before the notebook's first cell.

The executor sends one silent ``execute_request`` that calls :func:`enter_task`. It makes the kernel a task of
the run (the task context in ``os.environ``, so subprocesses inherit it too), moves it into the notebook's folder,
and loads the IPython extension so that ``dbutils`` is in the namespace without an import, as on Databricks.
A kernel started ahead of its task (a warm kernel) learns everything here, so it can serve any task.

The executor does not wait for that request's reply before it sends the first cell (a round trip saved on every
task): so a failed :func:`enter_task` makes every later cell of the kernel raise an error that says why, and no
cell can run as if it were outside a job.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from .. import context
from ..task_cell import bootstrap_code  # the runner's side, in the core

__all__ = ["bootstrap_code", "enter_task"]


def enter_task(payload: str) -> None:
    """Install the task context described by ``payload`` (JSON) in this kernel.

    If that fails, every cell this kernel runs afterwards raises a ``RuntimeError`` that names the failure.
    """
    try:
        _enter_task(payload)
    except BaseException as e:  # anything: later cells refuse to run, then re-raise
        _refuse_cells(f"The kernel could not become its task: {type(e).__name__}: {e}")
        raise


def _refuse_cells(message: str) -> None:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    refusal = [f"raise RuntimeError({message!r})\n"]
    shell.input_transformers_cleanup.insert(0, lambda lines: refusal)


def _enter_task(payload: str) -> None:
    data: dict[str, Any] = json.loads(payload)
    cwd = data.pop("cwd")
    task = context.TaskContext(**data)
    context.install(task)
    os.chdir(cwd)
    if sys.path and sys.path[0] not in ("", cwd):
        sys.path.insert(0, cwd)
    from IPython import get_ipython  # in a kernel IPython is already imported

    shell = get_ipython()
    if shell is not None:
        shell.extension_manager.load_extension("jupyter_taskvalues")
    from .outflow import bound_stream_messages

    bound_stream_messages()  # what the task prints reaches the runner in small messages
