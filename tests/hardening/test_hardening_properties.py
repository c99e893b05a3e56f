"""Property tests (hypothesis) of the reference parser, the job-file loader and the value rules.

Whatever the input: a correct result or one of our documented errors (a :class:`TaskValuesError`), never
another exception, and never a file written outside the run's directory.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_taskvalues.exceptions import (
    InvalidKeyError,
    InvalidValueError,
    JobSpecError,
    ReferenceResolutionError,
    TaskValuesError,
)
from jupyter_taskvalues.jobs.spec.loader import load_job
from jupyter_taskvalues.references import (
    NO_INPUT,
    Reference,
    ResolutionContext,
    check_reference,
    find_references,
    format_reference,
    render,
    resolve,
    resolve_json,
)
from jupyter_taskvalues.store import RunStore
from jupyter_taskvalues.values import check_key, decode_value, encode_value
from tests.hardening.hardening_helpers import HOSTILE_NAMES, changed_outside, tree

PROPERTY = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HEAVY = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- strategies -----------------------------------------------------------------------------------------------

names = st.one_of(
    st.sampled_from(
        ["job", "task", "tasks", "input", "values", "parameters", "a", "b", "id", "run_id", "name"]
    ),
    st.sampled_from(list(HOSTILE_NAMES[:-8])),
    st.text(max_size=12),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
#: Text made of reference fragments, so that most examples come close to references.
template_text = st.lists(
    st.one_of(
        st.sampled_from(
            ["{{", "}}", "{", "}", "`", ".", " ", "\n", "\x00", "\u202e", "job", "tasks", "input"]
        ),
        names,
        st.builds(
            format_reference, st.lists(names.filter(lambda n: n and "`" not in n), min_size=1, max_size=5)
        ),
    ),
    max_size=12,
).map("".join)


def _context(values: Any, for_each: Any) -> ResolutionContext:
    def task_value(task: str, key: str) -> Any:
        if key == "missing":
            from jupyter_taskvalues.exceptions import ValueNotFoundError

            raise ValueNotFoundError(f"no {key}")
        return values

    return ResolutionContext(
        job_id="1",
        job_name="j",
        run_id="r",
        job_parameters={"a": "x", "`b`": "{{job.id}}"},
        task_value=task_value,
        task_info=lambda task, name: "SUCCESS",
        for_each_input=for_each,
    )


# -- references -----------------------------------------------------------------------------------------------


@PROPERTY
@given(
    template=st.one_of(template_text, st.text()),
    value=json_values,
    element=st.one_of(st.just(NO_INPUT), json_values),
)
def test_resolving_any_template_gives_text_or_a_reference_error(
    template: str, value: Any, element: Any
) -> None:
    refs = find_references(template)
    for ref in refs:
        assert template[ref.start : ref.end] == ref.text
        assert ref.path and all(isinstance(part, str) for part in ref.path)
    assert [r.start for r in refs] == sorted(r.start for r in refs)
    ctx = _context(value, element)
    try:
        resolved = resolve(template, ctx)
    except ReferenceResolutionError as e:
        assert e.message
    else:
        assert isinstance(resolved, str)
        if not refs:
            assert resolved == template  # nothing that is not a reference is ever changed
    try:
        items = resolve_json(template, ctx)
    except ReferenceResolutionError:
        pass
    else:
        assert isinstance(items, list)


@PROPERTY
@given(
    path=st.lists(names, min_size=1, max_size=6),
    task_keys=st.lists(names, max_size=4),
    parameters=st.lists(names, max_size=4),
    in_for_each=st.booleans(),
)
def test_checking_any_reference_returns_a_message_or_none(
    path: list[str], task_keys: list[str], parameters: list[str], in_for_each: bool
) -> None:
    ref = Reference(format_reference(path), tuple(path), 0, 0)
    problem = check_reference(ref, task_keys=task_keys, parameter_names=parameters, in_for_each=in_for_each)
    assert problem is None or isinstance(problem, str)


@PROPERTY
@given(path=st.lists(names.filter(lambda n: n != "" and "`" not in n), min_size=1, max_size=6))
def test_a_formatted_reference_parses_back_to_its_path(path: list[str]) -> None:
    (ref,) = find_references(format_reference(path))
    assert ref.path == tuple(path)


@PROPERTY
@given(value=json_values)
def test_rendering_any_json_value_gives_text(value: Any) -> None:
    assert isinstance(render(value), str)


# -- the job-file loader --------------------------------------------------------------------------------------

task_fields = st.fixed_dictionaries(
    {},
    optional={
        "task_key": st.one_of(names, st.integers(), st.none()),
        "depends_on": st.one_of(
            st.lists(st.one_of(st.fixed_dictionaries({"task_key": names}), names, json_values), max_size=3),
            json_values,
        ),
        "run_if": st.one_of(st.sampled_from(["ALL_SUCCESS", "ALL_DONE", "NOPE"]), json_values),
        "notebook_task": st.one_of(
            st.fixed_dictionaries(
                {
                    "notebook_path": st.one_of(
                        st.sampled_from(["nb", "nb.ipynb", "/", "..", "../../x", "a\x00b"]), names
                    )
                },
                optional={
                    "base_parameters": st.one_of(st.dictionaries(names, json_values, max_size=3), json_values)
                },
            ),
            json_values,
        ),
        "condition_task": st.one_of(
            st.fixed_dictionaries(
                {
                    "op": st.one_of(st.sampled_from(["EQUAL_TO", "LESS_THAN"]), names),
                    "left": template_text,
                    "right": json_values,
                }
            ),
            json_values,
        ),
        "for_each_task": st.one_of(
            st.fixed_dictionaries(
                {"inputs": st.one_of(template_text, json_values), "task": st.deferred(lambda: task_fields)},
                optional={"concurrency": json_values},
            ),
            json_values,
        ),
        "max_retries": json_values,
        "timeout_seconds": json_values,
        "retry_on_timeout": json_values,
        "min_retry_interval_millis": json_values,
    },
)
jobs = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(names, json_values),
        "tasks": st.one_of(st.lists(task_fields, max_size=4), json_values),
        "parameters": st.one_of(
            st.lists(
                st.one_of(
                    st.fixed_dictionaries({"name": names, "default": st.one_of(template_text, json_values)}),
                    json_values,
                ),
                max_size=3,
            ),
            json_values,
        ),
        "timeout_seconds": json_values,
        "jupyter_taskvalues": json_values,
        "tags": json_values,
        "settings": json_values,
    },
)
bundles = st.fixed_dictionaries(
    {"bundle": st.one_of(st.fixed_dictionaries({"name": names}), json_values)},
    optional={
        "resources": st.one_of(
            st.fixed_dictionaries({"jobs": st.dictionaries(names, jobs, max_size=2)}), json_values
        ),
        "targets": st.one_of(st.dictionaries(names, json_values, max_size=2), json_values),
        "variables": st.one_of(st.dictionaries(names, json_values, max_size=2), json_values),
        "include": st.one_of(
            st.lists(st.sampled_from(["*.yml", "../*", "/etc/host*", "**/*.json", "x"]), max_size=2),
            json_values,
        ),
    },
)


def _load(content: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "nb.ipynb").write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}')
        path = root / f"job{suffix}"
        path.write_bytes(content)
        before = tree(root)
        try:
            spec = load_job(path)
        except JobSpecError as e:
            assert e.problems and all(isinstance(p, str) for p in e.problems)
        else:
            assert spec.tasks
        assert tree(root) == before


def _dump(data: Any, fmt: str) -> bytes:
    if fmt == "yaml":
        return yaml.safe_dump(data, allow_unicode=True).encode("utf-8", "surrogatepass")
    return json.dumps(data).encode()


@HEAVY
@given(data=st.one_of(jobs, bundles, json_values), fmt=st.sampled_from(["json", "yaml"]))
def test_loading_any_job_shaped_document_gives_a_job_or_a_job_spec_error(data: Any, fmt: str) -> None:
    _load(_dump(data, fmt), ".json" if fmt == "json" else ".yml")


@HEAVY
@given(
    content=st.one_of(
        st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))
    ),
    suffix=st.sampled_from([".json", ".yml", ".yaml", "", ".txt"]),
)
def test_loading_any_bytes_gives_a_job_spec_error(content: bytes, suffix: str) -> None:
    _load(content, suffix)


# -- the value rules ------------------------------------------------------------------------------------------

anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.binary(max_size=8)
    | st.complex_numbers()
    | st.just(object()),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.frozensets(st.integers(), max_size=3)
        | st.dictionaries(
            st.one_of(st.text(max_size=6), st.integers(), st.booleans(), st.none()), inner, max_size=4
        )
    ),
    max_leaves=25,
)


def _plain(value: Any) -> Any:
    """``value`` as JSON reads it back: tuples become lists."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@PROPERTY
