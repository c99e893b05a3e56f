"""A Databricks-compatible ``dbutils``: ``jobs.taskValues``, ``widgets``, ``notebook``, ``secrets`` and ``fs``.

Notebooks written for Databricks run unchanged: the IPython extension puts :data:`dbutils` in the namespace,
and ``from jupyter_taskvalues import dbutils`` gives the same object to scripts. Databricks' camelCase names
(``taskKey``, ``defaultValue``, ``debugValue``) are kept here, at the boundary, and nowhere else.

Which run and task this process is, is read on every call (:func:`jupyter_taskvalues.runtime.session.active_context`),
because a warm kernel learns its task after it started. Outside a job run, ``get`` returns ``debugValue`` and
``set`` validates the value and keeps it in the interactive session (:func:`session_values`).

This module imports the core only, never IPython or ipywidgets, so that scripts and task processes stay light.
``dbutils.secrets`` (:mod:`.secrets`), ``dbutils.fs`` (:mod:`.fs`) and ``dbutils.notebook.run``
(:mod:`.notebook_run`) live in modules of their own, imported when first used.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..exceptions import ValueNotFoundError, WidgetNotFoundError
from .session import active_context, session_values, set_session_value

if TYPE_CHECKING:
    from ..context import TaskContext
    from ..store._local import RunStore
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
        from ..store._local import RunStore

        store = _stores[runs_dir] = RunStore(runs_dir)
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
        """
        context, attached = active_context()
        if context is None or attached:
            set_session_value(key, value)
            return
        _store(context.runs_dir).set_value(
            context.run_id,
            context.task_key,
            key,
            value,
            iteration=context.iteration,
            attempt=context.attempt,
            max_values=context.max_values,
        )

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


# -- dbutils.widgets -----------------------------------------------------------------------------------------


class _Widget:
    """One defined widget. A plain class: a dataclass would cost a millisecond at import time."""

    __slots__ = ("choices", "default", "kind", "label", "value")

    def __init__(
        self, kind: str, value: str, default: str, choices: tuple[str, ...], label: str | None
    ) -> None:
        self.kind = kind
        self.value = value
        self.default = default
        self.choices = choices
        self.label = label


