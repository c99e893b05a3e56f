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
        "tests/server/test_s3_runs.py",  # a moto server per test; tests/store covers the fsspec store fast
    }
)
#: Single heavy tests, by module (each takes seconds of kernels or subprocesses; a lighter test of the feature
#: stays in the fast tier).
SLOW_TESTS: dict[str, frozenset[str]] = {
    "tests/cli/test_cli.py": frozenset(
        {
            "test_a_relative_runs_dir_means_the_same_folder_to_every_task",
            "test_a_runner_killed_with_sigkill_leaves_an_interrupted_run_that_repair_completes",
            "test_failed_run_exits_one",
            "test_run_json_prints_exactly_one_run_document_and_exits_zero",
            "test_runs_show_get_and_validate",
        }
    ),
    "tests/cli/test_output.py": frozenset(
        {
            "test_a_failed_for_each_iteration_shows_its_line_and_notebook",
            "test_a_failed_task_shows_its_failing_line_traceback_end_and_notebook",
            "test_log_output_with_json_keeps_json_on_stdout_and_prefixed_lines_in_order_on_stderr",
            "test_on_a_terminal_stderr_gets_the_live_table_and_a_piped_stdout_no_escape_codes",
            "test_on_s3_a_canceled_task_output_log_is_uploaded",
            "test_on_s3_each_task_output_log_is_uploaded_whatever_its_state_and_show_log_reads_it",
        }
    ),
    "tests/hardening/test_hardening_file_modes.py": frozenset(
        {
            "test_nothing_the_runner_and_the_store_create_is_world_writable_under_umask_zero",
        }
    ),
    "tests/hardening/test_hardening_hostile_input.py": frozenset(
        {
            "test_a_hostile_job_file_is_a_job_spec_error_and_runs_nothing",
            "test_a_wheel_whose_entry_point_is_missing_fails_naming_package_and_entry_point",
        }
    ),
    "tests/jobs/test_bundle_venv.py": frozenset(
        {
            "test_a_job_defined_in_python_and_yaml_is_refused_from_the_venv_too",
            "test_python_resources_load_in_the_venv_interpreter_with_target_and_variables",
            "test_the_venv_runs_again_only_when_the_bundle_folder_changes",
        }
    ),
    "tests/jobs/test_bundles_runs.py": frozenset(
        {
            "test_run_records_the_target_and_repair_reuses_it",
        }
    ),
    "tests/jobs/test_cancel_requests.py": frozenset(
        {
            "test_a_garbage_request_file_is_ignored_with_a_warning_and_the_run_goes_on",
            "test_a_stale_request_on_a_finished_run_changes_nothing_and_does_not_cancel_its_repair",
        }
    ),
    "tests/jobs/test_control_flow.py": frozenset(
        {
            "test_repair_reruns_failed_tasks_and_downstream_keeping_successful_ones",
            "test_retries_stop_after_max_retries",
            "test_retry_count_references_and_upstream_execution_count",
        }
    ),
    "tests/jobs/test_forkserver.py": frozenset(
        {
            "test_a_forked_kernel_runs_its_atexit_handlers_and_exits_at_once_when_asked",
            "test_a_forked_kernel_starts_with_the_task_runtime_and_the_store_imported",
            "test_a_forked_kernel_that_dies_reports_its_exit_code",
            "test_another_kernelspec_is_always_spawned",
            "test_children_of_a_forked_kernel_are_killed_with_it",
            "test_pool_forks_kernels_that_look_like_spawned_ones_from_inside",
            "test_pool_spawns_kernels_when_the_fork_server_dies",
        }
    ),
    "tests/jobs/test_kernel_cleanup.py": frozenset(
        {
            "test_forked_kernel_passes_its_mark_to_what_it_starts",
        }
    ),
    "tests/jobs/test_kernels.py": frozenset(
        {
            "test_cli_launches_its_kernels_through_jupyter_clients_kernel_manager",
            "test_fork_server_is_not_started_when_forking_is_turned_off",
            "test_pool_never_hands_out_the_same_kernel_twice",
            "test_pool_starts_at_most_max_starting_kernels_at_once",
        }
    ),
    "tests/jobs/test_runner.py": frozenset(
        {
            "test_independent_tasks_run_at_the_same_time",
            "test_job_parameters_are_pushed_down_and_overridable",
            "test_max_parallel_one_runs_tasks_one_after_another",
            "test_run_history_lists_runs_newest_first_and_documents_have_the_full_shape",
        }
    ),
    "tests/jobs/test_spec.py": frozenset(
        {
            "test_deeply_nested_file_is_refused",
            "test_loader_on_arbitrary_job_shapes_raises_only_job_spec_errors",
        }
    ),
    "tests/jobs/test_streaming.py": frozenset(
        {
            "test_a_run_with_max_output_bytes_caps_its_notebook_while_the_log_keeps_all_of_the_last_attempt",
            "test_a_run_with_max_output_log_bytes_caps_the_log_and_show_log_prints_it",
        }
    ),
    "tests/jobs/test_task_kinds.py": frozenset(
        {
            "test_wheel_entry_point_missing_from_metadata_runs_the_package_function",
        }
    ),
    "tests/runtime/test_databricks_notebooks.py": frozenset(
        {
            "test_a_secret_passed_to_a_notebook_run_child_is_redacted_in_the_kept_child",
            "test_every_import_style_in_a_task_gives_our_runtime_and_makes_no_network_call",
            "test_guard_fails_the_task_whose_helper_module_sets_through_its_remote_dbutils",
            "test_guard_warns_in_the_record_and_the_cli_when_a_remote_dbutils_is_handed_to_a_helper",
            "test_notebook_run_passes_arguments_as_widgets_and_returns_the_exit_value",
            "test_notebook_run_raises_for_a_failing_missing_or_slow_child",
            "test_workspace_client_dbutils_in_a_task_is_ours_and_its_constructor_probes_the_host",
        }
    ),
    "tests/runtime/test_seam.py": frozenset(
        {
            "test_sdk_runtime_imported_before_load_ext_is_run_again_and_remote_names_replaced",
        }
    ),
    "tests/server/test_extension.py": frozenset(
        {
            "test_help_all_lists_the_extension_and_runner_traits_with_their_help",
        }
    ),
    "tests/server/test_hardening_access.py": frozenset(
        {
            "test_three_hundred_hostile_run_ids_and_task_keys_never_reach_outside_the_runs_directory",
        }
    ),
    "tests/server/test_runs.py": frozenset(
        {
            "test_a_failed_run_shows_the_failing_cell_and_is_repaired_after_the_notebook_is_fixed",
            "test_run_again_starts_a_new_run_with_the_same_job_and_changed_parameters",
        }
    ),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests of :data:`SLOW_MODULES` and :data:`SLOW_TESTS` ``slow``."""
    root = Path(str(config.rootpath))
    for item in items:
        path = (
            Path(str(item.path)).relative_to(root).as_posix()
            if Path(str(item.path)).is_relative_to(root)
            else ""
        )
        if path in SLOW_MODULES or item.name.split("[")[0] in SLOW_TESTS.get(path, ()):
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
