"""Notebook formats a task may point at, and their parameters (:mod:`.formats`)."""

from __future__ import annotations

__all__: list[str] = []
