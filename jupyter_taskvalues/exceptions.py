"""Errors raised by jupyter-taskvalues.

Every error derives from :class:`TaskValuesError`. Where Databricks raises a builtin type, ours inherits it too,
so code written for Databricks (``except ValueError:``) keeps working::

    TaskValuesError
    ├── InvalidKeyError (ValueError)             a task value key breaks a key rule
    ├── InvalidValueError (ValueError)           a value is not JSON or is over 48 KiB
    │   └── ValueTooLargeError
    ├── ValueLimitError (ValueError)             the run already holds its maximum number of values
    ├── TaskNotFoundError (ValueError)           the task is not part of this job run
    ├── ValueNotFoundError (ValueError)          the task has no value under that key
    ├── RunNotFoundError (LookupError)           no run with that id in the runs directory
    ├── InvalidRunIdError (ValueError)           a run id that could escape the runs directory
    ├── StoreError (OSError)                     the runs directory cannot be read or written
    ├── ReferenceResolutionError (ValueError)    a ``{{...}}`` reference is unknown or missing
    ├── JobSpecError (ValueError)                a job definition is invalid; lists every problem
    ├── NotebookFormatError (ValueError)         a task's notebook cannot be read or has an unsupported cell
    ├── ParameterTypeError (ValueError)          a parameter does not convert to its default's type
    └── WidgetNotFoundError (ValueError)         ``dbutils.widgets.get`` of an undefined widget

Errors carry the fields a caller needs (``task_key``, ``key``, ``run_id``...) and survive pickling, so they can
cross process boundaries (Dask workers, multiprocessing) unchanged.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "InvalidKeyError",
    "InvalidRunIdError",
    "InvalidValueError",
    "JobSpecError",
    "NotebookFormatError",
    "ParameterTypeError",
    "ReferenceResolutionError",
    "RunNotFoundError",
    "StoreError",
    "TaskNotFoundError",
    "TaskValuesError",
    "ValueLimitError",
    "ValueNotFoundError",
    "ValueTooLargeError",
    "WidgetNotFoundError",
]


class TaskValuesError(Exception):
    """Root of every error raised by jupyter-taskvalues.

    Keyword fields given to the constructor become attributes and are kept when the error is pickled.
    """

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields
        for name, value in fields.items():
            setattr(self, name, value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.fields))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[TaskValuesError], message: str, fields: dict[str, Any]) -> TaskValuesError:
    return cls(message, **fields)


class InvalidKeyError(TaskValuesError, ValueError):
    """A task value key (or a task key) breaks a key rule."""


class InvalidValueError(TaskValuesError, ValueError):
    """A task value cannot be stored: it is not representable as JSON."""


class ValueTooLargeError(InvalidValueError):
    """A task value's JSON encoding is over the size limit."""


class ValueLimitError(TaskValuesError, ValueError):
    """The run already holds the maximum number of task values."""


class TaskNotFoundError(TaskValuesError, ValueError):
    """The task is not part of this job run (Databricks raises ``ValueError`` here)."""


class ValueNotFoundError(TaskValuesError, ValueError):
    """The task set no value under that key and no default was given."""


class RunNotFoundError(TaskValuesError, LookupError):
    """No run with that id exists in the runs directory."""


class InvalidRunIdError(TaskValuesError, ValueError):
    """A run id is malformed (it could name a path outside the runs directory)."""


class StoreError(TaskValuesError, OSError):
    """The run store could not be read or written."""


class ReferenceResolutionError(TaskValuesError, ValueError):
    """A ``{{...}}`` dynamic value reference is unknown or its value is missing."""


class JobSpecError(TaskValuesError, ValueError):
    """A job definition is invalid. ``problems`` lists every problem found, each with its location.

    ``warnings`` lists what the loader ignored (unknown fields) in a job that also has problems: a field
    ignored may be why another is missing.
    """

    problems: list[str]
    warnings: list[str]

    def __init__(self, message: str, **fields: Any) -> None:
        fields.setdefault("problems", [])
        fields.setdefault("warnings", [])
        super().__init__(message, **fields)


class NotebookFormatError(TaskValuesError, ValueError):
    """A task's notebook cannot be read, or holds a cell this runner cannot execute."""


class ParameterTypeError(TaskValuesError, ValueError):
    """A job parameter's string does not convert to the type of the default in the notebook's parameters cell.

    Fields: ``parameter`` (the name), ``value`` (the string passed) and ``expected`` (the type's name).
    """


class WidgetNotFoundError(TaskValuesError, ValueError):
    """``dbutils.widgets.get`` named a widget that is not defined."""
