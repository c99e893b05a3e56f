"""The hidden first cell that makes a kernel a task of a job run: :func:`bootstrap_code`.

The runner side of the kernel bootstrap. The executor (and ``dbutils.notebook.run`` for a child notebook)
sends this cell before the notebook's first one; in the kernel it calls
:func:`jupyter_taskvalues.ipython.bootstrap.enter_task`, which reads it back. It lives in the core so that the
runner, the runtime and the IPython adapter can all reach it without importing one another.
"""

from __future__ import annotations

import json

from .context import TaskContext

__all__ = ["bootstrap_code"]


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
