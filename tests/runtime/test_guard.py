"""The end-of-task guard, on namespaces built here (the task-level tests run it in real kernels)."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues import context
from jupyter_taskvalues.context import TaskContext
from jupyter_taskvalues.runtime import guard, session
from jupyter_taskvalues.runtime.dbutils import dbutils
from jupyter_taskvalues.runtime.guard import (
    LostTaskValuesError,
    check_task_end,
    helper_modules,
    last_warnings,
    read_warnings,
    task_end_report,
)


class _Dropping:
    class jobs:
        class taskValues:
            @staticmethod
            def set(key: str, value: Any) -> bool:
                return True


def _namespace(*cells: str, bound: object = dbutils) -> dict[str, Any]:
    return {"In": ["", *cells], "dbutils": bound}


def test_ours_with_set_calls_passes() -> None:
    check_task_end(_namespace("dbutils.jobs.taskValues.set('a', 1)"), modules={})


def test_a_foreign_dbutils_with_a_set_call_fails_naming_the_object_and_the_cell() -> None:
    with pytest.raises(LostTaskValuesError) as info:
        check_task_end(
            _namespace("x = 1", "dbutils.jobs.taskValues . set('a', 1)", bound=_Dropping()), modules={}
        )

    assert "In [2]" in str(info.value) and "_Dropping" in str(info.value)
    assert info.value.fields["set_cells"] == [2]


def test_a_foreign_dbutils_never_used_to_set_passes() -> None:
    report = task_end_report(_namespace("print(dbutils)", bound=_Dropping()), modules={})

    assert report["foreign"] and report["set_cells"] == []
    check_task_end(_namespace("print(dbutils)", bound=_Dropping()), modules={})


def test_values_set_in_the_interactive_session_of_a_task_kernel_fail_the_task(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    task = TaskContext(run_id="r1", task_key="t", runs_dir=str(tmp_path))
    for name, value in context.environment_for(task).items():
        monkeypatch.setenv(name, value)
    session.clear_session()
    session.set_session_value("lost", 1)
    try:
        with pytest.raises(LostTaskValuesError, match="'lost' were set in the interactive session"):
            check_task_end(_namespace("x = 1"), modules={})
    finally:
        session.clear_session()


# -- warnings, and helper modules ----------------------------------------------------------------------------


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], dict[str, Any]]:
    """Write a module beside the notebook (on ``sys.path``), import it, return it as ``modules``."""

    def write(name: str, source: str) -> dict[str, Any]:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.delitem(sys.modules, name, raising=False)
        return {name: importlib.import_module(name)}

    return write


def test_a_foreign_dbutils_with_no_set_call_passes_with_a_warning_naming_it_and_the_fix() -> None:
    warnings = check_task_end(_namespace("print(dbutils)", bound=_Dropping()), modules={})

    assert len(warnings) == 1
    assert warnings[0].startswith(f"dbutils is a {_Dropping.__module__}._Dropping, not jupyter-taskvalues'")
    assert "No cell calls taskValues.set through it" in warnings[0]
    assert "from databricks.sdk.runtime import dbutils" in warnings[0]
    assert last_warnings() == warnings


def test_ours_everywhere_gives_no_warning() -> None:
    assert check_task_end(_namespace("dbutils.jobs.taskValues.set('a', 1)"), modules={}) == []
    assert last_warnings() == []


def test_a_helper_that_sets_through_its_own_foreign_global_fails_naming_its_line(
    tmp_path: Path, helper: Callable[[str, str], dict[str, Any]]
) -> None:
    modules = helper(
        "jtv_publishing",
        """
        class Remote:
            class jobs:
                class taskValues:
                    set = staticmethod(lambda key, value: None)
        dbutils = Remote()

        def publish(key, value):
            dbutils.jobs.taskValues.set(key, value)
        """,
    )

    with pytest.raises(LostTaskValuesError) as info:
        check_task_end(_namespace("from jtv_publishing import publish\npublish('rows', 3)"), modules=modules)

    message = str(info.value)
    assert (
        f"jtv_publishing ({tmp_path / 'jtv_publishing.py'}) line 9 calls dbutils.jobs.taskValues.set"
        in message
    )
    assert "its global dbutils, a jtv_publishing.Remote, not jupyter-taskvalues' dbutils" in message
    assert info.value.fields["foreign"] == {"jtv_publishing.dbutils": "jtv_publishing.Remote"}


def test_a_helper_that_sets_on_a_parameter_or_local_warns_naming_its_lines(
    tmp_path: Path, helper: Callable[[str, str], dict[str, Any]]
) -> None:
    modules = helper(
        "jtv_given",
        """
        class Remote:
            pass
        dbutils = Remote()  # a foreign global, but the calls below do not go through it

        def publish(dbutils, key, value):
            dbutils.jobs.taskValues.set(key, value)

        def publish_local(key, value):
            from somewhere import dbutils
            dbutils.jobs.taskValues.set(key, value)
        """,
    )

    warnings = check_task_end(_namespace("publish(dbutils, 'rows', 3)", bound=_Dropping()), modules=modules)

    assert [warning.split(" is a ")[0] for warning in warnings] == ["dbutils", "jtv_given.dbutils"]
    where = f"jtv_given ({tmp_path / 'jtv_given.py'})"
    for warning in warnings:
        assert f"{where} line 7 calls taskValues.set on an object it was given" in warning
        assert f"{where} line 11 calls taskValues.set on an object it was given" in warning


def test_a_helper_whose_global_dbutils_is_ours_neither_fails_nor_warns(
    tmp_path: Path, helper: Callable[[str, str], dict[str, Any]]
) -> None:
    modules = helper(
        "jtv_ours",
        """
        from jupyter_taskvalues import dbutils

        def publish(key, value):
            dbutils.jobs.taskValues.set(key, value)
        """,
    )

    assert check_task_end(_namespace("publish('rows', 3)"), modules=modules) == []


def test_installed_packages_are_not_helpers(helper: Callable[[str, str], dict[str, Any]]) -> None:
    modules = helper("jtv_mine", "x = 1\n")
    modules.update({"json": json, "pytest": pytest, "jupyter_taskvalues.runtime.guard": guard})

    assert list(helper_modules(modules)) == ["jtv_mine"]


def test_read_warnings_reads_the_kernels_repr_of_the_list() -> None:
    shown = "['dbutils is a x.Remote, not ours. Fix it.',\n 'helpers.dbutils is a x.Remote']"
    content = {
        "status": "ok",
        "user_expressions": {"warnings": {"status": "ok", "data": {"text/plain": shown}}},
    }

    assert read_warnings(content) == [
        "dbutils is a x.Remote, not ours. Fix it.",
        "helpers.dbutils is a x.Remote",
    ]
    assert read_warnings({"status": "ok", "user_expressions": {"warnings": {"status": "error"}}}) == []
