"""``spark``, ``sc``, ``sql``, ``table``, ``udf`` without pyspark: bound, and a clear error on first use."""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from jupyter_taskvalues.runtime import spark as spark_module
from jupyter_taskvalues.runtime.spark import SparkUnavailableError, lazy_runtime, split_statements, sql_cell


class _NoPyspark(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: ModuleType | None = None) -> None:
        if name.split(".", maxsplit=1)[0] == "pyspark":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


@pytest.fixture
def no_pyspark(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """pyspark as if it were not installed, and no session made yet."""
    for name in [name for name in sys.modules if name.split(".")[0] == "pyspark"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(spark_module, "_session", None)
    finder = _NoPyspark()
    sys.meta_path.insert(0, finder)
    yield
    sys.meta_path.remove(finder)


@pytest.mark.parametrize(
    ("name", "use"),
    [
        ("spark", lambda ns: ns["spark"].range(3)),
        ("sc", lambda ns: ns["sc"].parallelize([1])),
        ("sqlContext", lambda ns: ns["sqlContext"].sql("SELECT 1")),
        ("sql", lambda ns: ns["sql"]("SELECT 1")),
        ("table", lambda ns: ns["table"]("t")),
        ("udf", lambda ns: ns["udf"](len)),
    ],
)
def test_each_spark_name_raises_naming_the_extra_on_first_use(no_pyspark: None, name: str, use: Any) -> None:
    namespace = lazy_runtime()

    with pytest.raises(SparkUnavailableError) as info:
        use(namespace)

    assert str(info.value).startswith(f"{name} is a local SparkSession")
    assert "pip install 'jupyter-taskvalues[spark]'" in str(info.value)
    assert isinstance(info.value, RuntimeError)


def test_spark_names_start_nothing_until_used(no_pyspark: None) -> None:
    namespace = lazy_runtime()

    assert "created on first use" in repr(namespace["spark"])
    assert spark_module._session is None


def test_a_sql_cell_without_pyspark_names_the_cell_and_the_fix(no_pyspark: None) -> None:
    with pytest.raises(SparkUnavailableError) as info:
        sql_cell("SELECT 1", "cell 4 of notebook 'report.py'")

    assert "The %sql cell (cell 4 of notebook 'report.py')" in str(info.value)
    assert "jupyter-taskvalues[spark]" in str(info.value) and "rewrite the cell in Python" in str(info.value)


def test_sql_statements_split_at_semicolons_outside_quotes_and_comments() -> None:
    query = "SELECT 'a;b' AS x; -- a comment; still comment\nSELECT `c;d` FROM t;\n\n"

    assert split_statements(query) == ["SELECT 'a;b' AS x", "SELECT `c;d` FROM t"]


def test_display_of_a_spark_like_dataframe_limits_rows_before_collecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pandas as pd

    from jupyter_taskvalues.runtime import display as display_module

    calls: list[int] = []

    class DataFrame:  # shaped like pyspark's, module included: display must not collect it whole
        __module__ = "pyspark.sql.dataframe"

        def limit(self, n: int) -> DataFrame:
            calls.append(n)
            return self

        def toPandas(self) -> pd.DataFrame:
            return pd.DataFrame({"n": range(calls[-1])})

    shown: list[object] = []
    monkeypatch.setattr(display_module, "_ipython_display", lambda obj, *a, **k: shown.append(obj))

    display_module.display(DataFrame())

    assert calls == [spark_module.DISPLAY_MAX_ROWS + 1]
    assert isinstance(shown[0], pd.DataFrame) and len(shown[0]) == spark_module.DISPLAY_MAX_ROWS
