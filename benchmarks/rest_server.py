"""A Jupyter Server with the extension, in a subprocess, for the rows that time the REST API.

:func:`jupyter_server` starts it over a runs directory, waits until it answers and yields a ``get(path,
etag=None)`` that times one request: ``(seconds, status, body, etag)``. The server is ended on the way out.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

#: ``get(path, etag=None) -> (seconds, HTTP status, body, ETag)``.
Get = Callable[..., tuple[float, int, bytes, str]]

TOKEN = "benchmark"


@contextlib.contextmanager
def jupyter_server(runs_dir: str | Path, workdir: Path, *, log_name: str = "server.log") -> Iterator[Get]:
    """Serve ``runs_dir`` from a fresh Jupyter Server rooted at ``workdir``; its stderr goes to ``log_name``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--allow-root",  # containers and CI machines often run as root
        f"--port={port}",
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={workdir}",
        "--ServerApp.jpserver_extensions={'jupyter_taskvalues': True}",
        f"--TaskValuesExtension.runs_dir={runs_dir}",
    ]
    base = f"http://127.0.0.1:{port}"

    def get(path: str, etag: str | None = None) -> tuple[float, int, bytes, str]:
        headers = {"Authorization": f"token {TOKEN}"} | ({"If-None-Match": etag} if etag else {})
        began = time.perf_counter()
        try:
            with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers)) as response:
                data, code, tag = response.read(), response.status, response.headers.get("Etag", "")
        except urllib.error.HTTPError as e:
            data, code, tag = b"", e.code, ""
        return time.perf_counter() - began, code, data, tag

    log_path = workdir / log_name
    with open(log_path, "wb") as log:
        server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    get("/api/status")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the Jupyter Server did not start; see {log_path}") from None
                    time.sleep(0.1)
            yield get
        finally:
            server.terminate()
            server.wait(timeout=30)
