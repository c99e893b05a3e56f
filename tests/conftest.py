"""Fixtures shared by the whole suite (an isolated runs directory and a store over it), and the fast tier.

``pytest -m "not slow"`` (``make test-fast``) leaves out the tests marked ``slow``: those marked in their own
files, and the heavy ones named in :data:`SLOW_MODULES` and :data:`SLOW_TESTS` (fault injection with many
processes, every-component path checks, long kernel runs), marked here so the tier is decided in one place.
``make test`` runs everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_taskvalues import context
from jupyter_taskvalues.store import RunStore

#: Test modules whose every test is heavy (many processes, kills at random moments, large inputs).
SLOW_MODULES = frozenset(
    {
        "tests/hardening/test_hardening_concurrency.py",
        "tests/hardening/test_hardening_concurrent_runs.py",
        "tests/hardening/test_hardening_faults.py",
        "tests/hardening/test_hardening_gc_crash.py",
        "tests/hardening/test_hardening_output_kill.py",
        "tests/hardening/test_hardening_properties.py",
        "tests/hardening/test_hardening_writer_crash.py",
        "tests/cli/test_paths.py",
    }
)
#: Single heavy tests (each takes several seconds of kernels or subprocesses; a lighter test covers the feature).
SLOW_TESTS = frozenset(
    {
        "tests/runtime/test_seam.py::test_sdk_runtime_imported_before_load_ext_is_run_again_and_remote_names_replaced",
        "tests/runtime/test_databricks_notebooks.py::test_notebook_run_raises_for_a_failing_missing_or_slow_child",
        "tests/jobs/test_control_flow.py::test_retries_stop_after_max_retries",
        "tests/jobs/test_forkserver.py::test_pool_spawns_kernels_when_the_fork_server_dies",
        "tests/cli/test_cli.py::test_a_runner_killed_with_sigkill_leaves_an_interrupted_run_that_repair_completes",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests of :data:`SLOW_MODULES` and :data:`SLOW_TESTS` ``slow``."""
    root = Path(str(config.rootpath))
    for item in items:
        path = (
            Path(str(item.path)).relative_to(root).as_posix()
            if Path(str(item.path)).is_relative_to(root)
            else ""
        )
        if path in SLOW_MODULES or f"{path}::{item.name.split('[')[0]}" in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)


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
