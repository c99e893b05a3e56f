"""Which job run and task this process belongs to.

The executor tells a task's kernel who it is through environment variables that all start with
``JUPYTER_TASKVALUES_``. This module is the only one that reads the process environment::

    JUPYTER_TASKVALUES_RUNS_DIR     the runs directory, or an fsspec URL (also honoured outside a job run)
    JUPYTER_TASKVALUES_RUN_ID       the job run this process is a task of
    JUPYTER_TASKVALUES_TASK_KEY     the task it runs
    JUPYTER_TASKVALUES_ITERATION    the for-each iteration index, when it is one
    JUPYTER_TASKVALUES_ATTEMPT      1 on the first attempt, 2 on the first retry, ...
    JUPYTER_TASKVALUES_PARAMETERS   the task's resolved parameters, a JSON object of strings
    JUPYTER_TASKVALUES_MAX_VALUES   the most values the run may hold (default 250)
    JUPYTER_TASKVALUES_USER         the local identity bundles see as ``${workspace.current_user.userName}``
    JUPYTER_TASKVALUES_PYTHON_TIMEOUT  seconds a bundle's Python code may take in its venv (default 300)
    BUNDLE_VAR_<name>               a bundle variable's value, as the Databricks CLI reads it

With no ``RUN_ID`` and ``TASK_KEY`` the process is not in a job run. The runs directory travels as a string,
unchanged: a path for a local store, a URL (``s3://bucket/runs``) for one every machine of a cluster can reach.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

__all__ = [
    "ENV_PREFIX",
    "TaskContext",
    "bundle_variables_from_environment",
    "configured_user",
    "current_context",
    "default_runs_dir",
    "environment_for",
    "python_timeout",
]

ENV_PREFIX = "JUPYTER_TASKVALUES_"
RUNS_DIR_ENV = ENV_PREFIX + "RUNS_DIR"
_RUN_ID = ENV_PREFIX + "RUN_ID"
_TASK_KEY = ENV_PREFIX + "TASK_KEY"
_ITERATION = ENV_PREFIX + "ITERATION"
_ATTEMPT = ENV_PREFIX + "ATTEMPT"
_PARAMETERS = ENV_PREFIX + "PARAMETERS"
_MAX_VALUES = ENV_PREFIX + "MAX_VALUES"
PYTHON_TIMEOUT_ENV = ENV_PREFIX + "PYTHON_TIMEOUT"
#: Seconds a bundle's Python code may take in its venv when ``$JUPYTER_TASKVALUES_PYTHON_TIMEOUT`` is not set.
DEFAULT_PYTHON_TIMEOUT = 300.0


_FIELDS = ("run_id", "task_key", "runs_dir", "iteration", "attempt", "parameters", "max_values")


class TaskContext:
    """The task of a job run that this process executes. Immutable; compared field by field.

    A plain class rather than a frozen dataclass: creating a dataclass costs a millisecond at import time, and
    this module is imported by ``%load_ext jupyter_taskvalues``.
    """

    run_id: str
    task_key: str
    runs_dir: str
    iteration: int | None
    attempt: int
    parameters: Mapping[str, str]
    max_values: int | None

    def __init__(
        self,
        run_id: str,
        task_key: str,
        runs_dir: str,
        iteration: int | None = None,
        attempt: int = 1,
        parameters: Mapping[str, str] | None = None,
        max_values: int | None = None,
    ) -> None:
        values = self.__dict__
        values["run_id"] = run_id
        values["task_key"] = task_key
        values["runs_dir"] = runs_dir
        values["iteration"] = iteration
        values["attempt"] = attempt
        values["parameters"] = {} if parameters is None else parameters
        values["max_values"] = max_values

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a TaskContext is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a TaskContext is immutable")

    def _fields(self) -> tuple[object, ...]:
        return tuple(self.__dict__[name] for name in _FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, TaskContext)
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={self.__dict__[name]!r}" for name in _FIELDS)
        return f"{type(self).__name__}({shown})"

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), self._fields())


def default_runs_dir(environ: Mapping[str, str] | None = None) -> str:
    """Return the runs directory: ``$JUPYTER_TASKVALUES_RUNS_DIR``, else ``<jupyter data dir>/taskvalues/runs``.

    The Jupyter data directory is jupyter_core's (what ``jupyter --data-dir`` prints): ``$JUPYTER_DATA_DIR``,
    else, with ``JUPYTER_PLATFORM_DIRS=1``, platformdirs' user data directory, else ``$XDG_DATA_HOME/jupyter``
    or ``~/.local/share/jupyter`` on Linux, ``~/Library/Jupyter`` on macOS and ``%APPDATA%\\jupyter`` on
    Windows. The CLI's ``--runs-dir``, the kernel, the widget and the server extension's
    ``TaskValuesExtension.runs_dir`` all start from this one default. With ``environ``, the two variables above
    are read from it; the platform rules (``JUPYTER_PLATFORM_DIRS``, ``XDG_DATA_HOME``) from the process.
    """
    env = os.environ if environ is None else environ
    explicit = env.get(RUNS_DIR_ENV)
    if explicit:
        return explicit
    data_dir = env.get("JUPYTER_DATA_DIR")
    if not data_dir:
        # Lazy: jupyter_core.paths takes ~35 ms to import, and a task's kernel always has RUNS_DIR set.
        from jupyter_core.paths import jupyter_data_dir

        data_dir = jupyter_data_dir()
    return str(Path(data_dir) / "taskvalues" / "runs")


def bundle_variables_from_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the bundle variable values set as ``BUNDLE_VAR_<name>`` in the environment, by name."""
    env = os.environ if environ is None else environ
    prefix = "BUNDLE_VAR_"
    return {k[len(prefix) :]: v for k, v in env.items() if k.startswith(prefix) and len(k) > len(prefix)}


