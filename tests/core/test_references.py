"""Dynamic value references: finding, checking, rendering and resolving ``{{...}}`` (SPEC §3)."""

from __future__ import annotations

import datetime as dt
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyter_taskvalues.exceptions import (
    ReferenceResolutionError,
    TaskNotFoundError,
    ValueNotFoundError,
)
from jupyter_taskvalues.references import (
    LEGACY_NAMES,
    NO_INPUT,
    TIME_PARTS,
    Reference,
    ResolutionContext,
    check_reference,
    find_references,
    format_reference,
    render,
    resolve,
    resolve_json,
)

# A Saturday, 07:08:09.123 UTC.
SATURDAY = dt.datetime(2024, 3, 9, 7, 8, 9, 123456, tzinfo=dt.timezone.utc)
MONDAY = dt.datetime(2024, 3, 11, 23, 59, 0, tzinfo=dt.timezone.utc)

VALUES: dict[tuple[str, str], Any] = {
    ("ingest", "row_count"): 1204,
    ("ingest", "name"): "orders",
    ("ingest", "regions"): ["eu", "us"],
    ("ingest", "regions_text"): '["eu", "us"]',
    ("ingest", "ok"): True,
    ("ingest", "nothing"): None,
    ("ingest", "config"): {"a": 1, "b": [True, None]},
    ("ingest", "ratio"): 0.25,
    ("ingest", "template"): "{{job.id}}",
    ("my-task", "my key"): "escaped",
}


def task_value(task_key: str, key: str) -> Any:
    if task_key not in {t for t, _ in VALUES}:
        raise TaskNotFoundError(f"no task {task_key}")
    try:
        return VALUES[task_key, key]
    except KeyError:
        raise ValueNotFoundError(f"no value {key}") from None


def task_info(task_key: str, name: str) -> Any:
    if task_key == "pending":
        raise TaskNotFoundError("has not run")
    return {
        "result_state": "SUCCESS",
        "error_code": None,
        "run_id": f"run-1.{task_key}",
        "execution_count": 2,
    }[name]


def make_context(**overrides: Any) -> ResolutionContext:
    fields: dict[str, Any] = {
        "job_id": "42",
        "job_name": "nightly",
        "run_id": "run-1",
        "repair_count": 1,
        "job_parameters": {"env": "prod", "my param": "spaced"},
        "start_time": SATURDAY,
        "trigger_time": MONDAY,
        "task_name": "train",
        "task_run_id": "run-1.train",
        "execution_count": 3,
        "notebook_path": "/jobs/train.ipynb",
        "task_value": task_value,
        "task_info": task_info,
    }
    fields.update(overrides)
    return ResolutionContext(**fields)


# ------------------------------------------------------------------------------------------------ finding


def test_find_references_returns_paths_and_spans() -> None:
    template = "run {{job.run_id}} of {{ job.name }}!"
    refs = find_references(template)
    assert [r.path for r in refs] == [("job", "run_id"), ("job", "name")]
    for ref in refs:
        assert template[ref.start : ref.end] == ref.text
    assert refs[1].text == "{{ job.name }}"


def test_find_references_strips_back_ticks_from_identifiers() -> None:
    (ref,) = find_references("{{tasks.`my-task`.values.`my key`}}")
    assert ref.path == ("tasks", "my-task", "values", "my key")
    assert ref.namespace == "tasks"


def test_find_references_allows_newlines_and_tabs_inside_the_braces() -> None:
    assert [r.path for r in find_references("{{\n\tjob.id\n}}")] == [("job", "id")]


@pytest.mark.parametrize(
    "literal",
    [
        "{{job.id}",
        "{job.id}}",
        "{{ }}",
        "{{}}",
        "{{job..id}}",
        "{{job.id.}}",
        "{{.job.id}}",
        "{{job id}}",
        "{{job-id}}",
        "{{job . id}}",
        "{{tasks.``.values.x}}",
        "{{tasks.`a.values.x}}",
        "{{ job.id + 1 }}",
        "{{secrets/scope/key}}",
        "{ {job.id} }",
    ],
)
def test_malformed_references_are_literal_text(literal: str) -> None:
    assert find_references(literal) == []
    assert resolve(literal, make_context()) == literal