@given(key=st.one_of(st.text(), st.sampled_from(HOSTILE_NAMES), st.integers(), st.none(), st.binary()))
def test_checking_any_key_returns_it_or_raises_an_invalid_key_error(key: Any) -> None:
    try:
        assert check_key(key) is key
    except InvalidKeyError as e:
        assert e.message


@PROPERTY
@given(value=anything)
def test_encoding_any_value_gives_json_or_an_invalid_value_error(value: Any) -> None:
    try:
        text = encode_value("k", value)
    except InvalidValueError as e:
        assert "'k'" in e.message
    else:
        assert len(text.encode("utf-8")) <= 49_152
        decoded = decode_value(text)
        expected = _plain(value)
        assert decoded == expected or (isinstance(expected, float) and math.isnan(expected))


@HEAVY
@given(
    items=st.lists(
        st.tuples(
            st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(max_size=30)),
            st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(max_size=30)),
            anything,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_storing_anything_under_any_names_stays_in_the_run_and_reads_back(
    items: list[tuple[str, str, Any]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        store = RunStore(root / "runs")
        run_id = store.create_run(job_name="p", tasks={}, max_values=1000)
        before = tree(root)
        expected: dict[tuple[str, str], Any] = {}
        for task, key, value in items:
            try:
                store.set_value(run_id, task, key, value)
            except TaskValuesError:
                continue
            expected[task, key] = _plain(value)
        assert changed_outside(before, tree(root), [f"runs/{run_id}"]) == []
        for (task, key), value in expected.items():
            assert store.get_value(run_id, task, key) == value