def configured_user(environ: Mapping[str, str] | None = None) -> str | None:
    """Return ``$JUPYTER_TASKVALUES_USER`` (the user name a bundle sees), or ``None`` when it is not set."""
    env = os.environ if environ is None else environ
    return env.get(ENV_PREFIX + "USER") or None


def python_timeout(environ: Mapping[str, str] | None = None) -> float:
    """Return the seconds one phase of a bundle's Python code may take in the bundle's venv.

    ``$JUPYTER_TASKVALUES_PYTHON_TIMEOUT``, else :data:`DEFAULT_PYTHON_TIMEOUT` (300).

    Raises
    ------
    ValueError
        The variable is set to something other than a number of seconds greater than 0 (the message names it).
    """
    env = os.environ if environ is None else environ
    raw = env.get(PYTHON_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_PYTHON_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(
            f"{PYTHON_TIMEOUT_ENV} is {raw!r}; it must be a number of seconds greater than 0, e.g. "
            f"{DEFAULT_PYTHON_TIMEOUT:g}. Set it so, or unset it for the default."
        )
    return seconds


# What the task context is read from: when none of these changed, the parsed context is reused.
_ENV_NAMES = (
    _RUN_ID,
    _TASK_KEY,
    RUNS_DIR_ENV,
    _ITERATION,
    _ATTEMPT,
    _PARAMETERS,
    _MAX_VALUES,
    "JUPYTER_DATA_DIR",
    "JUPYTER_PLATFORM_DIRS",
    "XDG_DATA_HOME",
    "APPDATA",
    "HOME",
)
_encodekey = getattr(os.environ, "encodekey", None)
# os.environ keeps the encoded variables in a dict: looking them up there costs nanoseconds, not a microsecond.
_RAW_KEYS = tuple(_encodekey(name) for name in _ENV_NAMES) if callable(_encodekey) else None
_cache: tuple[tuple[object, ...], TaskContext | None] | None = None


def current_context(environ: Mapping[str, str] | None = None) -> TaskContext | None:
    """Return this process's task context, or ``None`` when it is not in a job run.

    The process environment's context is parsed once, and again whenever one of the variables it comes from
    changes (a warm kernel learns its task after it started).
    """
    global _cache
    if environ is not None:
        return _parse(environ)
    env = os.environ
    data = getattr(env, "_data", None)
    raw: tuple[object, ...] = (
        tuple(map(data.get, _RAW_KEYS))
        if _RAW_KEYS is not None and isinstance(data, dict)
        else tuple(map(env.get, _ENV_NAMES))
    )
    cached = _cache
    if cached is not None and cached[0] == raw:
        return cached[1]
    context = _parse(env)
    _cache = (raw, context)
    return context


def _parse(env: Mapping[str, str]) -> TaskContext | None:
    run_id = env.get(_RUN_ID)
    task_key = env.get(_TASK_KEY)
    if not run_id or not task_key:
        return None
    iteration = env.get(_ITERATION)
    raw_parameters = env.get(_PARAMETERS)
    parameters: dict[str, str] = {}
    if raw_parameters:
        loaded = json.loads(raw_parameters)
        if isinstance(loaded, dict):
            parameters = {str(k): str(v) for k, v in loaded.items()}
    max_values = env.get(_MAX_VALUES)
    return TaskContext(
        run_id=run_id,
        task_key=task_key,
        runs_dir=default_runs_dir(env),
        iteration=int(iteration) if iteration not in (None, "") else None,
        attempt=int(env.get(_ATTEMPT) or 1),
        parameters=parameters,
        max_values=int(max_values) if max_values else None,
    )


def environment_for(context: TaskContext) -> dict[str, str]:
    """Return the environment variables that make a process a task of ``context``."""
    env = {
        RUNS_DIR_ENV: context.runs_dir,
        _RUN_ID: context.run_id,
        _TASK_KEY: context.task_key,
        _ATTEMPT: str(context.attempt),
        _PARAMETERS: json.dumps(dict(context.parameters)),
    }
    if context.iteration is not None:
        env[_ITERATION] = str(context.iteration)
    if context.max_values is not None:
        env[_MAX_VALUES] = str(context.max_values)
    return env


def install(context: TaskContext | None, environ: MutableMapping[str, str] | None = None) -> None:
    """Make this process a task of ``context`` (or no task, with ``None``) by setting its environment.

    A kernel started ahead of its task (a warm kernel) learns its task this way, and so do the processes it
    starts afterwards (``%sh`` cells, subprocesses).
    """
    env = os.environ if environ is None else environ
    for name in (_RUN_ID, _TASK_KEY, _ITERATION, _ATTEMPT, _PARAMETERS, _MAX_VALUES):
        env.pop(name, None)
    if context is not None:
        env.update(environment_for(context))
