"""Fixtures shared by the whole suite: an isolated runs directory and a store over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_taskvalues import context
from jupyter_taskvalues.store import RunStore


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep every test out of the user's runs directory and out of any job run the suite itself runs in."""
    for name in list(__import__("os").environ):
        if name.startswith(context.ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.setenv(context.RUNS_DIR_ENV, str(tmp_path_factory.mktemp("default-runs")))


@pytest.fixture
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh runs directory, also made the default through ``JUPYTER_TASKVALUES_RUNS_DIR``."""
    path = tmp_path / "runs"
    monkeypatch.setenv(context.RUNS_DIR_ENV, str(path))
    return path


@pytest.fixture
def store(runs_dir: Path) -> Iterator[RunStore]:
    yield RunStore(runs_dir)
