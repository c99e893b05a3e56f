"""The extension's traits set on the server's command line (``jupyter lab --RunnerManager.<name>=...``)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def jp_argv() -> list[str]:
    return ["--RunnerManager.max_concurrent_runs=2", "--TaskValuesExtension.runs_dir=/nonexistent/runs"]


async def test_the_command_line_sets_the_extension_and_runner_traits(jp_serverapp: Any) -> None:
    extension = jp_serverapp.extension_manager.extension_points["taskvalues"].app

    assert extension.runner.max_concurrent_runs == 2
    assert extension.runs_dir == "/nonexistent/runs"
