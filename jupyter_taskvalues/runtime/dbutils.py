"""A Databricks-compatible ``dbutils``: ``jobs.taskValues``, ``widgets``, ``notebook``, ``secrets`` and ``fs``.

Notebooks written for Databricks run unchanged: the IPython extension puts :data:`dbutils` in the namespace,
and ``from jupyter_taskvalues import dbutils`` gives the same object to scripts. Databricks' camelCase names
(``taskKey``, ``defaultValue``, ``debugValue``) are kept here, at the boundary, and nowhere else.

Which run and task this process is, is read on every call (:func:`jupyter_taskvalues.runtime.session.active_context`),
because a warm kernel learns its task after it started. Outside a job run, ``get`` returns ``debugValue`` and
``set`` validates the value and keeps it in the interactive session (:func:`session_values`).

This module imports the core only, never IPython or ipywidgets, so that scripts and task processes stay light.
``dbutils.widgets`` is :mod:`.widgets`; ``dbutils.secrets`` (:mod:`.secrets`), ``dbutils.fs`` (:mod:`.fs`) and
``dbutils.notebook.run`` (:mod:`.notebook_run`) live in modules of their own, imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..exceptions import StoreError, ValueNotFoundError
from ._help import REPR as _REPR
from ._help import print_help as _print_help
from .session import active_context, session_values, set_session_value
from .widgets import WidgetsUtils

if TYPE_CHECKING:
    from ..context import TaskContext
    from ..store import RunStore
    from .fs import FsUtils
    from .secrets import SecretsUtils

__all__ = ["DBUtils", "NotebookExit", "dbutils", "session_values"]

_DEBUG_VALUE_MESSAGE = (
    "Must pass debugValue when calling get outside of a job context. debugValue cannot be None."
)


def _context() -> TaskContext | None:
    return active_context()[0]


_stores: dict[str, RunStore] = {}


def _store(runs_dir: str) -> RunStore:
    """Return the store of ``runs_dir``, made once per process (the store module is imported only here)."""
    store = _stores.get(runs_dir)
    if store is None:
        from ..store import open_store

        store = _stores[runs_dir] = open_store(runs_dir)
    return store


_valid_keys: set[str] = set()  # keys that passed check_key: a key's validity never changes


def _check_new_key(key: object, what: str) -> None:
    from ..values import check_key  # here, once per new key: %load_ext does not import the value rules

    check_key(key, what=what)
    if type(key) is str and len(_valid_keys) < 4096:
        _valid_keys.add(key)


class NotebookExit(BaseException):
    """Raised by ``dbutils.notebook.exit(value)`` to end the notebook successfully at that point.

    It derives from :class:`BaseException` so that a notebook's ``except Exception:`` does not swallow it. The
    job runner treats an error named ``NotebookExit`` as the successful end of the task, with :attr:`value` as
    the task's exit value; the IPython extension prints ``Notebook exited: <value>`` instead of a traceback.
    """

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return self.value


# -- dbutils.jobs.taskValues ---------------------------------------------------------------------------------


class TaskValuesUtils:
    """``dbutils.jobs.taskValues``: values that one task of a job run hands to the tasks downstream."""

    def set(self, key: str, value: Any) -> None:
        """Set the task value ``key`` of the current task to ``value``; setting a key again overwrites it.

        Parameters
        ----------
        key
            A non-empty string of at most 256 bytes without control characters, ``/`` or ``\\``.
        value
            Anything representable as JSON (tuples become lists), at most 49,152 bytes encoded.

        Returns
        -------
        None
            Unlike Databricks, which returns ``True``; nothing useful is returned.

        Raises
        ------
        InvalidKeyError, InvalidValueError, ValueTooLargeError, ValueLimitError
            All ``ValueError``; nothing is stored. Outside a job run the value is validated all the same and
            kept in the interactive session.
        StoreError
            The runs directory cannot be written (a full disk): names the key and the cause; this value is
            not stored, values set before it are kept.
        """
        context, attached = active_context()
        if context is None or attached:
            set_session_value(key, value)
            return
        try:
            _store(context.runs_dir).set_value(
                context.run_id,
                context.task_key,
                key,
                value,
                iteration=context.iteration,
                attempt=context.attempt,
                max_values=context.max_values,
            )
        except StoreError as e:  # a full disk, a read-only mount: name the value lost, and that no other was
            raise StoreError(
                f"Task value {key!r} of task {context.task_key!r} was not stored: {e} Values set before it are "
                f"kept. Free space in (or fix) the runs directory {context.runs_dir}, then run the cell again.",
                run_id=context.run_id,
                task_key=context.task_key,
                key=key,
            ) from e

    def get(self, taskKey: str, key: str, default: Any = None, debugValue: Any = None) -> Any:
        """Return the latest value ``key`` that task ``taskKey`` set in this job run (a fresh copy).

        Parameters
        ----------
        taskKey
            The task that set the value; it must be part of this job.
        key
            The value's key.
        default
            Returned when the task set no value ``key`` (or has not run). ``None`` counts as not given.
        debugValue
            Returned outside a job run, where ``default`` is ignored. Falsy values (``0``, ``""``) are valid.

        Raises
        ------
        TaskNotFoundError
            (a ``ValueError``) ``taskKey`` is not a task of this job.
        ValueNotFoundError
            (a ``ValueError``) the task set no value ``key`` and ``default`` is ``None``.
        TypeError
            Outside a job run, when ``debugValue`` is ``None``.
        """
        context = _context()
        if context is None:
            if debugValue is None:
                raise TypeError(_DEBUG_VALUE_MESSAGE)
            return debugValue
        if type(taskKey) is not str or taskKey not in _valid_keys:
            _check_new_key(taskKey, "Task key")
        if type(key) is not str or key not in _valid_keys:
            _check_new_key(key, "Task value key")
        try:
            return _store(context.runs_dir).get_value(context.run_id, taskKey, key)
        except ValueNotFoundError:
            if default is None:
                raise
            return default

    def help(self, method: str | None = None) -> None:
        """Print what ``dbutils.jobs.taskValues`` offers, or the documentation of one ``method``."""
        _print_help(_TASK_VALUES_HELP, self, method)

    def __repr__(self) -> str:
        return _REPR.format(name="dbutils.jobs.taskValues")


class JobsUtils:
    """``dbutils.jobs``: utilities for job runs."""

    def __init__(self) -> None:
        self.taskValues = TaskValuesUtils()

    def help(self, method: str | None = None) -> None:
        """Print what ``dbutils.jobs`` offers."""
        _print_help(_JOBS_HELP, self, method)

    def __repr__(self) -> str:
        return _REPR.format(name="dbutils.jobs")


# -- dbutils.notebook ----------------------------------------------------------------------------------------


class NotebookUtils:
    """``dbutils.notebook``: end the notebook with a result."""

    def exit(self, value: Any) -> None:
        """End the notebook successfully here; ``value`` (made a string) is the task's exit value.

        Raises
        ------
        NotebookExit
            Always: that is how the notebook ends. A ``BaseException``: ``except Exception`` lets it pass.
        """
        raise NotebookExit(value if isinstance(value, str) else str(value))

    def run(self, path: str, timeout_seconds: float = 0, arguments: Any = None) -> str | None:
        """Run the notebook ``path`` in a fresh kernel with ``arguments`` as widgets; return its exit value.

        See :mod:`jupyter_taskvalues.runtime.notebook_run`: raises ``WorkflowException`` when the child is
        missing (naming the files tried) or fails, ``NotebookRunTimeoutError`` past ``timeout_seconds``.
        """
        from .notebook_run import run_notebook  # lazy: nbclient and nbformat are slow to import

        return run_notebook(path, timeout_seconds, arguments)

    def help(self, method: str | None = None) -> None:
        """Print what ``dbutils.notebook`` offers."""
        _print_help(_NOTEBOOK_HELP, self, method)

    def __repr__(self) -> str:
        return _REPR.format(name="dbutils.notebook")


# -- dbutils -------------------------------------------------------------------------------------------------

_UNSUPPORTED = ("library", "credentials", "data", "preview", "meta", "api")


class DBUtils:
    """The ``dbutils`` object: ``jobs.taskValues``, ``widgets``, ``notebook``, ``secrets`` and ``fs``."""

    def __init__(self) -> None:
        self.jobs = JobsUtils()
        self.widgets = WidgetsUtils()
        self.notebook = NotebookUtils()
        self._secrets: SecretsUtils | None = None
        self._fs: FsUtils | None = None

    @property
    def secrets(self) -> SecretsUtils:
        """``dbutils.secrets``: secrets from environment variables or a 0600 file (:mod:`.secrets`)."""
        if self._secrets is None:
            from .secrets import SecretsUtils

            self._secrets = SecretsUtils()
        return self._secrets

    @property
    def fs(self) -> FsUtils:
        """``dbutils.fs``: files under the local DBFS root and the configured roots (:mod:`.fs`)."""
        if self._fs is None:
            from .fs import FsUtils

            self._fs = FsUtils()
        return self._fs

    def help(self, method: str | None = None) -> None:
        """Print the utilities ``dbutils`` offers."""
        _print_help(_DBUTILS_HELP, self, method)

    def __getattr__(self, name: str) -> Any:
        if name in _UNSUPPORTED:
            raise AttributeError(
                f"dbutils.{name} is not available in jupyter-taskvalues, which provides "
                "dbutils.jobs.taskValues, dbutils.widgets, dbutils.notebook, dbutils.secrets and dbutils.fs. "
                "Run this notebook on Databricks for the rest."
            )
        raise AttributeError(f"'DBUtils' object has no attribute {name!r}")

    def __repr__(self) -> str:
        return _REPR.format(name="dbutils")


_DBUTILS_HELP = """\
This module provides utilities for notebooks that run as tasks of a job (jupyter-taskvalues, compatible with
Databricks' dbutils).

fs: FsUtils -> Files under a local DBFS root (dbfs:/, /Volumes/...) and configured folders or URLs
jobs: JobsUtils -> Utilities for job runs
notebook: NotebookUtils -> Utilities for the control flow of a notebook
secrets: SecretsUtils -> Secrets from environment variables or a 0600 secrets file
widgets: WidgetsUtils -> Methods to create and get the values of notebook parameters

Type dbutils.fs.help(), dbutils.jobs.help(), dbutils.notebook.help(), dbutils.secrets.help() or
dbutils.widgets.help() for more. dbutils.library and dbutils.credentials exist on Databricks only."""

_JOBS_HELP = """\
Provides utilities for leveraging job features.

taskValues: TaskValuesUtils -> Provides utilities for leveraging job task values

Type dbutils.jobs.taskValues.help() for more."""

_TASK_VALUES_HELP = """\
Provides utilities for leveraging job task values: a task sets a value, the tasks that depend on it read it.

get(taskKey: str, key: str, default: Any = None, debugValue: Any = None) -> Any
    Returns the latest value that task taskKey set under key in the current job run.
    - taskKey not a task of the job: ValueError.
    - the task set no such key (or has not run): returns default, or ValueError when default is None.
    - outside a job run: returns debugValue (0, "" and False are fine); TypeError when it is None.
set(key: str, value: Any) -> None
    Sets a task value on the current task run; setting a key again overwrites it.
    The value must be representable as JSON (no NaN, no sets, string dict keys) and at most 49,152 bytes
    (48 KiB) as JSON; a run holds at most 250 values. Keys are non-empty, at most 256 bytes, without control
    characters, '/' or '\\'. Outside a job run the value is still checked and kept in the interactive session
    (see %taskvalue list).

Example:
    dbutils.jobs.taskValues.set(key="row_count", value=1204)
    rows = dbutils.jobs.taskValues.get(taskKey="ingest", key="row_count", default=0, debugValue=42)"""

_NOTEBOOK_HELP = """\
Provides utilities for the control flow of a notebook.

exit(value: str) -> None
    Ends the notebook here, successfully; value (a string) is the task's result and shows in its output.
    It raises NotebookExit, a BaseException, so `except Exception:` does not stop it.
run(path: str, timeout_seconds: int, arguments: dict) -> str
    Runs the notebook path (relative to this one) in a fresh kernel, with arguments as widgets, and returns
    the value it passed to exit. Raises WorkflowException if it fails, NotebookRunTimeoutError past
    timeout_seconds (0: no limit)."""


#: The ``dbutils`` object that the IPython extension puts in the notebook's namespace.
dbutils = DBUtils()