def test_format_reference_back_ticks_only_what_needs_it() -> None:
    assert format_reference(("tasks", "my-task", "values", "rows")) == "{{tasks.`my-task`.values.rows}}"
    assert format_reference(["job", "id"]) == "{{job.id}}"


# ----------------------------------------------------------------------------------------------- checking

TASKS = ("ingest", "train", "my-task")
PARAMS = ("env", "my param")


def check(text: str, *, in_for_each: bool = False) -> str | None:
    (ref,) = find_references(text)
    return check_reference(ref, task_keys=TASKS, parameter_names=PARAMS, in_for_each=in_for_each)


@pytest.mark.parametrize(
    "text",
    [
        "{{job.id}}",
        "{{job.name}}",
        "{{job.run_id}}",
        "{{job.repair_count}}",
        "{{job.parameters.env}}",
        "{{job.parameters.`my param`}}",
        *[f"{{{{job.start_time.{part}}}}}" for part in TIME_PARTS],
        *[f"{{{{job.trigger.time.{part}}}}}" for part in TIME_PARTS],
        "{{job.trigger.type}}",
        "{{job.trigger.file_arrival.location}}",
        "{{task.name}}",
        "{{task.run_id}}",
        "{{task.execution_count}}",
        "{{task.notebook_path}}",
        "{{tasks.ingest.values.row_count}}",
        "{{tasks.`my-task`.values.`my key`}}",
        "{{tasks.ingest.result_state}}",
        "{{tasks.ingest.error_code}}",
        "{{tasks.ingest.run_id}}",
        "{{tasks.ingest.execution_count}}",
        "{{workspace.id}}",
        "{{workspace.url}}",
        *[f"{{{{{name}}}}}" for name in LEGACY_NAMES],
    ],
)
def test_check_reference_accepts_every_known_reference(text: str) -> None:
    assert check(text) is None


def test_check_reference_accepts_input_only_in_a_for_each_task() -> None:
    assert check("{{input}}", in_for_each=True) is None
    assert check("{{input.name}}", in_for_each=True) is None
    message = check("{{input}}")
    assert message is not None
    assert "{{input}}" in message
    assert "for-each" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{job.naem}}", "did you mean {{job.name}}?"),
        ("{{job.runid}}", "did you mean {{job.run_id}}?"),
        ("{{job.parameters.undefined}}", "job parameter 'undefined', which the job does not define"),
        ("{{job.parameters.envv}}", "did you mean {{job.parameters.env}}?"),
        ("{{job.start_time.bogus}}", "'bogus' is not a part of a time"),
        ("{{job.start_time.iso_dat}}", "did you mean {{job.start_time.iso_date}}?"),
        ("{{job.trigger.time.bogus}}", "is not a known reference"),
        ("{{job.trigger.typ}}", "did you mean {{job.trigger.type}}?"),
        ("{{task.nmae}}", "did you mean {{task.name}}?"),
        ("{{tasks.unknown.values.x}}", "names task 'unknown', which is not a task of this job"),
        ("{{tasks.ingets.values.x}}", "did you mean {{tasks.ingest.values.x}}?"),
        ("{{tasks.ingest.foo}}", "a task has values.<key>, result_state"),
        ("{{tasks.ingest.result}}", "did you mean {{tasks.ingest.result_state}}?"),
        ("{{tasks.ingest.values}}", "write {{tasks.ingest.values.<key>}}"),
        ("{{tasks.ingest.values.a.b}}", "is not a task value reference"),
        ("{{tasks.ingest}}", "is incomplete"),
        ("{{tasks.ingest.output.rows}}", "SQL tasks"),
        ("{{tasks.ingest.values.`a/b`}}", "names a key no task can set"),
        ("{{job_id.x}}", "has no fields"),
        ("{{workspace.name}}", "is not a known reference"),
        ("{{job}}", "is not a known reference"),
        ("{{jobs.id}}", "did you mean {{job.id}}?"),
        ("{{taks.ingest.values.x}}", "did you mean {{tasks.ingest.values.x}}?"),
        ("{{job_idd}}", "did you mean {{job_id}}?"),
    ],
)
def test_check_reference_names_the_reference_and_the_fix(text: str, expected: str) -> None:
    message = check(text)
    assert message is not None
    assert expected in message
    assert (
        find_references(text)[0].text in message or format_reference(find_references(text)[0].path) in message
    )


