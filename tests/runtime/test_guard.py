"""The end-of-task guard, on namespaces built here (the task-level tests run it in real kernels)."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_taskvalues import context
from jupyter_taskvalues.context import TaskContext
from jupyter_taskvalues.runtime import session
from jupyter_taskvalues.runtime.dbutils import dbutils
from jupyter_taskvalues.runtime.guard import LostTaskValuesError, check_task_end, task_end_report


class _Dropping:
    class jobs:
        class taskValues:
            @staticmethod
            def set(key: str, value: Any) -> bool:
                return True


def _namespace(*cells: str, bound: object = dbutils) -> dict[str, Any]:
    return {"In": ["", *cells], "dbutils": bound}


def test_ours_with_set_calls_passes() -> None:
    check_task_end(_namespace("dbutils.jobs.taskValues.set('a', 1)"))


def test_a_foreign_dbutils_with_a_set_call_fails_naming_the_object_and_the_cell() -> None:
    with pytest.raises(LostTaskValuesError) as info:
        check_task_end(_namespace("x = 1", "dbutils.jobs.taskValues . set('a', 1)", bound=_Dropping()))

    assert "In [2]" in str(info.value) and "_Dropping" in str(info.value)
    assert info.value.fields["set_cells"] == [2]


def test_a_foreign_dbutils_never_used_to_set_passes() -> None:
    report = task_end_report(_namespace("print(dbutils)", bound=_Dropping()))

    assert report["foreign"] and report["set_cells"] == []
    check_task_end(_namespace("print(dbutils)", bound=_Dropping()))


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
            check_task_end(_namespace("x = 1"))
    finally:
        session.clear_session()
