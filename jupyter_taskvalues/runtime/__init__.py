"""The Databricks notebook runtime, ours: ``dbutils`` (:mod:`.dbutils`) and the interactive session
(:mod:`.session`) that holds values set outside a job run.
"""

from __future__ import annotations

__all__: list[str] = []
