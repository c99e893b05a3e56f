"""The runner's side of a task's kernel: the hidden first cell that makes it a task (:func:`bootstrap_code`),
and what it answers to a user expression (:func:`user_expression`).

The executor (and ``dbutils.notebook.run`` for a child notebook) sends the bootstrap cell before the notebook's
first one; in the kernel it calls :func:`jupyter_taskvalues.ipython.bootstrap.enter_task`, which reads it back.
At the task's end the executor reads the guard's warnings and the child runs as user expressions. This lives in
the core so that the runner, the runtime and the IPython adapter can all reach it without importing one another.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from .context import TaskContext

__all__ = ["bootstrap_code", "user_expression"]


def bootstrap_code(task: TaskContext, cwd: str) -> str:
    """Return the Python source that makes a kernel execute ``task`` in ``cwd``.

    Parameters
    ----------
    task
        The run, task, attempt, iteration and parameters the kernel is to be.
    cwd
        The folder the kernel moves into (the notebook's).
    """
    payload = {
        "run_id": task.run_id,
        "task_key": task.task_key,
        "runs_dir": task.runs_dir,
        "iteration": task.iteration,
        "attempt": task.attempt,
        "parameters": dict(task.parameters),
        "max_values": task.max_values,
        "cwd": cwd,
    }
    return f"import jupyter_taskvalues.ipython.bootstrap as _jtv\n_jtv.enter_task({json.dumps(payload)!r})\ndel _jtv\n"


def user_expression(reply_content: Mapping[str, Any], name: str) -> Any:
    """Return the value of the user expression ``name`` from an ``execute_reply``'s content: the kernel shows it
    as its ``repr``, read back here as a Python literal. ``None`` when the kernel could not evaluate it."""
    expression = (reply_content.get("user_expressions") or {}).get(name) or {}
    if expression.get("status") != "ok":
        return None
    try:
        return ast.literal_eval(str((expression.get("data") or {}).get("text/plain", "None")))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
