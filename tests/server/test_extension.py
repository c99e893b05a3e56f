"""The server extension as a Jupyter application: its traits, where they are listed, and the runner's limits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.server.app import TaskValuesExtension
from jupyter_taskvalues.server.manager import RunnerManager
from jupyter_taskvalues.store import RunStore
from tests.jobhelpers import job, nb_task, notebook

from .conftest import Fetch, body
from .test_runs import finished, until


def test_help_all_lists_the_extension_and_runner_traits_with_their_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_taskvalues.server", "--help-all"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    traits = (
        "runs_dir",
        "max_concurrent_runs",
        "max_parallel",
        "output_lines",
        "finished_runs_kept",
        "shutdown_timeout",
    )
    for trait in traits:
        owner = "TaskValuesExtension" if trait == "runs_dir" else "RunnerManager"
        assert f"--{owner}.{trait}=" in result.stdout, trait
    assert "How many job runs (and repairs) the server executes at once" in result.stdout
    assert "--ServerApp.root_dir=" in result.stdout  # the server's own options come with it


def test_every_configurable_trait_has_help() -> None:
    for cls in (TaskValuesExtension, RunnerManager):
        for name, trait in cls.class_own_traits(config=True).items():
            assert trait.help, f"{cls.__name__}.{name} has no help"


@pytest.fixture
def one_run_at_a_time(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    jp_server_config["RunnerManager"] = {"max_concurrent_runs": 1, "max_parallel": 1, "output_lines": 5}
    return jp_server_config


async def test_runner_limits_come_from_jupyter_config_and_a_run_past_the_limit_is_refused(
    one_run_at_a_time: dict[str, Any], jp_serverapp: Any, api: Fetch, jp_root_dir: Path, store: RunStore
) -> None:
    notebook(jp_root_dir / "sleep.ipynb", "import time\ntime.sleep(300)")
    job(jp_root_dir / "sleep.job.json", [nb_task("sleep", "sleep")], name="sleeper")
    extension = jp_serverapp.extension_manager.extension_points["taskvalues"].app
    assert (extension.runner.max_concurrent_runs, extension.runner.output_lines) == (1, 5)
    started = body(await api("runs", method="POST", body=json.dumps({"path": "sleep.job.json"})))

    refused = await api("runs", method="POST", body=json.dumps({"path": "sleep.job.json"}))

    assert refused.code == 409
    assert "max_concurrent_runs" in body(refused)["message"]
    assert store.count_runs() == 1
    assert extension.current_activity() == [started["run_id"]]
    await api("runs", started["run_id"], method="DELETE")
    await until(api, started["run_id"], finished)


@pytest.fixture
def config_file(jp_config_dir: Path) -> Path:
    path = jp_config_dir / "jupyter_taskvalues_config.json"
    path.write_text(json.dumps({"RunnerManager": {"output_lines": 7, "shutdown_timeout": 3.5}}))
    return path


async def test_the_extension_reads_its_own_config_file(config_file: Path, jp_serverapp: Any) -> None:
    extension = jp_serverapp.extension_manager.extension_points["taskvalues"].app

    assert (extension.runner.output_lines, extension.runner.shutdown_timeout) == (7, 3.5)
