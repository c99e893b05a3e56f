"""Fixtures of the CLI tests."""

from __future__ import annotations

import pytest

from jupyter_taskvalues.jobs.executors import registry
from tests.cli.inprocess import RecordingExecutor


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> type[RecordingExecutor]:
    """Register :class:`RecordingExecutor` as the executor ``pretend`` for this test."""
    monkeypatch.setitem(registry.EXECUTORS, "pretend", RecordingExecutor)
    RecordingExecutor.seen = []
    return RecordingExecutor
