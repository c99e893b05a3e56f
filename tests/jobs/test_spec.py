"""Loading and validating job definitions: Jobs API JSON/YAML, exports, Asset Bundles (SPEC §4)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_taskvalues.exceptions import JobSpecError
from jupyter_taskvalues.jobs.model import ConditionTask, JobSpec, NotebookTask, Task
from jupyter_taskvalues.jobs.spec import sources
from jupyter_taskvalues.jobs.spec.loader import (
    find_notebook,
    job_problems,
    list_jobs,
    load_job,
    merge_parameters,
    parse_param_overrides,
    validate_job,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "jobs"


def notebook(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(), path)
    return path


def nb_task(key: str, *deps: str, **fields: Any) -> dict[str, Any]:
    task: dict[str, Any] = {"task_key": key, "notebook_task": {"notebook_path": "nb.ipynb"}}
    if deps:
        task["depends_on"] = [{"task_key": d} for d in deps]
    task.update(fields)
    return task


def write_job(tmp_path: Path, tasks: list[Any], **settings: Any) -> Path:
    notebook(tmp_path / "nb.ipynb")
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"name": "job", "tasks": tasks, **settings}))
    return path


def problems_of(path: Path, **kwargs: Any) -> list[str]:
    with pytest.raises(JobSpecError) as info:
        load_job(path, **kwargs)
    error = info.value
    for problem in error.problems:
        assert problem in str(error)
    return list(error.problems)


def one_problem(tmp_path: Path, tasks: list[Any], **settings: Any) -> str:
    problems = problems_of(write_job(tmp_path, tasks, **settings))
    assert len(problems) == 1, problems
    return problems[0]


# ------------------------------------------------------------------------------------------------- formats


def test_bare_jobs_api_json_loads_every_field() -> None:
    spec = load_job(FIXTURES / "bare.json")
    assert spec.name == "nightly-etl"
    assert spec.task_keys == ("ingest", "train", "report")
    assert spec.job_id is None
    assert spec.timeout_seconds == 3600
    assert spec.parameter_defaults() == {"env": "dev", "run_date": "{{job.start_time.iso_date}}"}
    assert spec.source == str(FIXTURES / "bare.json")
    ingest, train, report = spec.tasks
    assert ingest.notebook is not None
    assert ingest.notebook.path == FIXTURES / "notebooks" / "ingest.ipynb"
    assert ingest.notebook.source_path == "notebooks/ingest"
    assert ingest.notebook.base_parameters == {"env": "{{job.parameters.env}}"}
    assert (ingest.max_retries, ingest.min_retry_interval_millis, ingest.retry_on_timeout) == (2, 1000, True)
    assert ingest.timeout_seconds == 600
    assert train.depends_on[0].task_key == "ingest"
    assert train.notebook is not None
    assert train.notebook.base_parameters["threshold"] == "0.5"
    assert report.run_if == "ALL_DONE"
    assert report.notebook is not None
    assert report.notebook.path == FIXTURES / "notebooks" / "report.py"


def test_export_wrapping_settings_keeps_the_job_id_and_control_flow_tasks() -> None:
    spec = load_job(FIXTURES / "export.json")
    assert (spec.name, spec.job_id) == ("branching", "684120331237841")
    assert [t.kind for t in spec.tasks] == ["notebook", "condition", "notebook", "for_each"]
    condition = spec.task("enough_rows").condition
    assert condition == ConditionTask(
        op="GREATER_THAN", left="{{tasks.ingest.values.row_count}}", right="100"
    )
    assert spec.task("train").depends_on[0].outcome == "true"
    for_each = spec.task("per_region").for_each
    assert for_each is not None
    assert (for_each.inputs, for_each.concurrency) == ("{{tasks.ingest.values.regions}}", 4)
    assert for_each.task.task_key == "per_region_iteration"
    assert for_each.task.notebook is not None
    assert for_each.task.notebook.base_parameters == {"region": "{{input.name}}", "job": "{{job.id}}"}


def test_yaml_job_has_the_same_shape() -> None:
    spec = load_job(FIXTURES / "job.yml")
    assert spec.name == "yaml-job"
    ingest, train, loop = spec.tasks
    assert ingest.notebook is not None
    assert ingest.notebook.base_parameters == {
        "env": "{{job.parameters.env}}",
        "retries": "3",
        "strict": "true",
    }
    assert train.max_retries == -1
    assert train.notebook is not None
    assert train.notebook.path == FIXTURES / "notebooks" / "train.ipynb"
    assert loop.for_each is not None
    assert loop.for_each.inputs == "[1,2,3]"  # a YAML list becomes the JSON array Databricks expects
    assert loop.for_each.concurrency == 1


def test_same_job_as_json_and_yaml_gives_the_same_spec(tmp_path: Path) -> None:
    notebook(tmp_path / "nb.ipynb")
    settings = {"name": "twin", "tasks": [nb_task("a"), nb_task("b", "a", max_retries=1)]}
    (tmp_path / "job.json").write_text(json.dumps(settings))
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(settings))
    as_json, as_yaml = load_job(tmp_path / "job.json"), load_job(tmp_path / "job.yaml")
    assert as_json.tasks == as_yaml.tasks
    assert as_json.name == as_yaml.name


def test_yaml_with_python_tags_is_refused_without_running_anything(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "job.yml"
    path.write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\ntasks: []\n")
    (problem,) = problems_of(path)
    assert "YAML tag" in problem
    assert "line 1" in problem
    assert not marker.exists()
    (fixture_problem,) = problems_of(FIXTURES / "unsafe.yml")
    assert "remove the tag" in fixture_problem


def test_bundle_with_two_jobs_needs_a_job_name() -> None:
    with pytest.raises(JobSpecError) as info:
        load_job(FIXTURES / "bundle" / "databricks.yml")
    message = str(info.value)
    assert "2 jobs" in message
    assert "'etl_job'" in message
    assert "'score_job'" in message
    assert "--job" in message
    assert list_jobs(FIXTURES / "bundle") == ["etl_job", "score_job"]


def test_bundle_job_picked_by_key_or_name_from_included_files() -> None:
    by_key = load_job(FIXTURES / "bundle" / "databricks.yml", job="score_job")
    by_name = load_job(FIXTURES / "bundle", job="score")
    assert by_key == by_name
    assert by_key.name.startswith("[dev ") and by_key.name.endswith("] score")  # the dev target's prefix
    assert by_key.parameter_defaults() == {"model": "best"}
    assert by_key.source == str(FIXTURES / "bundle" / "databricks.yml")
    (task,) = by_key.tasks
    assert task.notebook is not None
    # relative to resources/ml.job.yml, the file that names it, not to databricks.yml
    assert task.notebook.path == FIXTURES / "bundle" / "src" / "score.ipynb"


def test_bundle_unknown_job_lists_the_jobs() -> None:
    with pytest.raises(JobSpecError) as info:
        load_job(FIXTURES / "bundle", job="etl")
    assert "no job 'etl'" in str(info.value)
    assert "'etl_job' (name '[dev " in str(info.value)
    assert "did you mean 'etl_job'?" in str(info.value)


def test_bundle_default_target_and_variables_are_substituted() -> None:
    spec = load_job(FIXTURES / "bundle", job="etl_job", user="dev.user@example.com")
    assert spec.name == "[dev dev_user] etl-dev"  # mode: development
    ingest, train = spec.tasks
    assert ingest.max_retries == 1  # ${var.retries} keeps its type
    assert ingest.notebook is not None
    assert ingest.notebook.base_parameters == {"catalog": "dev_catalog"}
    assert ingest.timeout_seconds == 0
    assert train.notebook is not None
    assert train.notebook.path == FIXTURES / "bundle" / "src" / "train.py"  # suffix found


def test_bundle_target_overrides_resources_and_variables() -> None:
    spec = load_job(FIXTURES / "bundle", job="etl_job", target="prod")
    assert spec.name == "etl-prod"
    ingest = spec.task("ingest")
    assert ingest.timeout_seconds == 900
    assert ingest.notebook is not None
    assert ingest.notebook.base_parameters == {"catalog": "prod_catalog"}
    assert spec.task_keys == ("ingest", "train")


def test_bundle_variables_given_by_the_caller_win() -> None:
    spec = load_job(FIXTURES / "bundle", job="etl_job", target="prod", variables={"catalog": "mine"})
    assert spec.task("ingest").notebook.base_parameters == {"catalog": "mine"}  # type: ignore[union-attr]


def test_bundle_unknown_target_lists_the_targets() -> None:
    with pytest.raises(JobSpecError, match=r"target 'staging' is not defined \(targets: dev, prod\)"):
        load_job(FIXTURES / "bundle", job="etl_job", target="staging")


def test_bundle_undeclared_variable_is_a_problem(tmp_path: Path) -> None:
    notebook(tmp_path / "nb.ipynb")
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: b}\nvariables:\n  nodefault: {description: x}\n"
        "resources:\n  jobs:\n    j:\n      tasks:\n        - task_key: a\n          notebook_task:\n"
        "            notebook_path: nb.ipynb\n            base_parameters:\n"
        "              x: ${var.missing}\n              y: ${var.nodefault}\n"
    )
    problems = problems_of(tmp_path)
    assert any("'missing' is not declared (variables: nodefault)" in p for p in problems)
    assert any("'nodefault' has no default" in p for p in problems)


def test_bundle_job_defined_in_two_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text("bundle: {name: b}\ninclude: [a.yml, b.yml]\n")
    for name in ("a.yml", "b.yml"):
        (tmp_path / name).write_text("resources:\n  jobs:\n    j: {tasks: []}\n")
    with pytest.raises(JobSpecError, match="job 'j' is defined twice"):
        load_job(tmp_path)


def test_bundle_missing_include_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text("bundle: {name: b}\ninclude: [resources/jobs.yml]\n")
    with pytest.raises(JobSpecError, match=r"include: 'resources/jobs.yml' does not exist"):
        load_job(tmp_path)


def test_bundle_recursive_include_glob(tmp_path: Path) -> None:
    notebook(tmp_path / "deep" / "er" / "nb.ipynb")
    (tmp_path / "databricks.yml").write_text("bundle: {name: b}\ninclude: ['**/*.job.yml']\n")
    (tmp_path / "deep" / "er" / "x.job.yml").write_text(
        "resources:\n  jobs:\n    j:\n      tasks:\n"
        "        - {task_key: a, notebook_task: {notebook_path: nb}}\n"
    )
    spec = load_job(tmp_path)
    assert spec.name == "j"  # the resource key names a job without a name
    assert spec.tasks[0].notebook.path == tmp_path / "deep" / "er" / "nb.ipynb"  # type: ignore[union-attr]


def test_job_name_that_does_not_match_a_single_job_file_is_an_error() -> None:
    assert load_job(FIXTURES / "bare.json", job="nightly-etl").name == "nightly-etl"
    with pytest.raises(JobSpecError, match="no job 'other'"):
        load_job(FIXTURES / "bare.json", job="other")


def test_target_on_a_plain_job_file_is_an_error() -> None:
    with pytest.raises(JobSpecError, match="Asset Bundles only"):
        load_job(FIXTURES / "bare.json", target="dev")


def test_allow_missing_references_opt_in(tmp_path: Path) -> None:
    path = write_job(tmp_path, [nb_task("a")], jupyter_taskvalues={"allow_missing_references": True})
    assert load_job(path).allow_missing_references
    path = write_job(tmp_path, [nb_task("a")], tags={"jupyter_taskvalues_allow_missing_references": "true"})
    assert load_job(path).allow_missing_references
    assert not load_job(FIXTURES / "bare.json").allow_missing_references


# ---------------------------------------------------------------------------------------------- notebooks


def test_find_notebook_tries_suffixes_in_order(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("# Databricks notebook source\n")
    assert find_notebook("a", tmp_path) == tmp_path / "a.py"
    notebook(tmp_path / "a.ipynb")
    assert find_notebook("a", tmp_path) == tmp_path / "a.ipynb"
    (tmp_path / "01.etl.md").write_text("# title\n")
    assert find_notebook("01.etl", tmp_path) == tmp_path / "01.etl.md"
    assert find_notebook("./sub/../a.py", tmp_path) == tmp_path / "a.py"
    assert find_notebook(str(tmp_path / "a"), Path("/elsewhere")) == tmp_path / "a.ipynb"
    assert find_notebook("missing", tmp_path) == tmp_path / "missing"


def test_missing_notebook_names_the_paths_tried(tmp_path: Path) -> None:
    problem = one_problem(tmp_path, [{"task_key": "a", "notebook_task": {"notebook_path": "nope/etl"}}])
    assert problem.startswith("tasks[0] (task_key 'a').notebook_task: notebook 'nope/etl' not found")
    assert ".ipynb, .py, .md" in problem


def test_workspace_notebook_path_explains_what_to_do(tmp_path: Path) -> None:
    problem = one_problem(
        tmp_path, [{"task_key": "a", "notebook_task": {"notebook_path": "/Workspace/Users/me@x.com/etl"}}]
    )
    assert "Databricks workspace path" in problem
    assert "relative to the file" in problem


# --------------------------------------------------------------------------------------------- validation


def test_unknown_dependency_names_location_and_suggests(tmp_path: Path) -> None:
    problem = one_problem(tmp_path, [nb_task("ingest"), nb_task("clean"), nb_task("train", "ingets")])
    assert (
        problem == "tasks[2] (task_key 'train').depends_on[0]: unknown task 'ingets'; did you mean 'ingest'?"
    )


def test_cycles_are_named(tmp_path: Path) -> None:
    tasks = [nb_task("a", "b"), nb_task("b", "a"), nb_task("c", "e"), nb_task("d", "c"), nb_task("e", "d")]
    problems = problems_of(write_job(tmp_path, tasks))
    assert "tasks: dependency cycle a -> b -> a; remove one of these dependencies." in problems
    assert any("dependency cycle c -> e -> d -> c" in p for p in problems)
    assert len(problems) == 2


def test_self_dependency_is_a_problem(tmp_path: Path) -> None:
    problems = problems_of(write_job(tmp_path, [nb_task("a", "a")]))
    assert any("depends on itself" in p for p in problems)


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ({"notebook_task": {"notebook_path": "nb.ipynb"}}, "tasks[0]: task_key is missing"),
        (nb_task("has space"), "task_key 'has space' is invalid"),
        (nb_task("é"), "task_key 'é' is invalid"),
        (nb_task("x" * 101), "is invalid: use at most 100"),
        (nb_task(["a"]), "task_key must be a string, not list"),
        ("just a string", "a task must be a mapping with a task_key"),
    ],
)
def test_bad_task_keys_are_reported(tmp_path: Path, task: Any, expected: str) -> None:
    problem = one_problem(tmp_path, [task])
    assert expected in problem


def test_numeric_task_key_is_read_as_text(tmp_path: Path) -> None:
    notebook(tmp_path / "nb.ipynb")
    (tmp_path / "job.yml").write_text("tasks:\n  - task_key: 2024\n    notebook_task: {notebook_path: nb}\n")
    spec = load_job(tmp_path / "job.yml")
    assert spec.task_keys == ("2024",)
    assert spec.name == "job"  # the file name, when the job has none


def test_duplicate_task_keys_including_nested_ones(tmp_path: Path) -> None:
    loop = {"task_key": "loop", "for_each_task": {"inputs": "[1]", "task": nb_task("a")}}
    problems = problems_of(write_job(tmp_path, [nb_task("a"), nb_task("a"), loop]))
    assert (
        "tasks[1] (task_key 'a'): task_key 'a' is also used by tasks[0]; task keys must be unique."
        in problems
    )
    assert any(p.startswith("tasks[2] (task_key 'loop').for_each_task.task (task_key 'a')") for p in problems)


def test_outcome_only_on_a_condition_dependency(tmp_path: Path) -> None:
    cond = {"task_key": "check", "condition_task": {"op": "EQUAL_TO", "left": "a", "right": "a"}}
    a = nb_task("a")
    b = nb_task("b", depends_on=[{"task_key": "a", "outcome": "true"}])
    c = nb_task("c", depends_on=[{"task_key": "check", "outcome": "maybe"}])
    d = nb_task("d", depends_on=[{"task_key": "check", "outcome": False}])
    problems = problems_of(write_job(tmp_path, [cond, a, b, c, d]))
    assert problems == [
        "tasks[2] (task_key 'b').depends_on[0]: outcome is set, but 'a' is a notebook task; outcome picks a "
        "branch of a condition task only. Remove it.",
        "tasks[3] (task_key 'c').depends_on[0]: outcome must be \"true\" or \"false\", not 'maybe'.",
    ]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"run_if": "ALL_SUCCES"}, "run_if 'ALL_SUCCES' is not one of ALL_SUCCESS, "),
        ({"run_if": "ALL_SUCCES"}, "did you mean 'ALL_SUCCESS'?"),
        ({"run_if": 3}, "run_if must be one of"),
        ({"max_retries": -2}, "max_retries is -2; use -1 (retry forever), 0 or more."),
        ({"max_retries": "many"}, "max_retries must be a whole number, not 'many'."),
        ({"max_retries": True}, "max_retries must be a whole number"),
        ({"timeout_seconds": -1}, "timeout_seconds is -1; it cannot be negative"),
        ({"min_retry_interval_millis": -5}, "min_retry_interval_millis is -5"),
        ({"retry_on_timeout": "sometimes"}, "retry_on_timeout must be true or false"),
        ({"depends_on": "a"}, "depends_on must be a list"),
        ({"depends_on": [{"name": "a"}]}, "a dependency is a mapping with a task_key"),
        ({"spark_python_task": {"python_file": "x.py"}}, "a task has exactly one type"),
    ],
)
def test_task_field_problems(tmp_path: Path, fields: dict[str, Any], expected: str) -> None:
    problems = problems_of(write_job(tmp_path, [nb_task("a", **fields)]))
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("tasks[0] (task_key 'a')") for p in problems)


def test_numbers_given_as_text_are_accepted(tmp_path: Path) -> None:
    spec = load_job(write_job(tmp_path, [nb_task("a", max_retries="3", timeout_seconds=60.0)]))
    assert (spec.tasks[0].max_retries, spec.tasks[0].timeout_seconds) == (3, 60)


@pytest.mark.parametrize(
    "task_type", ["sql_task", "pipeline_task", "dbt_task", "dashboard_task", "new_kind_task"]
)
def test_workspace_task_types_load_as_workspace_tasks(tmp_path: Path, task_type: str) -> None:
    spec = load_job(write_job(tmp_path, [{"task_key": "other", task_type: {}}]))
    assert (spec.tasks[0].kind, spec.tasks[0].type_name) == ("workspace", task_type)


def test_task_with_no_type_or_two_types(tmp_path: Path) -> None:
    both = nb_task("b", condition_task={"op": "EQUAL_TO", "left": "1", "right": "1"})
    problems = problems_of(write_job(tmp_path, [{"task_key": "a"}, both]))
    assert problems == [
        "tasks[0] (task_key 'a'): it has no task type; give it a notebook_task, condition_task or "
        "for_each_task.",
        "tasks[1] (task_key 'b'): it has notebook_task and condition_task; a task has exactly one type.",
    ]


def test_notebook_task_fields(tmp_path: Path) -> None:
    task = {
        "task_key": "a",
        "notebook_task": {
            "notebook_pth": "x",
            "base_parameters": {"ok": 1, "bad": [1, 2], "worse": {"k": 1}},
        },
    }
    with pytest.raises(JobSpecError) as info:
        load_job(write_job(tmp_path, [task]))
    problems = info.value.problems
    assert any("notebook_path is missing" in p for p in problems)
    # the ignored field is not a problem, but the refusal shows it: it is why notebook_path is missing
    assert not any("notebook_pth" in p for p in problems)
    (warning,) = info.value.warnings
    assert warning.endswith("unknown field 'notebook_pth' is ignored; did you mean 'notebook_path'?")
    assert str(info.value).endswith(f"A warning:\n  - {warning}")
    assert any("base_parameters.bad is a list; it must be a string" in p and '"[1,2]"' in p for p in problems)
    assert any("base_parameters.worse is a dict" in p for p in problems)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"op": "EQUALS", "left": "a", "right": "b"}, "op 'EQUALS' is not one of EQUAL_TO"),
        ({"op": "EQUALS", "left": "a", "right": "b"}, "did you mean 'EQUAL_TO'?"),
        ({"left": "a", "right": "b"}, "op must be one of"),
        ({"op": "GREATER_THAN", "left": "ten", "right": "3"}, "left 'ten' is not a number"),
        ({"op": "EQUAL_TO", "left": "a"}, "right is missing"),
    ],
)
def test_condition_task_problems(tmp_path: Path, condition: dict[str, Any], expected: str) -> None:
    problems = problems_of(write_job(tmp_path, [{"task_key": "c", "condition_task": condition}]))
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("tasks[0] (task_key 'c').condition_task") for p in problems)


def test_numeric_condition_with_references_and_numbers_is_valid(tmp_path: Path) -> None:
    tasks = [
        nb_task("a"),
        {
            "task_key": "c",
            "depends_on": [{"task_key": "a"}],
            "condition_task": {"op": "LESS_THAN", "left": "{{tasks.a.values.n}}", "right": 2.5},
        },
    ]
    spec = load_job(write_job(tmp_path, tasks))
    assert spec.task("c").condition == ConditionTask("LESS_THAN", "{{tasks.a.values.n}}", "2.5")


def for_each(inputs: Any = "[1, 2]", concurrency: Any = 1, task: Any = None) -> dict[str, Any]:
    return {
        "task_key": "loop",
        "for_each_task": {"inputs": inputs, "concurrency": concurrency, "task": task or nb_task("body")},
    }


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        (for_each(concurrency=0), "concurrency is 0; use 1 to 100."),
        (for_each(concurrency=101), "concurrency is 101; use 1 to 100."),
        (for_each(inputs='{"a": 1}'), "is not a JSON array"),
        (for_each(inputs="[1, 2"), "is not a JSON array"),
        (for_each(inputs=None), "inputs is missing or not a string"),
        (for_each(task=for_each()), "a for-each task cannot run another for-each task"),
        (for_each(task=nb_task("body", "x")), "the task a for-each task runs cannot have depends_on"),
        ({"task_key": "loop", "for_each_task": {"inputs": "[1]"}}, "task is missing"),
    ],
)
def test_for_each_problems(tmp_path: Path, task: dict[str, Any], expected: str) -> None:
    problems = problems_of(write_job(tmp_path, [nb_task("x"), task]))
    assert any(expected in p for p in problems), problems


def test_unknown_fields_are_warnings_naming_the_closest_field_and_the_job_loads(tmp_path: Path) -> None:
    near_miss = nb_task("b", depend_on=[{"task_key": "a"}], some_future_setting=1)
    path = write_job(tmp_path, [nb_task("a"), near_miss], taks=[], schedule={"quartz_cron_expression": "x"})
    spec = load_job(path)
    assert spec.task_keys == ("a", "b")
    assert spec.task("b").depends_on == ()  # ignored, as the warning says
    assert spec.warnings == (
        f"{path}: line 1: unknown field 'taks' is ignored; did you mean 'tasks'?",
        f"{path}: line 1: tasks[1] (task_key 'b'): unknown field 'depend_on' is ignored; did you mean "
        "'depends_on'?",
        f"{path}: line 1: tasks[1] (task_key 'b'): unknown field 'some_future_setting' is ignored",
    )


def test_warnings_name_the_yaml_line_of_each_unknown_field_at_every_level(tmp_path: Path) -> None:
    notebook(tmp_path / "nb.ipynb")
    path = tmp_path / "job.yml"
    path.write_text(
        "name: j\n"  # 1
        "parameters:\n"
        "  - {name: env, default: dev, defualt: x}\n"  # 3
        "tasks:\n"
        "  - task_key: a\n"
        "    notebook_task: {notebook_path: nb.ipynb, base_parameter: {}}\n"  # 6
        "  - task_key: c\n"
        "    depends_on:\n"
        "      - {task_key: a, outcomes: 'true'}\n"  # 9
        "    condition_task: {op: EQUAL_TO, left: '1', right: '1', rigth: '2'}\n"  # 10
        "  - task_key: loop\n"
        "    for_each_task:\n"
        "      inputs: '[1]'\n"
        "      task:\n"
        "        task_key: body\n"
        "        notebook_task: {notebook_path: nb.ipynb}\n"
        "        retries: 2\n"  # 17
        "jupyter_taskvalues: {allow_missing: true}\n"  # 18
    )
    spec = load_job(path)
    assert [w.removeprefix(f"{path}: ") for w in spec.warnings] == [
        "line 3: parameters[0] (name 'env'): unknown field 'defualt' is ignored; did you mean 'default'?",
        "line 18: jupyter_taskvalues: unknown field 'allow_missing' is ignored",
        "line 6: tasks[0] (task_key 'a').notebook_task: unknown field 'base_parameter' is ignored; did you "
        "mean 'base_parameters'?",
        "line 9: tasks[1] (task_key 'c').depends_on[0]: unknown field 'outcomes' is ignored; did you mean "
        "'outcome'?",
        "line 10: tasks[1] (task_key 'c').condition_task: unknown field 'rigth' is ignored; did you mean "
        "'right'?",
        "line 17: tasks[2] (task_key 'loop').for_each_task.task (task_key 'body'): unknown field 'retries' is "
        "ignored; did you mean 'max_retries'?",
    ]


def test_a_job_with_only_warnings_runs(tmp_path: Path, runs_dir: Path) -> None:
    from jupyter_taskvalues import run_job
    from jupyter_taskvalues.store import open_store

    path = write_job(tmp_path, [nb_task("a"), nb_task("b", depend_on=[{"task_key": "a"}])])
    document = run_job(path, runs_dir=runs_dir)
    assert document["state"] == "SUCCESS"
    (warning,) = document["warnings"]
    assert "unknown field 'depend_on' is ignored; did you mean 'depends_on'?" in warning
    assert open_store(runs_dir).read_run(document["run_id"])["warnings"] == [warning]


def test_field_name_that_is_not_a_string_is_still_refused(tmp_path: Path) -> None:
    notebook(tmp_path / "nb.ipynb")
    path = tmp_path / "job.yml"
    path.write_text(
        "name: j\ntasks:\n  - task_key: a\n    notebook_task: {notebook_path: nb.ipynb}\n    7: x\n"
    )
    assert problems_of(path) == ["tasks[0] (task_key 'a'): field 7 is not a string; field names are strings."]


def test_job_parameters_problems(tmp_path: Path) -> None:
    parameters = [
        {"name": "env", "default": "dev"},
        {"name": "env", "default": "prod"},
        {"name": "nodefault"},
        {"default": "x"},
        {"name": "listy", "default": ["a"]},
        {"name": "today", "default": "{{job.start_time.iso_date}}"},
        {"name": "reads", "default": "{{tasks.a.values.x}}"},
    ]
    problems = problems_of(write_job(tmp_path, [nb_task("a")], parameters=parameters))
    assert "parameters: job parameter 'env' is defined 2 times; define it once." in problems
    assert any(p.startswith("parameters[2] (name 'nodefault'): default is missing") for p in problems)
    assert any(p.startswith("parameters[3]: a job parameter is a mapping with a name") for p in problems)
    assert any("parameters[4] (name 'listy'): default is a list" in p for p in problems)
    assert any(
        p.startswith("parameters[6] (name 'reads').default: {{tasks.a.values.x}} reads a task")
        for p in problems
    )
    assert len(problems) == 5


def test_no_tasks_is_a_problem(tmp_path: Path) -> None:
    assert problems_of(write_job(tmp_path, [])) == [
        "tasks: the job has no tasks; give a list of tasks, each with a task_key."
    ]


# ---------------------------------------------------------------------------------------------- references


def test_unknown_references_in_every_field_are_reported_with_location(tmp_path: Path) -> None:
    tasks = [
        nb_task("a", notebook_task={"notebook_path": "nb.ipynb", "base_parameters": {"p": "x{{job.naem}}"}}),
        {
            "task_key": "c",
            "depends_on": [{"task_key": "a"}],
            "condition_task": {
                "op": "EQUAL_TO",
                "left": "{{tasks.a.foo}}",
                "right": "{{job.parameters.undefined}}",
            },
        },
        {"task_key": "loop", "for_each_task": {"inputs": "{{input}}", "task": nb_task("body")}},
    ]
    problems = problems_of(
        write_job(tmp_path, tasks, parameters=[{"name": "p", "default": "{{job.start_time.bogus}}"}])
    )
    assert problems[0].startswith(
        "parameters[0] (name 'p').default: {{job.start_time.bogus}}: 'bogus' is not"
    )
    assert (
        "tasks[0] (task_key 'a').notebook_task.base_parameters.p: {{job.naem}} is not a known reference; "
        "did you mean {{job.name}}?" in problems
    )
    assert any(p.startswith("tasks[1] (task_key 'c').condition_task.left: {{tasks.a.foo}}") for p in problems)
    assert any(
        p.startswith(
            "tasks[1] (task_key 'c').condition_task.right: {{job.parameters.undefined}} names job parameter"
        )
        for p in problems
    )
    assert any(
        p.startswith("tasks[2] (task_key 'loop').for_each_task.inputs: {{input}} is only") for p in problems
    )
    assert len(problems) == 5


def test_reading_a_task_that_is_not_upstream_is_a_problem(tmp_path: Path) -> None:
    reader = nb_task(
        "b",
        "a",
        notebook_task={
            "notebook_path": "nb.ipynb",
            "base_parameters": {"ok": "{{tasks.root.values.x}}", "bad": "{{tasks.c.values.x}}"},
        },
    )
    problems = problems_of(write_job(tmp_path, [nb_task("root"), nb_task("a", "root"), reader, nb_task("c")]))
    assert problems == [
        "tasks[2] (task_key 'b').notebook_task.base_parameters.bad: task 'b' reads {{tasks.c.values.x}} but "
        "does not depend on 'c' (directly or indirectly); add it to depends_on."
    ]


def test_unknown_task_in_a_reference(tmp_path: Path) -> None:
    reader = nb_task(
        "b", notebook_task={"notebook_path": "nb.ipynb", "base_parameters": {"x": "{{tasks.ingets.run_id}}"}}
    )
    problem = one_problem(tmp_path, [nb_task("ingest"), reader])
    assert "names task 'ingets', which is not a task of this job" in problem
    assert "did you mean {{tasks.ingest.run_id}}?" in problem


def test_input_is_valid_only_in_the_nested_task(tmp_path: Path) -> None:
    body = nb_task(
        "body",
        notebook_task={
            "notebook_path": "nb.ipynb",
            "base_parameters": {"x": "{{input.name}}", "y": "{{tasks.a.values.v}}", "z": "{{task.name}}"},
        },
    )
    loop = {
        "task_key": "loop",
        "depends_on": [{"task_key": "a"}],
        "for_each_task": {"inputs": "[]", "task": body},
    }
    outside = nb_task(
        "out", notebook_task={"notebook_path": "nb.ipynb", "base_parameters": {"x": "{{input}}"}}
    )
    problem = one_problem(tmp_path, [nb_task("a"), loop, outside])
    assert problem.startswith(
        "tasks[2] (task_key 'out').notebook_task.base_parameters.x: {{input}} is only defined"
    )


def test_several_problems_are_reported_at_once_in_task_order(tmp_path: Path) -> None:
    tasks = [
        nb_task("ingest", run_if="SOMETIMES"),
        nb_task("bad key"),
        nb_task("train", "ingets", notebook_task={"notebook_path": "gone.ipynb"}),
        nb_task("retry", max_retries=-5),
    ]
    path = write_job(tmp_path, tasks, timeout_seconds=-3)
    with pytest.raises(JobSpecError) as info:
        load_job(path)
    error = info.value
    assert len(error.problems) == 6
    assert [p.split(":")[0].split(" ")[0] for p in error.problems] == [
        "timeout_seconds",
        "tasks[0]",
        "tasks[1]",
        "tasks[2]",
        "tasks[2]",
        "tasks[3]",
    ]
    message = str(error)
    assert message.startswith(
        f"Job file '{path}' (job 'job') is invalid; fix these 6 problems before it can run:"
    )
    assert error.path == str(path)
    clone = pickle.loads(pickle.dumps(error))
    assert clone.problems == error.problems
    assert str(clone) == message


def test_problem_in_a_bundle_names_the_file_defining_the_job(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text("bundle: {name: b}\ninclude: [jobs/*.yml]\n")
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "j.yml").write_text(
        "resources:\n  jobs:\n    j:\n      tasks:\n        - {task_key: a}\n"
    )
    with pytest.raises(JobSpecError) as info:
        load_job(tmp_path)
    assert f"defined in '{tmp_path / 'jobs' / 'j.yml'}'" in str(info.value)
    assert info.value.path == str(tmp_path / "databricks.yml")


def test_validate_job_checks_a_spec_built_in_python(tmp_path: Path) -> None:
    path = notebook(tmp_path / "nb.ipynb")
    good = JobSpec("py", (Task("a", notebook=NotebookTask(path)),))
    validate_job(good)
    assert job_problems(good) == []
    bad = JobSpec(
        "py",
        (
            Task("a", notebook=NotebookTask(tmp_path / "missing.ipynb", source_path="missing.ipynb")),
            Task("a", condition=ConditionTask("EQUAL_TO", "{{job.naem}}", "x")),  # type: ignore[arg-type]
        ),
    )
    with pytest.raises(JobSpecError) as info:
        validate_job(bad)
    problems = info.value.problems
    assert any("notebook 'missing.ipynb' not found" in p for p in problems)
    assert any("task_key 'a' is also used by tasks[0]" in p for p in problems)
    assert any("{{job.naem}}" in p for p in problems)


def test_every_fixture_job_is_valid() -> None:
    for path, job in [
        (FIXTURES / "bare.json", None),
        (FIXTURES / "export.json", None),
        (FIXTURES / "job.yml", None),
        (FIXTURES / "bundle", "etl_job"),
        (FIXTURES / "bundle", "score_job"),
    ]:
        assert job_problems(load_job(path, job=job)) == []


# ------------------------------------------------------------------------------------------- broken files


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "job.json",
            "{not json",
            "not valid JSON: Expecting property name enclosed in double quotes at line 1",
        ),
        ("job.yml", "name: [unclosed\n", "not valid YAML"),
        ("job.yml", "", "it is empty, not a job definition"),
        ("job.yml", "- a\n- b\n", "it is a list, not a job definition"),
        ("job.txt", "just some words", "it is a str, not a job definition"),
        ("job.py", "import os\nprint(os.getcwd())\n", "not a job definition"),
        ("job.json", '"text"', "it is a str, not a job definition"),
    ],
)
def test_files_that_are_not_job_definitions(tmp_path: Path, name: str, content: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    (problem,) = problems_of(path)
    assert expected in problem


def test_binary_file_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "job.json"
    path.write_bytes(b"\xff\xfe\x00garbage\x80")
    (problem,) = problems_of(path)
    assert "not UTF-8" in problem


def test_missing_file_and_directory_without_bundle(tmp_path: Path) -> None:
    with pytest.raises(JobSpecError, match="no such file"):
        load_job(tmp_path / "nope.json")
    with pytest.raises(JobSpecError, match="directory without a bundle file"):
        load_job(tmp_path)
    with pytest.raises(JobSpecError, match="not a usable path"):
        load_job(tmp_path / "a\0b.json")


def test_huge_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "job.json"
    path.write_text('{"name": "' + "x" * (sources.MAX_FILE_BYTES + 10) + '"}')
    (problem,) = problems_of(path)
    assert "the limit for a job file is 8,388,608" in problem


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000),
        ("deep.yml", "[" * 1_500 + "]" * 1_500),
        ("deep2.json", '{"a":' * 200 + "1" + "}" * 200),
        ("deep.txt", "[" * 100_000),
    ],
)
def test_deeply_nested_file_is_refused(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    (problem,) = problems_of(path)
    assert "nested more than 64 levels" in problem or "not valid" in problem


def test_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    lines.append("tasks: *i")
    path = tmp_path / "bomb.yml"
    path.write_text("\n".join(lines) + "\n")
    (problem,) = problems_of(path)
    assert "more than 200,000 values" in problem


# ---------------------------------------------------------------------------------------------- parameters


def test_parse_param_overrides() -> None:
    assert parse_param_overrides(["env=prod", "expr=a=b", "empty=", " spaced =x", "env=last"]) == {
        "env": "last",
        "expr": "a=b",
        "empty": "",
        "spaced": "x",
    }
    assert parse_param_overrides([]) == {}


@pytest.mark.parametrize("item", ["novalue", "=value", "  =x", ""])
def test_parse_param_overrides_names_the_bad_item(item: str) -> None:
    with pytest.raises(JobSpecError) as info:
        parse_param_overrides(["ok=1", item])
    assert repr(item) in str(info.value)
    assert "KEY=VALUE" in str(info.value)


def test_merge_parameters_overrides_defaults() -> None:
    spec = load_job(FIXTURES / "bare.json")
    assert merge_parameters(spec, {"env": "prod"}) == {
        "env": "prod",
        "run_date": "{{job.start_time.iso_date}}",
    }
    assert merge_parameters(spec, {}) == spec.parameter_defaults()


def test_merge_parameters_rejects_unknown_parameters_listing_known_ones() -> None:
    spec = load_job(FIXTURES / "bare.json")
    with pytest.raises(JobSpecError) as info:
        merge_parameters(spec, {"envv": "prod"})
    message = str(info.value)
    assert "has no parameter 'envv'" in message
    assert "(its parameters: 'env', 'run_date')" in message
    assert "did you mean 'env'?" in message


# ---------------------------------------------------------------------------------------------- properties

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
_task_like = st.dictionaries(
    st.sampled_from(
        [
            "task_key",
            "depends_on",
            "run_if",
            "notebook_task",
            "condition_task",
            "for_each_task",
            "max_retries",
            "timeout_seconds",
            "sql_task",
            "depend_on",
        ]
    ),
    _json_values,
    max_size=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300), st.sampled_from(["job.json", "job.yml", "job.cfg"]))
def test_loader_on_arbitrary_text_raises_only_job_spec_errors(tmp_path: Path, text: str, name: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_job(path)
    except JobSpecError as e:
        assert e.problems
        assert str(e)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(_task_like, _json_values), max_size=4), _json_values)
def test_loader_on_arbitrary_job_shapes_raises_only_job_spec_errors(
    tmp_path: Path, tasks: list[Any], parameters: Any
) -> None:
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"name": "fuzz", "tasks": tasks, "parameters": parameters}))
    try:
        spec = load_job(path)
    except JobSpecError as e:
        assert e.problems
        return
    assert job_problems(spec) == []


def test_one_problem_is_worded_in_the_singular(tmp_path: Path) -> None:
    with pytest.raises(JobSpecError) as info:
        load_job(write_job(tmp_path, [nb_task("a", max_retries=-5)]))
    assert "is invalid; fix this problem before it can run:\n  - tasks[0]" in str(info.value)
