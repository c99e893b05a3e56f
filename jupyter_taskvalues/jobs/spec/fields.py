"""The Jobs API fields the validator knows, generated from ``databricks-sdk`` 0.167.0: do not edit.

Regenerate with ``python -m jupyter_taskvalues.jobs.spec.generate_fields`` (see :mod:`.generate_fields`).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "JOB_FIELDS",
    "JOB_SETTINGS_FIELDS",
    "SDK_VERSION",
    "TASK_FIELDS",
    "TASK_TYPES",
    "TASK_TYPE_FIELDS",
]

#: The databricks-sdk version the lists come from.
SDK_VERSION: Final = "0.167.0"

#: The fields of job settings (``JobSettings``).
JOB_SETTINGS_FIELDS: Final = frozenset(
    {
        "budget_policy_id",
        "continuous",
        "deployment",
        "description",
        "duration_target",
        "edit_mode",
        "email_notifications",
        "environment_variables",
        "environments",
        "format",
        "git_source",
        "health",
        "job_clusters",
        "max_concurrent_runs",
        "name",
        "notification_settings",
        "parameters",
        "parent_path",
        "performance_target",
        "queue",
        "run_as",
        "schedule",
        "tags",
        "tasks",
        "timeout_seconds",
        "trigger",
        "triggers",
        "usage_policy_id",
        "webhook_notifications",
    }
)

#: The fields of a job as ``jobs get`` exports it (``Job``).
JOB_FIELDS: Final = frozenset(
    {
        "created_time",
        "creator_user_name",
        "effective_budget_policy_id",
        "effective_usage_policy_id",
        "has_more",
        "job_id",
        "next_page_token",
        "run_as_user_name",
        "settings",
        "trigger_details",
        "trigger_state",
    }
)

#: The fields of a task (``Task``), task types included.
TASK_FIELDS: Final = frozenset(
    {
        "ai_function_task",
        "ai_runtime_task",
        "alert_task",
        "clean_rooms_notebook_task",
        "compute",
        "condition_task",
        "dashboard_task",
        "dbt_cloud_task",
        "dbt_platform_task",
        "dbt_task",
        "depends_on",
        "description",
        "disable_auto_optimization",
        "disabled",
        "email_notifications",
        "environment_key",
        "environment_variables_key",
        "existing_cluster_id",
        "for_each_task",
        "gen_ai_compute_task",
        "health",
        "job_cluster_key",
        "libraries",
        "max_retries",
        "min_retry_interval_millis",
        "new_cluster",
        "notebook_task",
        "notification_settings",
        "pipeline_task",
        "power_bi_task",
        "python_operator_task",
        "python_wheel_task",
        "retry_on_timeout",
        "run_if",
        "run_job_task",
        "spark_jar_task",
        "spark_python_task",
        "spark_submit_task",
        "sql_task",
        "task_key",
        "timeout_seconds",
        "webhook_notifications",
    }
)

#: The task types: the ``*_task`` fields of ``Task``.
TASK_TYPES: Final = frozenset(
    {
        "ai_function_task",
        "ai_runtime_task",
        "alert_task",
        "clean_rooms_notebook_task",
        "condition_task",
        "dashboard_task",
        "dbt_cloud_task",
        "dbt_platform_task",
        "dbt_task",
        "for_each_task",
        "gen_ai_compute_task",
        "notebook_task",
        "pipeline_task",
        "power_bi_task",
        "python_operator_task",
        "python_wheel_task",
        "run_job_task",
        "spark_jar_task",
        "spark_python_task",
        "spark_submit_task",
        "sql_task",
    }
)

#: The fields of each task type's settings.
TASK_TYPE_FIELDS: Final[dict[str, frozenset[str]]] = {
    "ai_function_task": frozenset(
        {"ai_classify", "ai_extract", "ai_parse_document", "delta_table", "output", "volume"}
    ),
    "ai_runtime_task": frozenset(
        {
            "code_source_path",
            "deployments",
            "docker_image_url",
            "experiment",
            "mlflow_artifact_location",
            "mlflow_experiment_directory",
            "mlflow_run",
            "priority_class",
            "unity_catalog_image_path",
        }
    ),
    "alert_task": frozenset({"alert_id", "parameters", "subscribers", "warehouse_id", "workspace_path"}),
    "clean_rooms_notebook_task": frozenset(
        {"clean_room_name", "etag", "notebook_base_parameters", "notebook_name"}
    ),
    "condition_task": frozenset({"left", "op", "right"}),
    "dashboard_task": frozenset({"dashboard_id", "filters", "subscription", "warehouse_id"}),
    "dbt_cloud_task": frozenset({"connection_resource_name", "dbt_cloud_job_id"}),
    "dbt_platform_task": frozenset({"connection_resource_name", "dbt_platform_job_id"}),
    "dbt_task": frozenset(
        {"catalog", "commands", "profiles_directory", "project_directory", "schema", "source", "warehouse_id"}
    ),
    "for_each_task": frozenset({"concurrency", "inputs", "task"}),
    "gen_ai_compute_task": frozenset(
        {
            "command",
            "compute",
            "dl_runtime_image",
            "mlflow_experiment_name",
            "source",
            "training_script_path",
            "yaml_parameters",
            "yaml_parameters_file_path",
        }
    ),
    "notebook_task": frozenset({"base_parameters", "notebook_path", "source", "warehouse_id"}),
    "pipeline_task": frozenset(
        {
            "full_refresh",
            "full_refresh_selection",
            "parameters",
            "pipeline_id",
            "refresh_flow_selection",
            "refresh_selection",
            "reset_checkpoint_selection",
        }
    ),
    "power_bi_task": frozenset(
        {"connection_resource_name", "power_bi_model", "refresh_after_update", "tables", "warehouse_id"}
    ),
    "python_operator_task": frozenset({"main", "parameters"}),
    "python_wheel_task": frozenset({"entry_point", "named_parameters", "package_name", "parameters"}),
    "run_job_task": frozenset(
        {
            "dbt_commands",
            "jar_params",
            "job_id",
            "job_parameters",
            "notebook_params",
            "pipeline_params",
            "python_named_params",
            "python_params",
            "spark_submit_params",
            "sql_params",
        }
    ),
    "spark_jar_task": frozenset({"jar_uri", "main_class_name", "parameters", "run_as_repl"}),
    "spark_python_task": frozenset({"parameters", "python_file", "source"}),
    "spark_submit_task": frozenset({"parameters"}),
    "sql_task": frozenset({"alert", "dashboard", "file", "parameters", "query", "warehouse_id"}),
}
