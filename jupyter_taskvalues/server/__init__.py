"""The Jupyter Server extension: authenticated JSON routes over the run store (``{base_url}taskvalues/api/``).

It is enabled when the package is installed (``jupyter server extension list`` shows it). The runs directory
is ``c.TaskValuesExtension.runs_dir`` (default: ``$JUPYTER_TASKVALUES_RUNS_DIR``, else the CLI's default).
Routes are in :data:`jupyter_taskvalues.server.handlers.ROUTES`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .app import TaskValuesExtension

if TYPE_CHECKING:
    from jupyter_server.serverapp import ServerApp

__all__ = ["TaskValuesExtension"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "jupyter_taskvalues.server"}]


def _load_jupyter_server_extension(serverapp: ServerApp) -> None:
    """Register the routes on ``serverapp`` (Jupyter Server calls this when the extension is enabled)."""
    from .app import load

    load(serverapp)
