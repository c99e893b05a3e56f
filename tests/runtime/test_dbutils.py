"""``dbutils`` as SPEC §1 and §2 describe it, one behaviour per test, inside a job run and outside one.

A "job run" here is a real run in a real runs directory, and this process becomes one of its tasks the way a
kernel does: through the ``JUPYTER_TASKVALUES_*`` environment variables.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import jupyter_taskvalues
from jupyter_taskvalues import context
from jupyter_taskvalues.context import TaskContext
from jupyter_taskvalues.exceptions import (
    InvalidKeyError,
    InvalidValueError,
    RunNotFoundError,
    TaskNotFoundError,
    TaskValuesError,
    ValueLimitError,
    ValueNotFoundError,
    ValueTooLargeError,
    WidgetNotFoundError,
)
from jupyter_taskvalues.runtime import session
from jupyter_taskvalues.runtime.dbutils import DBUtils, NotebookExit, session_values

if TYPE_CHECKING:
    from jupyter_taskvalues.store import RunStore

DEBUG_MESSAGE = "Must pass debugValue when calling get outside of a job context. debugValue cannot be None."


class Job:
    """A run of a two-task job ("a" then "b"), and a way to make this process one of its tasks."""

    def __init__(self, store: RunStore, monkeypatch: pytest.MonkeyPatch, **run: Any) -> None:
        self.store = store
        self.monkeypatch = monkeypatch
        self.run_id = store.create_run(job_name="demo", tasks={"a": {}, "b": {}}, **run)

    def enter(self, task_key: str, **fields: Any) -> TaskContext:
        task = TaskContext(run_id=self.run_id, task_key=task_key, runs_dir=str(self.store.root), **fields)
        self.leave()
        for name, value in context.environment_for(task).items():
            self.monkeypatch.setenv(name, value)
        return task

    def leave(self) -> None:
        for name in list(os.environ):
            if name.startswith(context.ENV_PREFIX) and name != context.RUNS_DIR_ENV:
                self.monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    session.clear_session()
    session.detach()
    yield
    session.clear_session()
    session.detach()


@pytest.fixture
def dbutils() -> DBUtils:
    """A fresh ``dbutils`` (its widgets start empty); task values live in the store, not in the object."""
    return DBUtils()


@pytest.fixture
def job(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> Job:
    return Job(store, monkeypatch)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# -- the object ----------------------------------------------------------------------------------------------


def test_package_exports_a_dbutils_object() -> None:
    from jupyter_taskvalues import dbutils

    assert isinstance(dbutils, DBUtils)


def test_package_dbutils_stays_the_object_after_the_submodule_is_imported() -> None:
    importlib.import_module("jupyter_taskvalues.ipython.magics")  # imports the submodule, as %load_ext does
    from jupyter_taskvalues import dbutils

    assert isinstance(dbutils, DBUtils)
    assert jupyter_taskvalues.dbutils is dbutils


# -- §1 taskValues in a job run ------------------------------------------------------------------------------


def test_set_then_get_from_a_downstream_task(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    dbutils.jobs.taskValues.set("rows", 1204)
    job.enter("b")
    assert dbutils.jobs.taskValues.get("a", "rows") == 1204


def test_set_and_get_take_databricks_keyword_names(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    dbutils.jobs.taskValues.set(key="model", value={"name": "gbt", "auc": 0.91})
    job.enter("b")
    got = dbutils.jobs.taskValues.get(taskKey="a", key="model", default=None, debugValue="unused")
    assert got == {"name": "gbt", "auc": 0.91}


def test_get_takes_positional_default_and_debug_value(dbutils: DBUtils, job: Job) -> None:
    job.enter("b")
    assert dbutils.jobs.taskValues.get("a", "missing", 7, 99) == 7


def test_set_returns_none(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    assert dbutils.jobs.taskValues.set("k", 1) is None  # type: ignore[func-returns-value]


def test_set_again_overwrites_last_write_wins(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    dbutils.jobs.taskValues.set("k", "first")
    dbutils.jobs.taskValues.set("k", "second")
    assert dbutils.jobs.taskValues.get("a", "k") == "second"
    assert job.store.count_values(job.run_id) == 1


def test_set_writes_to_the_current_task_of_the_current_run(dbutils: DBUtils, job: Job) -> None:
    job.enter("a", attempt=2)
    dbutils.jobs.taskValues.set("k", [1, 2])
    record = job.store.get_value_record(job.run_id, "a", "k")
    assert (record.task_key, record.value, record.attempt) == ("a", [1, 2], 2)
    assert job.store.list_values(job.run_id, "b") == {}
    assert session_values() == {}


def test_get_returns_a_fresh_copy(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    dbutils.jobs.taskValues.set("items", [1, 2, 3])
    first = dbutils.jobs.taskValues.get("a", "items")
    first.append(4)
    assert dbutils.jobs.taskValues.get("a", "items") == [1, 2, 3]


def test_tuples_become_lists(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    dbutils.jobs.taskValues.set("pair", (1, ("x", 2.5)))
    assert dbutils.jobs.taskValues.get("a", "pair") == [1, ["x", 2.5]]


@pytest.mark.parametrize(
    "value", [None, True, False, 0, -3, 2.5, "", "text", "<script>", [], {}, {"a": [1, {"b": None}]}]
)
def test_json_values_round_trip(dbutils: DBUtils, job: Job, value: Any) -> None:
    job.enter("a")
    dbutils.jobs.taskValues.set("v", value)
    assert dbutils.jobs.taskValues.get("a", "v") == value


def test_get_unknown_task_raises_value_error(dbutils: DBUtils, job: Job) -> None:
    job.enter("b")
    with pytest.raises(ValueError, match=r"'nope' is not part of run .* Its tasks are: 'a', 'b'") as info:
        dbutils.jobs.taskValues.get("nope", "k")
    assert isinstance(info.value, TaskNotFoundError)


def test_get_unknown_task_raises_even_with_a_default(dbutils: DBUtils, job: Job) -> None:
    job.enter("b")
    with pytest.raises(TaskNotFoundError):
        dbutils.jobs.taskValues.get("nope", "k", default=1)


def test_get_missing_key_returns_the_default(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    dbutils.jobs.taskValues.set("other", 1)
    job.enter("b")
    assert dbutils.jobs.taskValues.get("a", "k", default="fallback") == "fallback"


@pytest.mark.parametrize("default", [0, "", False, []])
def test_get_missing_key_returns_a_falsy_default(dbutils: DBUtils, job: Job, default: Any) -> None:
    job.enter("b")
    assert dbutils.jobs.taskValues.get("a", "k", default=default) == default


def test_get_missing_key_without_default_raises_value_error(dbutils: DBUtils, job: Job) -> None:
    job.enter("b")
    with pytest.raises(ValueError, match=r"Task 'a' of run .* set no value 'k'") as info:
        dbutils.jobs.taskValues.get("a", "k")
    assert isinstance(info.value, ValueNotFoundError)


def test_get_default_none_counts_as_not_given(dbutils: DBUtils, job: Job) -> None:
    job.enter("b")
    with pytest.raises(ValueNotFoundError):
        dbutils.jobs.taskValues.get("a", "k", default=None)


def test_get_ignores_debug_value_in_a_job_run(dbutils: DBUtils, job: Job) -> None:
    job.enter("b")
    with pytest.raises(ValueNotFoundError):
        dbutils.jobs.taskValues.get("a", "k", debugValue="debug")


def test_get_of_a_task_that_has_not_run_behaves_as_a_missing_key(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")  # task "b" has written nothing, not even a task record
    assert dbutils.jobs.taskValues.get("b", "k", default=5) == 5
    with pytest.raises(ValueNotFoundError):
        dbutils.jobs.taskValues.get("b", "k")


def test_get_can_read_the_current_tasks_own_values(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    dbutils.jobs.taskValues.set("k", 1)
    assert dbutils.jobs.taskValues.get("a", "k") == 1


def test_for_each_iteration_values_are_stored_per_iteration(dbutils: DBUtils, job: Job) -> None:
    job.enter("a", iteration=2)
    dbutils.jobs.taskValues.set("k", "from iteration 2")
    assert job.store.list_values(job.run_id, "a", iteration=2)["k"].value == "from iteration 2"
    job.enter("b")
    assert dbutils.jobs.taskValues.get("a", "k", default="nothing") == "nothing"


def test_a_change_of_environment_is_picked_up_by_a_running_process(dbutils: DBUtils, job: Job) -> None:
    # A warm kernel learns its task after it started: the same object must follow the environment.
    with pytest.raises(TypeError):
        dbutils.jobs.taskValues.get("a", "k")
    job.enter("a")
    dbutils.jobs.taskValues.set("k", 1)
    job.enter("b")
    assert dbutils.jobs.taskValues.get("a", "k") == 1
    job.leave()
    assert dbutils.jobs.taskValues.get("a", "k", debugValue="debug") == "debug"


def test_set_in_a_run_missing_from_the_runs_directory_names_it(
    dbutils: DBUtils, job: Job, monkeypatch: pytest.MonkeyPatch
) -> None:
    job.enter("a")
    monkeypatch.setenv("JUPYTER_TASKVALUES_RUN_ID", "20200101-000000-000-abcdef")
    with pytest.raises(RunNotFoundError, match="20200101-000000-000-abcdef"):
        dbutils.jobs.taskValues.set("k", 1)


# -- §1 value rules ------------------------------------------------------------------------------------------


def test_value_of_exactly_49152_bytes_of_json_is_accepted(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    value = "x" * 49_150  # plus two quotes
    assert len(json.dumps(value).encode()) == 49_152
    dbutils.jobs.taskValues.set("big", value)
    assert dbutils.jobs.taskValues.get("a", "big") == value


def test_value_of_49153_bytes_of_json_is_rejected_and_nothing_is_stored(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    dbutils.jobs.taskValues.set("big", "small")
    value = "x" * 49_151
    assert len(json.dumps(value).encode()) == 49_153
    with pytest.raises(
        ValueError, match=r"'big' of task 'a' is 49,153 bytes as JSON; the limit is 49,152"
    ) as info:
        dbutils.jobs.taskValues.set("big", value)
    assert isinstance(info.value, ValueTooLargeError)
    assert dbutils.jobs.taskValues.get("a", "big") == "small"


def test_size_limit_counts_utf8_bytes_of_compact_json(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    fits = {"k": "é" * 24_572}  # {"k":"…"} is 8 bytes plus 2 bytes per é
    assert len(json.dumps(fits, ensure_ascii=False, separators=(",", ":")).encode()) == 49_152
    dbutils.jobs.taskValues.set("accented", fits)
    with pytest.raises(ValueTooLargeError, match="49,154 bytes"):
        dbutils.jobs.taskValues.set("accented", {"k": "é" * 24_573})
    assert dbutils.jobs.taskValues.get("a", "accented") == fits


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({1, 2}, "of type set"),
        (frozenset(), "of type frozenset"),
        (math.nan, "nan"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        ([1, [2, math.nan]], "nan"),
        (object(), "of type object"),
        (b"bytes", "of type bytes"),
        (1 + 2j, "of type complex"),
        ({1: "a"}, "dict key 1 of type int"),
        ({"ok": {(1, 2): "a"}}, "dict key (1, 2) of type tuple"),
        ({None: 1}, "dict key None of type NoneType"),
    ],
)
def test_non_json_values_are_rejected_and_nothing_is_stored(
    dbutils: DBUtils, job: Job, value: Any, words: str
) -> None:
    job.enter("a")
    with pytest.raises(ValueError, match=r"Task value 'bad' of task 'a'") as info:
        dbutils.jobs.taskValues.set("bad", value)
    assert isinstance(info.value, InvalidValueError)
    assert words in str(info.value)
    assert job.store.list_values(job.run_id, "a") == {}
    assert job.store.count_values(job.run_id) == 0


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("", "is empty"),
        ("k" * 257, "257 bytes; the limit is 256"),
        ("é" * 129, "258 bytes; the limit is 256"),
        ("a/b", "contains '/'"),
        ("../escape", "contains '/'"),
        ("a\\b", "contains '\\\\'"),
        ("a\x00b", "contains '\\x00'"),
        ("line\nbreak", "contains '\\n'"),
        ("..", "reserved"),
        (5, "must be a string, not int"),
        (None, "must be a string, not NoneType"),
    ],
)
def test_invalid_keys_are_rejected(dbutils: DBUtils, job: Job, key: Any, words: str) -> None:
    job.enter("a")
    with pytest.raises(ValueError) as info:
        dbutils.jobs.taskValues.set(key, 1)
    assert isinstance(info.value, InvalidKeyError)
    assert words in str(info.value)
    assert job.store.count_values(job.run_id) == 0


@pytest.mark.parametrize(
    "key", ["k" * 256, "my key", "a.b", "Ünïcødé", "with-dash", "CamelCase", "x" * 100 + "é"]
)
def test_unusual_but_valid_keys_are_accepted(dbutils: DBUtils, job: Job, key: str) -> None:
    job.enter("a")
    dbutils.jobs.taskValues.set(key, key)
    assert dbutils.jobs.taskValues.get("a", key) == key


def test_keys_differing_in_case_are_different_keys(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    dbutils.jobs.taskValues.set("Rows", 1)
    dbutils.jobs.taskValues.set("rows", 2)
    assert (dbutils.jobs.taskValues.get("a", "Rows"), dbutils.jobs.taskValues.get("a", "rows")) == (1, 2)


def test_get_with_an_invalid_key_raises_invalid_key_error(dbutils: DBUtils, job: Job) -> None:
    job.enter("b")
    with pytest.raises(InvalidKeyError):
        dbutils.jobs.taskValues.get("a", "a/b", default=1)


# -- §1 the 250-values limit ---------------------------------------------------------------------------------


def test_a_run_holds_at_most_250_values_across_its_tasks(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    for i in range(200):
        dbutils.jobs.taskValues.set(f"a{i}", i)
    job.enter("b")
    for i in range(50):
        dbutils.jobs.taskValues.set(f"b{i}", i)
    with pytest.raises(ValueError, match=r"already holds 250 values, the limit is 250") as info:
        dbutils.jobs.taskValues.set("one_too_many", 1)
    assert isinstance(info.value, ValueLimitError)
    assert job.store.count_values(job.run_id) == 250
    dbutils.jobs.taskValues.set("b0", "overwriting an existing key is still allowed")
    assert dbutils.jobs.taskValues.get("b", "b0") == "overwriting an existing key is still allowed"


def test_the_limit_follows_the_task_context(dbutils: DBUtils, job: Job) -> None:
    job.enter("a", max_values=3)
    for key in ("x", "y", "z"):
        dbutils.jobs.taskValues.set(key, 1)
    with pytest.raises(ValueLimitError, match="the limit is 3"):
        dbutils.jobs.taskValues.set("w", 1)


# -- §1 outside a job run ------------------------------------------------------------------------------------


def test_get_outside_a_job_returns_the_debug_value(dbutils: DBUtils) -> None:
    assert dbutils.jobs.taskValues.get("a", "k", debugValue={"rows": 3}) == {"rows": 3}


@pytest.mark.parametrize("debug", [0, "", False, [], 0.0])
def test_get_outside_a_job_returns_a_falsy_debug_value(dbutils: DBUtils, debug: Any) -> None:
    assert dbutils.jobs.taskValues.get(taskKey="a", key="k", debugValue=debug) == debug


def test_get_outside_a_job_without_debug_value_raises_databricks_type_error(dbutils: DBUtils) -> None:
    with pytest.raises(TypeError) as info:
        dbutils.jobs.taskValues.get("a", "k")
    assert str(info.value) == DEBUG_MESSAGE


def test_get_outside_a_job_ignores_the_default(dbutils: DBUtils) -> None:
    with pytest.raises(TypeError, match="debugValue cannot be None"):
        dbutils.jobs.taskValues.get("a", "k", default=5)
    assert dbutils.jobs.taskValues.get("a", "k", default=5, debugValue=6) == 6


def test_set_outside_a_job_keeps_the_value_in_the_interactive_session(
    dbutils: DBUtils, runs_dir: Path
) -> None:
    assert dbutils.jobs.taskValues.set("k", (1, 2)) is None  # type: ignore[func-returns-value]
    dbutils.jobs.taskValues.set(key="k2", value="v")
    assert session_values() == {"k": [1, 2], "k2": "v"}
    assert not runs_dir.exists() or _files(runs_dir) == {}


def test_set_outside_a_job_validates_the_value(dbutils: DBUtils) -> None:
    with pytest.raises(InvalidValueError, match="nan"):
        dbutils.jobs.taskValues.set("k", math.nan)
    with pytest.raises(ValueTooLargeError):
        dbutils.jobs.taskValues.set("k", "x" * 49_151)
    with pytest.raises(InvalidKeyError):
        dbutils.jobs.taskValues.set("a/b", 1)
    dbutils.jobs.taskValues.set("k", "x" * 49_150)
    assert session_values() == {"k": "x" * 49_150}


def test_set_outside_a_job_enforces_the_250_values_limit(dbutils: DBUtils) -> None:
    for i in range(250):
        dbutils.jobs.taskValues.set(f"k{i}", i)
    with pytest.raises(ValueLimitError, match="interactive session: it already holds 250 values"):
        dbutils.jobs.taskValues.set("k250", 1)
    dbutils.jobs.taskValues.set("k0", "overwrite")
    assert len(session_values()) == 250


def test_session_values_are_fresh_copies(dbutils: DBUtils) -> None:
    value = {"items": [1]}
    dbutils.jobs.taskValues.set("k", value)
    value["items"].append(2)
    session_values()["k"]["items"].append(3)
    assert session_values() == {"k": {"items": [1]}}


def test_session_version_changes_on_every_set(dbutils: DBUtils) -> None:
    before = session.session_version()
    dbutils.jobs.taskValues.set("k", 1)
    dbutils.jobs.taskValues.set("k", 1)
    assert session.session_version() == before + 2
    record = session.session_records()["k"]
    assert (record.task_key, record.size) == (session.INTERACTIVE_TASK, 1)


# -- attached to an earlier run ------------------------------------------------------------------------------


def test_attached_get_reads_the_earlier_run(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    dbutils.jobs.taskValues.set("rows", 10)
    job.leave()
    session.attach(job.run_id, "b")
    assert dbutils.jobs.taskValues.get("a", "rows") == 10
    assert dbutils.jobs.taskValues.get("a", "missing", default=0) == 0
    with pytest.raises(ValueNotFoundError):
        dbutils.jobs.taskValues.get("a", "missing", debugValue=1)


def test_attached_set_never_modifies_the_earlier_run(dbutils: DBUtils, job: Job) -> None:
    job.enter("a")
    dbutils.jobs.taskValues.set("rows", 10)
    before = _files(job.store.root)
    session.attach(job.run_id, "a")  # attaching wins over the process's own task context
    dbutils.jobs.taskValues.set("rows", 99)
    # The attachment's own record (so that gc keeps the run) is the only file added; no value changed.
    after = {name: data for name, data in _files(job.store.root).items() if "/attached/" not in name}
    assert after == before
    assert session_values() == {"rows": 99}
    assert dbutils.jobs.taskValues.get("a", "rows") == 10


def test_detach_restores_the_processes_own_context(dbutils: DBUtils, job: Job) -> None:
    session.attach(job.run_id, "b")
    assert session.detach() is not None
    assert session.detach() is None
    assert dbutils.jobs.taskValues.get("a", "rows", debugValue="debug") == "debug"


def test_attach_to_an_unknown_run_or_task_raises(job: Job) -> None:
    with pytest.raises(RunNotFoundError, match="No run '20200101-000000-000-abcdef'"):
        session.attach("20200101-000000-000-abcdef", "a")
    with pytest.raises(TaskNotFoundError, match=r"'c' is not part of run .* Its tasks are: 'a', 'b'"):
        session.attach(job.run_id, "c")
    assert session.attached_context() is None


def test_attach_latest_picks_the_newest_run(job: Job) -> None:
    newest = job.store.create_run(job_name="demo", tasks={"a": {}}, run_id="99991231-000000-000-ffffff")
    assert session.attach("latest", "a").run_id == newest


def test_attach_latest_with_no_runs_raises(tmp_path: Path) -> None:
    with pytest.raises(RunNotFoundError, match="no run"):
        session.attach("latest", "a", runs_dir=str(tmp_path / "empty"))


def test_attached_widgets_see_the_tasks_recorded_parameters(dbutils: DBUtils, job: Job) -> None:
    job.store.write_task(job.run_id, "b", {"state": "SUCCESS", "parameters": {"date": "2026-01-01"}})
    session.attach(job.run_id, "b")
    assert dbutils.widgets.get("date") == "2026-01-01"


# -- §2 widgets ----------------------------------------------------------------------------------------------


def test_text_widget_returns_its_default_outside_a_job(dbutils: DBUtils) -> None:
    dbutils.widgets.text("date", "2026-01-01", "Date")
    assert dbutils.widgets.get("date") == "2026-01-01"


def test_job_parameter_beats_the_widget_default(dbutils: DBUtils, job: Job) -> None:
    job.enter("a", parameters={"date": "2026-11-29"})
    dbutils.widgets.text("date", "2026-01-01")
    assert dbutils.widgets.get("date") == "2026-11-29"


def test_job_parameter_is_gettable_without_a_widget(dbutils: DBUtils, job: Job) -> None:
    job.enter("a", parameters={"env": "prod"})
    assert dbutils.widgets.get("env") == "prod"


def test_text_on_an_existing_widget_does_not_reset_it(dbutils: DBUtils) -> None:
    dbutils.widgets.text("name", "first")
    dbutils.widgets.text("name", "second")
    assert dbutils.widgets.get("name") == "first"


def test_widget_values_are_strings(dbutils: DBUtils, job: Job) -> None:
    dbutils.widgets.text("n", 5)  # type: ignore[arg-type]
    assert dbutils.widgets.get("n") == "5"
    job.enter("a", parameters={"m": 7})  # type: ignore[dict-item]
    assert dbutils.widgets.get("m") == "7"


def test_dropdown_default_must_be_one_of_its_choices(dbutils: DBUtils) -> None:
    with pytest.raises(
        ValueError, match=r"default value 'blue' of widget 'colour' is not one of its choices"
    ):
        dbutils.widgets.dropdown("colour", "blue", ["red", "green"])
    with pytest.raises(WidgetNotFoundError):
        dbutils.widgets.get("colour")


def test_dropdown_returns_its_default(dbutils: DBUtils) -> None:
    dbutils.widgets.dropdown("colour", "red", ["red", "green"], "Colour")
    assert dbutils.widgets.get("colour") == "red"


def test_combobox_accepts_a_default_outside_its_choices(dbutils: DBUtils) -> None:
    dbutils.widgets.combobox("fruit", "kiwi", ["apple", "pear"])
    assert dbutils.widgets.get("fruit") == "kiwi"


def test_multiselect_value_is_comma_joined(dbutils: DBUtils, job: Job) -> None:
    dbutils.widgets.multiselect("days", "Mon,Wed", ["Mon", "Tue", "Wed"])
    assert dbutils.widgets.get("days") == "Mon,Wed"
    with pytest.raises(ValueError, match="not one of its choices"):
        dbutils.widgets.multiselect("bad", "Mon,Sun", ["Mon", "Tue"])
    job.enter("a", parameters={"days": "Tue,Wed"})
    assert dbutils.widgets.get("days") == "Tue,Wed"


def test_get_of_an_unknown_widget_names_it_and_lists_the_defined_ones(dbutils: DBUtils) -> None:
    dbutils.widgets.text("alpha", "1")
    dbutils.widgets.text("beta", "2")
    with pytest.raises(ValueError, match=r"No input widget named 'gamma'.*Defined: 'alpha', 'beta'") as info:
        dbutils.widgets.get("gamma")
    assert isinstance(info.value, WidgetNotFoundError)
    assert isinstance(info.value, TaskValuesError)


def test_get_of_an_unknown_widget_in_a_job_lists_the_parameters(dbutils: DBUtils, job: Job) -> None:
    job.enter("a", parameters={"env": "prod"})
    with pytest.raises(WidgetNotFoundError, match="Defined: 'env'"):
        dbutils.widgets.get("gamma")


def test_get_argument_returns_the_default_for_an_unknown_name_with_a_notice(
    dbutils: DBUtils, capsys: pytest.CaptureFixture[str]
) -> None:
    dbutils.widgets.text("x", "1")
    assert dbutils.widgets.getArgument("x") == "1"
    assert dbutils.widgets.getArgument("unknown", "fallback") == "fallback"
    assert dbutils.widgets.getArgument("unknown") is None
    err = capsys.readouterr().err
    assert err.count("getArgument is deprecated") == 1


def test_get_all_holds_widgets_and_job_parameters(dbutils: DBUtils, job: Job) -> None:
    dbutils.widgets.text("a", "1")
    dbutils.widgets.text("b", "2")
    job.enter("a", parameters={"b": "from job", "c": "3"})
    assert dbutils.widgets.getAll() == {"a": "1", "b": "from job", "c": "3"}


def test_remove_and_remove_all(dbutils: DBUtils, job: Job) -> None:
    dbutils.widgets.text("a", "1")
    dbutils.widgets.text("b", "2")
    dbutils.widgets.remove("a")
    with pytest.raises(WidgetNotFoundError, match="'a'"):
        dbutils.widgets.get("a")
    with pytest.raises(WidgetNotFoundError, match="'a'"):
        dbutils.widgets.remove("a")
    job.enter("a", parameters={"p": "kept"})
    dbutils.widgets.removeAll()
    assert dbutils.widgets.getAll() == {"p": "kept"}
    dbutils.widgets.text("b", "new default")
    assert dbutils.widgets.get("b") == "new default"


def test_widget_definitions_reject_bad_arguments(dbutils: DBUtils) -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        dbutils.widgets.text("", "x")
    with pytest.raises(TypeError, match="needs a defaultValue"):
        dbutils.widgets.text("x", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="list of strings"):
        dbutils.widgets.dropdown("x", "a", "abc")
    with pytest.raises(ValueError, match="at least one choice"):
        dbutils.widgets.dropdown("x", "a", [])


# -- §2 notebook.exit and help -------------------------------------------------------------------------------


def test_notebook_exit_raises_notebook_exit_carrying_the_value(dbutils: DBUtils) -> None:
    with pytest.raises(NotebookExit) as info:
        dbutils.notebook.exit("done")
    assert info.value.value == "done"
    assert str(info.value) == "done"


def test_notebook_exit_turns_a_value_into_a_string(dbutils: DBUtils) -> None:
    with pytest.raises(NotebookExit) as info:
        dbutils.notebook.exit(42)
    assert info.value.value == "42"


def test_notebook_exit_is_not_caught_by_except_exception(dbutils: DBUtils) -> None:
    caught = False
    with pytest.raises(NotebookExit):
        try:
            dbutils.notebook.exit("x")
        except Exception:  # noqa: BLE001 - what a notebook would write
            caught = True
    assert not caught


def test_notebook_exit_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(NotebookExit("value")))
    assert (type(error), error.value) == (NotebookExit, "value")


def test_notebook_run_of_a_missing_notebook_names_every_file_tried(
    dbutils: DBUtils, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_taskvalues.runtime.notebook_run import WorkflowException

    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkflowException, match=r"'other'.*other\.py, other\.ipynb, other\.md"):
        dbutils.notebook.run("other", 60, {})


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("", ["fs", "jobs", "notebook", "secrets", "widgets"]),
        ("jobs", ["taskValues"]),
        ("jobs.taskValues", ["get(taskKey", "set(key", "debugValue", "49,152", "250"]),
        (
            "widgets",
            ["text(", "dropdown(", "combobox(", "multiselect(", "getAll(", "removeAll(", "getArgument("],
        ),
        ("notebook", ["exit(value", "run(path"]),
        ("secrets", ["JUPYTER_TASKVALUES_SECRET_", "[REDACTED]"]),
        ("fs", ["/Volumes/", "JUPYTER_TASKVALUES_DBFS_ROOT"]),
    ],
)
def test_help_texts_describe_each_utility(
    dbutils: DBUtils, capsys: pytest.CaptureFixture[str], path: str, words: list[str]
) -> None:
    target: Any = dbutils
    for part in filter(None, path.split(".")):
        target = getattr(target, part)
    target.help()
    out = capsys.readouterr().out
    for word in words:
        assert word in out


def test_help_of_one_method_prints_its_documentation(
    dbutils: DBUtils, capsys: pytest.CaptureFixture[str]
) -> None:
    dbutils.jobs.taskValues.help("get")
    assert "debugValue" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no method 'nope'"):
        dbutils.jobs.taskValues.help("nope")


def test_reprs_point_to_help(dbutils: DBUtils) -> None:
    assert "dbutils.help()" in repr(dbutils)
    assert "dbutils.jobs.taskValues.help()" in repr(dbutils.jobs.taskValues)


def test_databricks_only_utilities_raise_a_clear_attribute_error(dbutils: DBUtils) -> None:
    with pytest.raises(AttributeError, match=r"dbutils\.library is not available in jupyter-taskvalues"):
        dbutils.library.restartPython()  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        dbutils.nonsense  # type: ignore[attr-defined]
