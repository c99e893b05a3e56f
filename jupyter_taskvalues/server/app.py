"""The extension's settings and how it is loaded into a Jupyter Server."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from tornado.web import url
from traitlets import Unicode, default
from traitlets.config import LoggingConfigurable

from ..context import RUNS_DIR_ENV, default_runs_dir
from ..store._local import RunStore

if TYPE_CHECKING:
    from jupyter_server.serverapp import ServerApp

__all__ = ["SETTINGS_KEY", "BoundedCache", "TaskValuesExtension", "load"]

SETTINGS_KEY = "taskvalues_extension"


class TaskValuesExtension(LoggingConfigurable):  # type: ignore[misc]
    """Settings of the task values server extension (``c.TaskValuesExtension.<name>`` in Jupyter config)."""

    runs_dir = Unicode(
        help=(
            "The runs directory the REST API and the JupyterLab panel read, or an fsspec URL such as "
            "s3://bucket/runs (credentials from fsspec's configuration). Default: the environment "
            f"variable {RUNS_DIR_ENV}, else <jupyter data dir>/taskvalues/runs (the same default as the "
            "jupyter-taskvalues CLI and the kernels of job runs)."
        ),
    ).tag(config=True)

    @default("runs_dir")
    def _default_runs_dir(self) -> str:
        return default_runs_dir()

    @property
    def store(self) -> RunStore:
        """The run store over :attr:`runs_dir` (a fresh object: a changed setting takes effect at once)."""
        return RunStore(self.runs_dir)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: Serialized run documents by (runs dir, run id, fingerprint): a run that did not change is served
        #: again without reading or serializing it (2.5 MB for 10,000 values).
        self.documents = BoundedCache(8)
        #: Serialized task documents by what they were made from: when one value of a large run changes, only
        #: that task is read and serialized again (see :func:`~jupyter_taskvalues.document.run_document_json`).
        self.fragments = BoundedCache(4096)


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
    """Create the settings object from the server's config and register the routes under the base URL."""
    from jupyter_server.utils import url_path_join

    from .handlers import ROUTES

    extension = TaskValuesExtension(parent=serverapp, config=serverapp.config)
    web_app = serverapp.web_app
    web_app.settings[SETTINGS_KEY] = extension
    base_url = web_app.settings["base_url"]
    handlers: list[Any] = [
        url(url_path_join(base_url, pattern), handler, name=f"taskvalues-{name}")
        for name, pattern, handler in ROUTES
    ]
    web_app.add_handlers(".*$", handlers)  # type: ignore[no-untyped-call]
    serverapp.log.info("jupyter_taskvalues: serving runs from %s", extension.runs_dir)
    return extension
