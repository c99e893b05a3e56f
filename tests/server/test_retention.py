"""The server's run retention (``c.RunnerManager.retention_keep``...): old runs go, running and attached ones stay."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.runtime import session
from jupyter_taskvalues.store import RunStore

from .conftest import Fetch, body


@pytest.fixture
def jp_server_config(runs_dir: Path) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_taskvalues": True},
            "allow_unauthenticated_access": False,
        },
        "TaskValuesExtension": {"runs_dir": str(runs_dir)},
        "RunnerManager": {"retention_keep": 1, "retention_interval": 0.3},
    }


async def test_the_server_removes_runs_past_its_retention_setting_but_not_running_or_attached_ones(
    api: Fetch, store: RunStore, make_run: Callable[..., str]
) -> None:
    oldest = make_run(run_id="20261201-100000-000-000001")
    attached = make_run(run_id="20261201-100100-000-000002")
    running = make_run(run_id="20261201-100200-000-000003", state="RUNNING")  # this process is its runner
    plain = make_run(run_id="20261201-100300-000-000004")
    newest = make_run(run_id="20261201-100400-000-000005")
    session.attach(attached, "ingest", runs_dir=str(store.root))
    try:
        deadline = time.monotonic() + 30
        while oldest in store.run_ids() or plain in store.run_ids():
            assert time.monotonic() < deadline, store.run_ids()
            await asyncio.sleep(0.1)
        assert store.run_ids() == [newest, running, attached]
        listed = [run["run_id"] for run in body(await api("runs"))["runs"]]
        assert listed == [newest, running, attached]
    finally:
        session.detach()
    # Detached, the run is no longer protected: the next pass removes it.
    deadline = time.monotonic() + 30
    while attached in store.run_ids():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert store.run_ids() == [newest, running]