@pytest.mark.parametrize("text", ["{{foo}}", "{{my.value}}", "{{secrets.scope.key}}", "{{ user_name }}"])
def test_check_reference_leaves_unknown_namespaces_to_be_literal(text: str) -> None:
    assert check(text) is None
    assert resolve(text, make_context()) == text


# ---------------------------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain text", "plain text"),
        ("", ""),
        ('say "hi"', 'say "hi"'),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (0, "0"),
        (-12, "-12"),
        (2.5, "2.5"),
        (10**20, "100000000000000000000"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        ([1, "a", None, True], '[1,"a",null,true]'),
        ({"k": [1.5], "é": "ü"}, '{"k":[1.5],"é":"ü"}'),
        ([], "[]"),
        ({}, "{}"),
    ],
)
def test_render_follows_databricks_rules(value: Any, expected: str) -> None:
    assert render(value) == expected


# --------------------------------------------------------------------------------------------- resolution


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{job.id}}", "42"),
        ("{{job.name}}", "nightly"),
        ("{{job.run_id}}", "run-1"),
        ("{{job.repair_count}}", "1"),
        ("{{job.parameters.env}}", "prod"),
        ("{{job.parameters.`my param`}}", "spaced"),
        ("{{job.trigger.type}}", "ONE_TIME"),
        ("{{job.trigger.file_arrival.location}}", ""),
        ("{{task.name}}", "train"),
        ("{{task.run_id}}", "run-1.train"),
        ("{{task.execution_count}}", "3"),
        ("{{task.notebook_path}}", "/jobs/train.ipynb"),
        ("{{tasks.ingest.values.row_count}}", "1204"),
        ("{{tasks.ingest.values.name}}", "orders"),
        ("{{tasks.ingest.values.ok}}", "true"),
        ("{{tasks.ingest.values.nothing}}", "null"),
        ("{{tasks.ingest.values.ratio}}", "0.25"),
        ("{{tasks.ingest.values.regions}}", '["eu","us"]'),
        ("{{tasks.ingest.values.config}}", '{"a":1,"b":[true,null]}'),
        ("{{tasks.`my-task`.values.`my key`}}", "escaped"),
        ("{{tasks.ingest.result_state}}", "success"),
        ("{{tasks.ingest.error_code}}", ""),
        ("{{tasks.ingest.run_id}}", "run-1.ingest"),
        ("{{tasks.ingest.execution_count}}", "2"),
        ("{{workspace.id}}", "0"),
        ("{{job_id}}", "42"),
        ("{{run_id}}", "run-1.train"),
        ("{{parent_run_id}}", "run-1"),
        ("{{task_key}}", "train"),
        ("{{start_date}}", "2024-03-09"),
        ("{{start_time}}", str(int(SATURDAY.timestamp() * 1000))),
        ("{{task_retry_count}}", "2"),
        ("job_{{ job.run_id }}_{{task.name}}", "job_run-1_train"),
        ("no references at all", "no references at all"),
    ],
)
def test_resolve_substitutes_every_reference_kind(template: str, expected: str) -> None:
    assert resolve(template, make_context()) == expected


@pytest.mark.parametrize(
    ("part", "saturday", "monday"),
    [
        ("iso_date", "2024-03-09", "2024-03-11"),
        ("iso_datetime", "2024-03-09T07:08:09.123", "2024-03-11T23:59:00.000"),
        ("iso_weekday", "6", "1"),
        ("is_weekday", "false", "true"),
        ("year", "2024", "2024"),
        ("month", "3", "3"),
        ("day", "9", "11"),
        ("hour", "7", "23"),
        ("minute", "8", "59"),
        ("second", "9", "0"),
        ("timestamp_ms", "1709968089123", "1710201540000"),
    ],
)
def test_time_parts_of_start_and_trigger_time(part: str, saturday: str, monday: str) -> None:
    ctx = make_context()
    assert resolve(f"{{{{job.start_time.{part}}}}}", ctx) == saturday
    assert resolve(f"{{{{job.trigger.time.{part}}}}}", ctx) == monday


def test_time_parts_are_computed_in_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    ctx = make_context(start_time=dt.datetime(2024, 3, 11, 1, 30, tzinfo=paris))  # Sunday 23:30 UTC
    assert resolve("{{job.start_time.iso_date}} {{job.start_time.iso_weekday}}", ctx) == "2024-03-10 7"
    naive = make_context(start_time=dt.datetime(2024, 3, 11, 1, 30))
    assert resolve("{{job.start_time.hour}}", naive) == "1"


