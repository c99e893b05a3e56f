"""The Jupyter Server extension: authenticated JSON routes over the run store, and a runner manager.

Routes are under ``{base_url}taskvalues/api/`` (:data:`jupyter_taskvalues.server.handlers.ROUTES`, shapes in
that module and ``docs/rest-api.md``). It is enabled when the package is installed (``jupyter server extension
list`` shows it). Settings are ``c.TaskValuesExtension.<name>`` (the runs directory: ``runs_dir``, default
``$JUPYTER_TASKVALUES_RUNS_DIR``, else the CLI's default) and ``c.RunnerManager.<name>`` (limits of the runs
started from JupyterLab); ``python -m jupyter_taskvalues.server --help-all`` lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .app import TaskValuesExtension

if TYPE_CHECKING:
    from jupyter_server.serverapp import ServerApp

__all__ = ["TaskValuesExtension"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "jupyter_taskvalues.server", "app": TaskValuesExtension}]


def _load_jupyter_server_extension(serverapp: ServerApp) -> None:
    """Link and load the extension into ``serverapp`` (for a server that loads modules, not apps)."""
    from .app import load

    load(serverapp)
