"""Task kinds beyond notebooks, each behind one small interface the scheduler calls.

Each kind module has one entry the scheduler calls, returning a :class:`~.base.TaskResult`:

- :mod:`.script`: ``run_script``, for ``spark_python_task`` / ``python_task``: the file runs as a script in a
  fresh interpreter (:mod:`.process`, :mod:`.launch`);
- :mod:`.wheel`: ``run_wheel``, for ``python_wheel_task``: the package's entry point, from the bundle's wheel or
  the installed one;
- :mod:`.stub`: ``run_stub``, a stubbed task: it succeeds with the given task values, nothing runs.

Notebook tasks go through the executors (:mod:`..executors`); condition, for-each and ``run_job_task`` tasks
(a child run of a job of the same bundle) are the scheduler's own.
"""

from __future__ import annotations

__all__: list[str] = []
