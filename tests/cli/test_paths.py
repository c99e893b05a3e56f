"""One default runs directory, from jupyter_core, for the CLI, a task's kernel, the widget and the server.

Each case runs in fresh processes that share nothing but ``HOME`` (and ``PATH``), with one override set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.jobhelpers import job, nb_task, notebook

BIN = Path(sys.executable).parent

_PROBE = """
from jupyter_taskvalues.exceptions import RunNotFoundError
from jupyter_taskvalues.runtime.session import attach
from jupyter_taskvalues.server.app import TaskValuesExtension
from jupyter_taskvalues.widget.panel import resolve_target
print("server", TaskValuesExtension().runs_dir)
print("widget", resolve_target().runs_dir)
try:
    attach("latest", "t")
except RunNotFoundError as e:  # no run yet: the message names the directory it looked in
    print("session", str(e).split(" in ", 1)[1].split()[0])
"""


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(home), "PATH": os.environ["PATH"], **extra}


def _run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _seen(home: Path, env: dict[str, str]) -> dict[str, str]:
    """Where each component looks for runs, in this environment."""
    cli = _run([str(BIN / "jupyter-taskvalues"), "runs"], env, home)
    seen = {"cli": cli.strip().removeprefix("No runs in ").rstrip(".")}
    for line in _run([sys.executable, "-c", _PROBE], env, home).splitlines():
        name, _, path = line.partition(" ")
        seen[name] = path
    return seen


def _jupyter_data_dir(env: dict[str, str], home: Path) -> Path:
    return Path(_run([str(BIN / "jupyter"), "--data-dir"], env, home).strip())


@pytest.mark.parametrize(
    "override",
    [
        {},
        {"JUPYTER_DATA_DIR": "{tmp}/data"},
        {"XDG_DATA_HOME": "{tmp}/xdg"},
        {"JUPYTER_PLATFORM_DIRS": "1", "XDG_DATA_HOME": "{tmp}/platform-xdg"},
    ],
    ids=["home-only", "JUPYTER_DATA_DIR", "XDG_DATA_HOME", "JUPYTER_PLATFORM_DIRS"],
)
def test_every_component_uses_the_jupyter_data_dir(tmp_path: Path, override: dict[str, str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = _env(home, **{k: v.format(tmp=tmp_path) for k, v in override.items()})
    expected = str(_jupyter_data_dir(env, home) / "taskvalues" / "runs")
    assert expected.startswith(str(tmp_path))
    assert _seen(home, env) == dict.fromkeys(("cli", "server", "widget", "session"), expected)


def test_the_runs_dir_variable_overrides_every_component(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    chosen = str(tmp_path / "chosen")
    env = _env(home, JUPYTER_TASKVALUES_RUNS_DIR=chosen, JUPYTER_DATA_DIR=str(tmp_path / "ignored"))
    assert _seen(home, env) == dict.fromkeys(("cli", "server", "widget", "session"), chosen)


def test_a_tasks_kernel_writes_where_the_cli_reads_by_default(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = _env(home)
    notebook(
        tmp_path / "where.ipynb",
        "from jupyter_taskvalues.context import current_context\nprint(current_context().runs_dir)",
    )
    path = job(tmp_path / "job.json", [nb_task("where", "where")])
    result = subprocess.run(
        [str(BIN / "jupyter-taskvalues"), "run", str(path), "--log-output", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    expected = str(_jupyter_data_dir(env, home) / "taskvalues" / "runs")
    assert f"where | {expected}" in result.stderr.splitlines()
    assert expected.startswith(str(home))
