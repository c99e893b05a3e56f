"""A real S3 API on loopback: moto's standalone server in a subprocess, reached through s3fs.

Test modules load these fixtures with ``pytest_plugins = ["tests.s3.fixtures"]``. The server listens on
127.0.0.1 only, on a free port, for the whole session; each test gets a bucket of its own.

Credentials and the endpoint reach every process the way they would in production: dummy ``AWS_*``
variables, and fsspec's configuration (``FSSPEC_S3`` for processes started later: kernels, Dask workers, the
CLI; ``fsspec.config.conf`` for this one, where fsspec may already be imported).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with code {process.returncode} before it was ready.")
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise RuntimeError(f"moto_server did not answer at {url} within {timeout:.0f} s.")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The endpoint URL of a moto S3 server on 127.0.0.1, configured as the default for s3:// in every process."""
    import fsspec.config

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    saved_env = {name: os.environ.get(name) for name in [*_ENV, "FSSPEC_S3"]}
    saved_conf = fsspec.config.conf.get("s3")
    try:
        _wait_until_up(url, process)
        os.environ.update(_ENV)
        conf = {"client_kwargs": {"endpoint_url": url}}
        os.environ["FSSPEC_S3"] = json.dumps(conf)
        fsspec.config.conf["s3"] = conf
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if saved_conf is None:
            fsspec.config.conf.pop("s3", None)
        else:
            fsspec.config.conf["s3"] = saved_conf


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A fresh, empty bucket on the moto server."""
    import s3fs

    bucket = f"runs-{secrets.token_hex(6)}"
    s3fs.S3FileSystem().mkdir(bucket)
    return bucket


@pytest.fixture
def s3_runs(s3_bucket: str) -> str:
    """A runs directory URL in a fresh bucket (``s3://<bucket>/runs``)."""
    return f"s3://{s3_bucket}/runs"
