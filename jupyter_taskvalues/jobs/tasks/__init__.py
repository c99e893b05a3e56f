"""Task kinds beyond notebooks, each behind one small interface the scheduler calls.

A kind module exposes ``async def run(task, request) -> TaskResult`` (see :mod:`.base`):

- :mod:`.script`: ``spark_python_task`` / ``python_task``: the file runs as a script in a fresh interpreter;
- :mod:`.wheel`: ``python_wheel_task``: the package's entry point, from the bundle's wheel or the installed one;
- :mod:`.stub`: a stubbed task: it succeeds with the given task values, nothing runs;
- :mod:`.run_job`: ``run_job_task`` of a job of the same bundle: a child run in the same runs directory.

Notebook tasks go through the executors (:mod:`..executors`); condition and for-each tasks are the
scheduler's own.
"""

from __future__ import annotations

__all__: list[str] = []
