"""The server extension as a Jupyter application: its settings, its runner manager, its routes.

:class:`TaskValuesExtension` is a jupyter_server ``ExtensionApp``: Jupyter Server links it when the package is
enabled (``jupyter server extension list`` shows it), reads its traits from every Jupyter config file and the
command line as ``c.TaskValuesExtension.<name>`` / ``--TaskValuesExtension.<name>=...``, adds the routes of
:data:`~jupyter_taskvalues.server.handlers.ROUTES` under the base URL, and calls
:meth:`TaskValuesExtension.stop_extension` when the server stops (running job runs are canceled then). The
runner manager's limits are ``c.RunnerManager.<name>`` (:mod:`.manager`).

Jupyter Server answers ``jupyter server --help-all`` before it looks for extensions, so no extension's traits
are listed there (JupyterLab's are not either); ``python -m jupyter_taskvalues.server --help-all`` lists this
extension's and the manager's, with the server's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Instance, Unicode, default

from ..context import RUNS_DIR_ENV, default_runs_dir
from ..store import RunStore, open_store
from .base import SETTINGS_KEY
from .manager import RunnerManager

if TYPE_CHECKING:
    from jupyter_server.serverapp import ServerApp

__all__ = ["SETTINGS_KEY", "BoundedCache", "TaskValuesExtension", "load"]


class TaskValuesExtension(ExtensionApp):  # type: ignore[misc]
    """The task values server extension (``c.TaskValuesExtension.<name>`` in Jupyter config)."""

    name = (
        "taskvalues"  # its config file: jupyter_taskvalues_config.py (or .json) beside jupyter_server_config
    )
    description = "Task values and job runs for JupyterLab: REST routes over the run store, and a runner."
    load_other_extensions = True
    classes = [*ExtensionApp.classes, RunnerManager]  # noqa: RUF012 - the base declares it a plain list

    runs_dir = Unicode(
        help=(
            "The runs directory the REST API and the JupyterLab panel read, or an fsspec URL such as "
            "s3://bucket/runs (credentials from fsspec's configuration). Default: the environment "
            f"variable {RUNS_DIR_ENV}, else <jupyter data dir>/taskvalues/runs (the same default as the "
            "jupyter-taskvalues CLI and the kernels of job runs). Runs started from JupyterLab are "
            "recorded here too."
        ),
    ).tag(config=True)

    @default("runs_dir")
    def _default_runs_dir(self) -> str:
        return default_runs_dir()

    manager = Instance(RunnerManager, allow_none=True, help="The runner manager (made at initialization).")

    @property
    def store(self) -> RunStore:
        """The run store over :attr:`runs_dir` (a fresh object: a changed setting takes effect at once)."""
        return open_store(self.runs_dir)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: Serialized run documents by (runs dir, run id, fingerprint): a run that did not change is served
        #: again without reading or serializing it (2.5 MB for 10,000 values).
        self.documents = BoundedCache(8)
        #: Serialized task documents by what they were made from: when one value of a large run changes, only
        #: that task is read and serialized again (see :func:`~jupyter_taskvalues.document.run_document_json`).
        self.fragments = BoundedCache(4096)

    @property
    def runner(self) -> RunnerManager:
        """The runner manager, made on first use with this extension's config."""
        if self.manager is None:
            self.manager = RunnerManager(self.runs_dir, parent=self)
        return self.manager

    def initialize_settings(self) -> None:
        """Put the extension where the handlers find it, and make the runner manager."""
        self.settings[SETTINGS_KEY] = self
        self.runner.start_retention()  # made now, so that a config error shows at start-up
        self.log.info("jupyter_taskvalues: serving runs from %s", self.runs_dir)

    def initialize_handlers(self) -> None:
        """Add every route of :data:`~jupyter_taskvalues.server.handlers.ROUTES` (prefixed by the base URL)."""
        from .handlers import ROUTES

        self.handlers.extend((pattern, handler) for _name, pattern, handler in ROUTES)

    def current_activity(self) -> list[str] | None:
        """The runs executing, so that an idle-culling server does not stop under them."""
        return self.runner.active_runs or None

    async def stop_extension(self) -> None:
        """Cancel the runs still executing; each is recorded ``CANCELED`` and its kernels are shut down."""
        if self.manager is not None:
            await self.manager.shutdown()


class BoundedCache(MutableMapping[Hashable, bytes]):
    """A thread-safe mapping that keeps at most ``size`` entries, dropping the least recently used.

    Keys hold everything an entry was made from, so a stale entry is never found: it is only left to age out.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, key: Hashable) -> bytes:
        with self._lock:
            body = self._entries[key]
            self._entries.move_to_end(key)
            return body

    def __setitem__(self, key: Hashable, body: bytes) -> None:
        with self._lock:
            self._entries[key] = body
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __delitem__(self, key: Hashable) -> None:
        with self._lock:
            del self._entries[key]

    def __iter__(self) -> Iterator[Hashable]:
        with self._lock:
            return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


def load(serverapp: ServerApp) -> TaskValuesExtension:
    """Link and load the extension into ``serverapp`` by hand (Jupyter Server does it for an enabled package)."""
    extension: TaskValuesExtension = TaskValuesExtension._load_jupyter_server_extension(serverapp)  # type: ignore[no-untyped-call]
    return extension
