"""``jupyter-taskvalues`` (also ``jupyter taskvalues``): the command line."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
