"""Job definitions: reading job files (:mod:`.sources`), building and checking them (:mod:`.loader`)."""

from __future__ import annotations

from .loader import load_job, merge_parameters, parse_param_overrides

__all__ = ["load_job", "merge_parameters", "parse_param_overrides"]
