"""The Output panel widget (``%taskvalue show``): :class:`~.panel.RunPanel`, and its HTML in :mod:`.render`."""

from __future__ import annotations

from .panel import SESSION, RunPanel

__all__ = ["SESSION", "RunPanel"]