class WidgetsUtils:
    """``dbutils.widgets``: notebook parameters. A value passed by the job beats the widget's default."""

    def __init__(self) -> None:
        self._widgets: dict[str, _Widget] = {}
        self._noticed = False

    def text(self, name: str, defaultValue: str, label: str | None = None) -> None:
        """Define a text widget ``name`` whose value is ``defaultValue`` unless the job passes ``name``."""
        self._define("text", name, defaultValue, None, label)

    def dropdown(
        self,
        name: str,
        defaultValue: str,
        choices: Iterable[str],
        label: str | None = None,
    ) -> None:
        """Define a dropdown widget; ``defaultValue`` must be one of ``choices``."""
        self._define("dropdown", name, defaultValue, choices, label)

    def combobox(
        self,
        name: str,
        defaultValue: str,
        choices: Iterable[str],
        label: str | None = None,
    ) -> None:
        """Define a combobox widget: free text, with ``choices`` as suggestions."""
        self._define("combobox", name, defaultValue, choices, label)

    def multiselect(
        self,
        name: str,
        defaultValue: str,
        choices: Iterable[str],
        label: str | None = None,
    ) -> None:
        """Define a multiselect widget; its value is the selected choices joined with commas."""
        self._define("multiselect", name, defaultValue, choices, label)

    def get(self, name: str) -> str:
        """Return the value of widget ``name``: the job's parameter of that name if it passed one.

        Raises
        ------
        WidgetNotFoundError
            (a ``ValueError``) no widget ``name`` is defined and the job passed no parameter ``name``.
        """
        parameters = self._parameters()
        if name in parameters:
            return parameters[name]
        widget = self._widgets.get(name)
        if widget is None:
            raise self._not_found(name, parameters)
        return widget.value

    def getArgument(self, name: str, defaultValue: str | None = None) -> str | None:
        """Deprecated: like :meth:`get`, but return ``defaultValue`` rather than raise for an unknown name."""
        if not self._noticed:
            self._noticed = True
            # A notice, not warnings.warn: a user's filterwarnings("error") must not turn it into a failure.
            print(
                "Notice: dbutils.widgets.getArgument is deprecated; use dbutils.widgets.get instead.",
                file=sys.stderr,
            )
        try:
            return self.get(name)
        except WidgetNotFoundError:
            return defaultValue

    def getAll(self) -> dict[str, str]:
        """Return every widget's value and every parameter the job passed, by name."""
        values = {name: widget.value for name, widget in self._widgets.items()}
        values.update(self._parameters())
        return values

    def remove(self, name: str) -> None:
        """Remove widget ``name``; raise :class:`WidgetNotFoundError` if there is none."""
        if name not in self._widgets:
            raise self._not_found(name, {})
        del self._widgets[name]

    def removeAll(self) -> None:
        """Remove every widget (the job's parameters stay gettable)."""
        self._widgets.clear()

    def help(self, method: str | None = None) -> None:
        """Print what ``dbutils.widgets`` offers, or the documentation of one ``method``."""
        _print_help(_WIDGETS_HELP, self, method)

    def __repr__(self) -> str:
        return _REPR.format(name="dbutils.widgets")

    # -- internals

    def _parameters(self) -> dict[str, str]:
        context = _context()
        return dict(context.parameters) if context is not None else {}

    def _define(
        self, kind: str, name: str, default: Any, choices: Iterable[str] | None, label: str | None
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"A widget name must be a non-empty string, not {name!r}.")
        if default is None:
            raise TypeError(f"Widget {name!r} needs a defaultValue (a string); got None.")
        default = str(default)
        options: tuple[str, ...] = ()
        if choices is not None:
            if isinstance(choices, str):
                raise TypeError(f"The choices of widget {name!r} must be a list of strings, not one string.")
            options = tuple(str(choice) for choice in choices)
            if not options:
                raise ValueError(f"Widget {name!r} needs at least one choice.")
        if kind in ("dropdown", "multiselect"):
            selected = default.split(",") if kind == "multiselect" else [default]
            missing = [part for part in selected if part not in options]
            if missing:
                raise ValueError(
                    f"The default value {default!r} of widget {name!r} is not one of its choices "
                    f"{list(options)!r}. Add it to the choices or pick one of them."
                )
        existing = self._widgets.get(name)
        value = default
        if existing is not None and (kind not in ("dropdown", "multiselect") or existing.value in options):
            value = existing.value  # defining a widget again does not reset what it holds
        self._widgets[name] = _Widget(kind, value, default, options, label)

    def _not_found(self, name: str, parameters: dict[str, str]) -> WidgetNotFoundError:
        defined = sorted(set(self._widgets) | set(parameters))
        known = ", ".join(repr(n) for n in defined) if defined else "none"
        return WidgetNotFoundError(
            f"No input widget named {name!r} is defined, and the job passed no parameter {name!r}. "
            f"Defined: {known}. Define it first, e.g. dbutils.widgets.text({name!r}, 'default').",
            name=name,
        )


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


_REPR = "Package '{name}' (jupyter-taskvalues). For more information, type '{name}.help()' in a cell."


def _print_help(text: str, owner: object, method: str | None) -> None:
    if method is None:
        print(text)
        return
    target = getattr(owner, method, None)
    if target is None or method.startswith("_") or not callable(target):
        raise ValueError(f"{type(owner).__name__} has no method {method!r}.")
    print(f"{method}: {target.__doc__}")


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

_WIDGETS_HELP = """\
Provides methods to create notebook parameters (widgets) and get their values. Values are always strings; a
parameter passed by the job beats the widget's default, and is gettable even if no widget is defined.

combobox(name: str, defaultValue: str, choices: list, label: str = None) -> None
    Creates a combobox input widget: free text, with choices as suggestions
dropdown(name: str, defaultValue: str, choices: list, label: str = None) -> None
    Creates a dropdown input widget; defaultValue must be one of choices
get(name: str) -> str
    Retrieves the current value of an input widget (raises ValueError for an unknown name)
getAll() -> dict
    Retrieves a dict of all widget names and values, job parameters included
getArgument(name: str, defaultValue: str = None) -> str
    (Deprecated: use get.) Like get, but returns defaultValue for an unknown name
multiselect(name: str, defaultValue: str, choices: list, label: str = None) -> None
    Creates a multiselect input widget; its value is the selected choices joined by commas
remove(name: str) -> None
    Removes an input widget from the notebook
removeAll() -> None
    Removes all widgets in the notebook
text(name: str, defaultValue: str, label: str = None) -> None
    Creates a text input widget; defining it again does not reset its value"""

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
