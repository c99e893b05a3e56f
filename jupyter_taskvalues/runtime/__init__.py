"""The Databricks notebook runtime, ours.

- :mod:`.dbutils`: the ``dbutils`` object (``jobs.taskValues``, ``notebook``), with :mod:`.widgets`,
  :mod:`.secrets`, :mod:`.fs` and :mod:`.notebook_run` (``dbutils.notebook.run``) one module each;
- :mod:`.display` (``display``, ``displayHTML``) and :mod:`.spark` (a lazy local ``spark``, ``sc``, ``sql``,
  ``table``, ``udf``, and ``%sql`` cells);
- :mod:`.namespace`: every name Databricks binds in a notebook, and :mod:`.seam`, which serves them to
  ``databricks.sdk.runtime``, ``WorkspaceClient().dbutils`` and ``pyspark.dbutils`` through ``dbruntime``;
- :mod:`.guard`: the end-of-task check that no task value went nowhere;
- :mod:`.session`: the interactive session that holds values set outside a job run.
"""

from __future__ import annotations

__all__: list[str] = []
