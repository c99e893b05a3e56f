"""``spark``, ``sc``, ``sqlContext``, ``sql``, ``table`` and ``udf``: a local SparkSession, made on first use.

On Databricks these names are bound before the first cell. Here they are bound too (never a ``NameError``),
but nothing starts until a notebook uses one: the first attribute of ``spark`` (or a call of ``sql``,
``table``, ``udf``, an attribute of ``sc``) creates one local ``SparkSession`` for the process with
``SparkSession.builder.master("local[*]")`` and Spark's web UI off. Its warehouse directory is a temporary
folder of the process, so a notebook that saves tables leaves nothing in the notebook's folder.

``pyspark`` is an optional extra (``pip install 'jupyter-taskvalues[spark]'``; Spark also needs Java 17 or
later). Without it, the first use raises :class:`SparkUnavailableError`, which names the extra.

``%sql`` cells of Databricks source notebooks become a call of :func:`sql_cell` (see
:mod:`jupyter_taskvalues.jobs.notebooks.formats`), which runs each statement through the same session and
shows the last result as a table; without pyspark the cell fails with a message that names the cell and the fix.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any

from ..exceptions import TaskValuesError
from .display import DISPLAY_MAX_ROWS, is_spark_dataframe  # display owns them: spark imports display

__all__ = [
    "DISPLAY_MAX_ROWS",
    "SparkUnavailableError",
    "get_spark",
    "is_spark_dataframe",
    "lazy_runtime",
    "spark_installed",
    "split_statements",
    "sql_cell",
]


_EXTRA_HINT = (
    "Install the extra: pip install 'jupyter-taskvalues[spark]' (pyspark; Spark also needs Java 17 or later), "
    "then restart the kernel."
)


class SparkUnavailableError(TaskValuesError, RuntimeError):
    """``spark`` (or ``sc``, ``sql``, ``table``, a ``%sql`` cell) was used, but no local Spark can start."""


_lock = threading.Lock()
_session: Any = None


def spark_installed() -> bool:
    """Whether pyspark (the real one, with ``pyspark.sql``) can be imported in this process."""
    try:
        return importlib.util.find_spec("pyspark.sql") is not None
    except (ImportError, ValueError):  # a parent that is not a package, or a module without a spec
        return False


def get_spark(what: str = "spark") -> Any:
    """Return the process's local ``SparkSession``, creating it on the first call.

    Parameters
    ----------
    what
        The name the notebook used (``spark``, ``sc``, ``sql``...), for the error message.

    Raises
    ------
    SparkUnavailableError
        pyspark is not installed, or the session cannot start (no Java, for one); the message says which.
    """
    global _session
    with _lock:
        if _session is not None:
            return _session
        if not spark_installed():
            raise SparkUnavailableError(
                f"{what} is a local SparkSession in jupyter-taskvalues, but pyspark is not installed in this "
                f"kernel's environment. {_EXTRA_HINT}",
                name=what,
            )
        import tempfile

        from pyspark.sql import SparkSession  # heavy (and starts a JVM on getOrCreate): only on first use

        warehouse = tempfile.mkdtemp(prefix="jupyter-taskvalues-spark-")
        try:
            _session = (
                SparkSession.builder.master("local[*]")
                .appName("jupyter-taskvalues")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.warehouse.dir", warehouse)
                .getOrCreate()
            )
        except Exception as e:  # pyspark raises its own errors (and RuntimeError) when Java is missing
            raise SparkUnavailableError(
                f"{what} needs a local SparkSession, which could not start: {type(e).__name__}: {e}. "
                "Is Java 17 or later installed (java -version)?",
                name=what,
            ) from e
        return _session


class _LazySession:
    """Stands for ``spark`` (or ``sc``, ``sqlContext``) until first used; then forwards to the real object."""

    def __init__(self, name: str, attribute: str | None = None) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_attribute", attribute)

    def _target(self) -> Any:
        session = get_spark(self._name)
        return session if self._attribute is None else getattr(session, self._attribute)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # copy, pickle and IPython probe dunders: do not start Spark for them
        return getattr(self._target(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target(), name, value)

    def __repr__(self) -> str:
        if _session is not None:
            return repr(self._target())
        return f"<{self._name}: a local SparkSession, created on first use (jupyter-taskvalues)>"


def _sql(sqlQuery: str, *args: Any, **kwargs: Any) -> Any:
    """``sql(query)``: run ``query`` through the local SparkSession and return its DataFrame."""
    return get_spark("sql").sql(sqlQuery, *args, **kwargs)


def _table(tableName: str) -> Any:
    """``table(name)``: the table ``name`` of the local SparkSession, as a DataFrame."""
    return get_spark("table").table(tableName)


def _udf(*args: Any, **kwargs: Any) -> Any:
    """``udf(f, returnType)``: ``pyspark.sql.functions.udf``, once the local SparkSession exists."""
    get_spark("udf")
    from pyspark.sql.functions import udf

    return udf(*args, **kwargs)


def lazy_runtime() -> dict[str, Any]:
    """Return ``spark``, ``sc``, ``sqlContext``, ``sql``, ``table`` and ``udf``; nothing starts yet."""
    return {
        "spark": _LazySession("spark"),
        "sc": _LazySession("sc", "sparkContext"),
        "sqlContext": _LazySession("sqlContext"),
        "sql": _sql,
        "table": _table,
        "udf": _udf,
    }


def split_statements(query: str) -> list[str]:
    """Split the text of a ``%sql`` cell into statements at ``;`` outside quotes and ``--`` comments."""
    statements: list[str] = []
    current: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(query):
        char = query[index]
        if quote is not None:
            current.append(char)
            if char == quote:
                quote = None
        elif char in ("'", '"', "`"):
            quote = char
            current.append(char)
        elif char == "-" and query.startswith("--", index):
            end = query.find("\n", index)
            index = len(query) if end == -1 else end
            continue
        elif char == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    statements.append("".join(current))
    return [statement.strip() for statement in statements if statement.strip()]


def sql_cell(query: str, where: str) -> Any:
    """Run the statements of a ``%sql`` cell; show the last result as a table and return its DataFrame.

    Parameters
    ----------
    query
        The cell's SQL, without the ``%sql`` line.
    where
        The cell, as the message of an error names it (``cell 3 of notebook 'etl.py'``).

    Raises
    ------
    SparkUnavailableError
        There is no local Spark; the message names the cell and the fix.
    """
    if not spark_installed():
        raise SparkUnavailableError(
            f"The %sql cell ({where}) needs a local SparkSession, but pyspark is not installed in this "
            f"kernel's environment. {_EXTRA_HINT} Or rewrite the cell in Python.",
            cell=where,
        )
    session = get_spark("%sql")
    result = None
    for statement in split_statements(query):
        result = session.sql(statement)
    if result is not None:
        from .display import display

        display(result)
    return result