def test_trigger_time_defaults_to_start_time() -> None:
    ctx = make_context(trigger_time=None)
    assert resolve("{{job.trigger.time.iso_date}}", ctx) == "2024-03-09"


def test_input_renders_the_current_element() -> None:
    assert resolve("{{input}}", make_context(for_each_input="eu")) == "eu"
    assert resolve("n={{input}}", make_context(for_each_input=3)) == "n=3"
    assert resolve("{{input}}", make_context(for_each_input={"a": [1]})) == '{"a":[1]}'
    element = {"name": "eu", "size": 2, "meta": {"code": "E"}, "tags": ["x", "y"]}
    ctx = make_context(for_each_input=element)
    assert resolve("{{input.name}}/{{input.size}}/{{input.meta.code}}/{{input.tags.1}}", ctx) == "eu/2/E/y"
    assert resolve("{{input.`name`}}", ctx) == "eu"


def test_input_field_missing_names_the_field() -> None:
    ctx = make_context(for_each_input={"name": "eu"})
    with pytest.raises(ReferenceResolutionError, match=r"has no field 'region' \(its fields: 'name'\)"):
        resolve("{{input.region}}", ctx)
    with pytest.raises(ReferenceResolutionError, match="not an object with a field 'x'"):
        resolve("{{input.x}}", make_context(for_each_input="eu"))


def test_input_outside_a_for_each_iteration_is_an_error() -> None:
    assert make_context().for_each_input is NO_INPUT
    with pytest.raises(ReferenceResolutionError, match="for-each"):
        resolve("{{input}}", make_context())


def test_none_is_a_valid_for_each_element() -> None:
    assert resolve("{{input}}", make_context(for_each_input=None)) == "null"


def test_substituted_values_are_not_scanned_again() -> None:
    assert resolve("{{tasks.ingest.values.template}}", make_context()) == "{{job.id}}"


def test_unknown_namespace_and_malformed_references_stay_literal_next_to_resolved_ones() -> None:
    template = "{{foo}} {{job.id} {{job.id}} {{ my.value }}"
    assert resolve(template, make_context()) == "{{foo}} {{job.id} 42 {{ my.value }}"


def test_missing_task_value_raises_naming_task_key_and_reference() -> None:
    with pytest.raises(ReferenceResolutionError) as info:
        resolve("rows={{tasks.ingest.values.rowcount}}", make_context())
    error = info.value
    assert isinstance(error, ValueError)
    assert "'rowcount'" in str(error)
    assert "'ingest'" in str(error)
    assert "{{tasks.ingest.values.rowcount}}" in str(error)
    assert "dbutils.jobs.taskValues.set('rowcount', ...)" in str(error)
    assert (error.task_key, error.key, error.reference) == (
        "ingest",
        "rowcount",
        "{{tasks.ingest.values.rowcount}}",
    )
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.task_key, clone.key, str(clone)) == (error.task_key, error.key, str(error))


def test_value_of_a_task_that_did_not_run_is_missing_too() -> None:
    with pytest.raises(ReferenceResolutionError, match="'skipped'"):
        resolve("{{tasks.skipped.values.x}}", make_context())


def test_allow_missing_leaves_the_reference_as_written() -> None:
    ctx = make_context(allow_missing=True)
    template = "a={{ tasks.ingest.values.absent }} b={{tasks.ingest.values.name}}"
    assert resolve(template, ctx) == "a={{ tasks.ingest.values.absent }} b=orders"


def test_default_context_has_no_task_values() -> None:
    with pytest.raises(ReferenceResolutionError, match="never set"):
        resolve("{{tasks.a.values.b}}", ResolutionContext())
    assert resolve("{{tasks.a.values.b}}", ResolutionContext(allow_missing=True)) == "{{tasks.a.values.b}}"


def test_task_info_of_a_task_that_has_not_run_is_an_error() -> None:
    with pytest.raises(ReferenceResolutionError, match="'pending' has no result_state"):
        resolve("{{tasks.pending.result_state}}", make_context())


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{job.naem}}", "did you mean {{job.name}}?"),
        ("{{job.parameters.nope}}", "'nope', which the job does not define"),
        ("{{tasks.ingest.foo}}", "result_state"),
        ("{{job_id.x}}", "has no fields"),
    ],
)
def test_resolve_rejects_unknown_references_in_known_namespaces(template: str, expected: str) -> None:
    with pytest.raises(ReferenceResolutionError, match=None) as info:
        resolve(template, make_context())
    assert expected in str(info.value)


