"""The validator's field lists are generated from databricks-sdk's Jobs API dataclasses and stay complete."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

from databricks.sdk.service import jobs

from jupyter_taskvalues.jobs.spec import fields, generate_fields
from jupyter_taskvalues.jobs.spec.loader import load_job


def names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]


def test_generated_lists_hold_every_field_the_installed_sdk_knows() -> None:
    missing = {
        "JobSettings": names(jobs.JobSettings) - fields.JOB_SETTINGS_FIELDS,
        "Job": names(jobs.Job) - fields.JOB_FIELDS,
        "Task": names(jobs.Task) - fields.TASK_FIELDS,
    }
    assert missing == {"JobSettings": set(), "Job": set(), "Task": set()}, (
        "databricks-sdk gained fields: run python -m jupyter_taskvalues.jobs.spec.generate_fields"
    )
    assert {n for n in names(jobs.Task) if n.endswith("_task")} <= fields.TASK_TYPES


def test_generator_output_defines_the_same_lists_as_the_committed_file(tmp_path: Path) -> None:
    (tmp_path / "fresh_fields.py").write_text(generate_fields.generate())
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        fresh = importlib.import_module("fresh_fields")
    finally:
        sys.path.remove(str(tmp_path))
    assert fresh.JOB_SETTINGS_FIELDS == fields.JOB_SETTINGS_FIELDS
    assert fresh.TASK_FIELDS == fields.TASK_FIELDS
    assert fresh.TASK_TYPE_FIELDS == fields.TASK_TYPE_FIELDS


def test_current_fields_are_known() -> None:
    for name in ("environment_variables", "trigger", "parent_path", "environments", "usage_policy_id"):
        assert name in fields.JOB_SETTINGS_FIELDS, name
    for kind in ("python_operator_task", "dbt_platform_task", "power_bi_task", "gen_ai_compute_task"):
        assert kind in fields.TASK_TYPES, kind


def test_a_job_using_current_settings_loads_without_problems(tmp_path: Path) -> None:
    (tmp_path / "nb.py").write_text("# Databricks notebook source\nprint(1)\n")
    (tmp_path / "job.yml").write_text(
        "name: current\nparent_path: /Workspace/jobs\nenvironment_variables: {A: b}\n"
        "tasks:\n  - task_key: a\n    notebook_task: {notebook_path: nb.py}\n"
    )
    assert load_job(tmp_path / "job.yml").task_keys == ("a",)
