"""``display(obj)`` and ``displayHTML(html)``: Databricks' display functions as Jupyter rich output.

- A pandas DataFrame shows as a table (pandas' own HTML and text representations).
- A Spark DataFrame shows as a table of its first :data:`DISPLAY_MAX_ROWS` rows (``limit`` then
  ``toPandas``, so a large DataFrame is never collected whole), with a note when rows were left out.
- A list of dicts, of Spark ``Row`` objects or of named tuples (``dbutils.fs.ls``) shows as a table when
  pandas is installed.
- Anything else goes to IPython's ``display`` (its ``_repr_html_``, images, plain text...).
- ``displayHTML(html)`` shows ``html`` as an HTML output.

IPython is imported when a function is called, not when this module is, so scripts stay light.
"""

from __future__ import annotations

import importlib.util
from typing import Any

__all__ = ["display", "displayHTML"]

#: Rows of a Spark DataFrame that ``display`` and a ``%sql`` cell bring to the notebook (``limit`` first).
DISPLAY_MAX_ROWS = 1000


def is_spark_dataframe(obj: object) -> bool:
    """Whether ``obj`` is a Spark DataFrame (classic or Spark Connect), without importing pyspark."""
    return any(
        cls.__name__ == "DataFrame" and cls.__module__.startswith("pyspark.sql") for cls in type(obj).__mro__
    )


def _ipython_display(*objs: Any, **kwargs: Any) -> Any:
    from IPython.display import display as ipython_display  # lazy: IPython is a front end

    return ipython_display(*objs, **kwargs)  # type: ignore[no-untyped-call]


def _rows_frame(obj: list[Any]) -> Any:
    """Return ``obj`` (a list of dicts or of Spark Rows) as a pandas DataFrame, or None if it is not one."""
    if not obj or importlib.util.find_spec("pandas") is None:
        return None
    if all(isinstance(item, dict) for item in obj):
        records = obj
    elif all(hasattr(item, "asDict") and type(item).__name__ == "Row" for item in obj):
        records = [item.asDict() for item in obj]
    elif all(
        isinstance(item, tuple) and hasattr(item, "_asdict") for item in obj
    ):  # FileInfo of dbutils.fs.ls
        records = [item._asdict() for item in obj]
    else:
        return None
    import pandas  # type: ignore[import-untyped]

    return pandas.DataFrame.from_records(records)


def display(input: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Show ``input`` in the notebook as rich output: a DataFrame (pandas or Spark) as a table.

    Parameters
    ----------
    input
        What to show. ``display()`` with nothing shows nothing, as on Databricks.
    *args, **kwargs
        Further objects and options, handed to IPython's ``display`` (Databricks' streaming options such as
        ``streamName`` are accepted and ignored).

    Returns
    -------
    Any
        What IPython's ``display`` returns (a ``DisplayHandle`` with ``display_id=True``), else ``None``.
    """
    for option in ("streamName", "trigger", "checkpointLocation"):
        kwargs.pop(option, None)
    if input is None and not args:
        return None
    if is_spark_dataframe(input):
        rows = input.limit(DISPLAY_MAX_ROWS + 1).toPandas()
        if len(rows) > DISPLAY_MAX_ROWS:
            handle = _ipython_display(rows.head(DISPLAY_MAX_ROWS), *args, **kwargs)
            print(f"Showing the first {DISPLAY_MAX_ROWS:,} rows.")
            return handle
        input = rows
    elif isinstance(input, list) and (frame := _rows_frame(input)) is not None:
        input = frame
    return _ipython_display(input, *args, **kwargs)


def displayHTML(html: str) -> None:
    """Show ``html`` (a string of HTML) as an HTML output of the cell."""
    from IPython.display import HTML

    _ipython_display(HTML(str(html)))  # type: ignore[no-untyped-call]