# ----------------------------------------------------------------------------------------------- for-each


def test_resolve_json_returns_a_referenced_list_itself() -> None:
    assert resolve_json("{{tasks.ingest.values.regions}}", make_context()) == ["eu", "us"]
    assert resolve_json("  {{ tasks.ingest.values.regions }}\n", make_context()) == ["eu", "us"]


def test_resolve_json_parses_a_referenced_string() -> None:
    assert resolve_json("{{tasks.ingest.values.regions_text}}", make_context()) == ["eu", "us"]
    ctx = make_context(job_parameters={"list": '[1, {"a": true}]'})
    assert resolve_json("{{job.parameters.list}}", ctx) == [1, {"a": True}]


def test_resolve_json_parses_literals_and_templates() -> None:
    ctx = make_context()
    assert resolve_json('["a", 1, null]', ctx) == ["a", 1, None]
    assert resolve_json('["{{tasks.ingest.values.name}}", {{tasks.ingest.values.row_count}}]', ctx) == [
        "orders",
        1204,
    ]
    assert resolve_json("[]", ctx) == []


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{tasks.ingest.values.row_count}}", "not a JSON array"),
        ("{{tasks.ingest.values.config}}", "not a JSON array"),
        ("{{tasks.ingest.values.name}}", "not valid JSON"),
        ('{"a": 1}', "not a JSON array"),
        ("[1, 2", "not valid JSON"),
        ("", "not valid JSON"),
        ("[{{tasks.ingest.values.name}}]", "resolved to '[orders]'"),
    ],
)
def test_resolve_json_rejects_what_is_not_an_array(template: str, expected: str) -> None:
    with pytest.raises(ReferenceResolutionError) as info:
        resolve_json(template, make_context())
    assert expected in str(info.value)
    assert isinstance(info.value, ValueError)


def test_resolve_json_is_strict_about_missing_values_even_when_allowed_elsewhere() -> None:
    with pytest.raises(ReferenceResolutionError, match="never set"):
        resolve_json("{{tasks.ingest.values.absent}}", make_context(allow_missing=True))


def test_no_input_survives_pickling_as_the_same_sentinel() -> None:
    assert pickle.loads(pickle.dumps(NO_INPUT)) is NO_INPUT
    assert repr(NO_INPUT) == "NO_INPUT"


# ---------------------------------------------------------------------------------------------- properties

_pieces = st.sampled_from(
    [
        "{{",
        "}}",
        "{",
        "}",
        "`",
        ".",
        " ",
        "job",
        "id",
        "tasks",
        "ingest",
        "values",
        "name",
        "input",
        "x",
        "-",
        "\n",
    ]
)
_templates = st.one_of(st.text(max_size=200), st.lists(_pieces, max_size=40).map("".join))


@given(_templates)
def test_find_references_never_fails_and_spans_match(template: str) -> None:
    for ref in find_references(template):
        assert isinstance(ref, Reference)
        assert template[ref.start : ref.end] == ref.text
        assert ref.path and all(ref.path)


@given(_templates, st.booleans(), st.one_of(st.just(NO_INPUT), st.text(max_size=5), st.integers()))
def test_resolve_raises_only_reference_errors(template: str, allow_missing: bool, element: Any) -> None:
    ctx = make_context(allow_missing=allow_missing, for_each_input=element)
    try:
        result = resolve(template, ctx)
    except ReferenceResolutionError:
        return
    assert isinstance(result, str)
    if not find_references(template):
        assert result == template


@given(_templates)
def test_resolve_json_raises_only_reference_errors(template: str) -> None:
    try:
        result = resolve_json(template, make_context())
    except ReferenceResolutionError:
        return
    assert isinstance(result, list)


@given(_templates)
def test_check_reference_never_fails(template: str) -> None:
    for ref in find_references(template):
        for in_for_each in (False, True):
            result = check_reference(ref, task_keys=TASKS, parameter_names=PARAMS, in_for_each=in_for_each)
            assert result is None or isinstance(result, str)
