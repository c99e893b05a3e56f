"""Jobs: job files (:mod:`.spec`), notebook formats (:mod:`.notebooks`), the scheduler and the executors.

The public entry points are :func:`jupyter_taskvalues.run_job` and friends, in :mod:`.api`.
"""

__all__: list[str] = []
