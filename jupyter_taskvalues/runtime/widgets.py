"""``dbutils.widgets``: notebook parameters. A value passed by the job beats the widget's default.

Which job parameters this process sees is read on every call (:func:`.session.active_context`), as for task
values. This module imports the core only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..exceptions import WidgetNotFoundError
from ._help import REPR as _REPR
from ._help import print_help as _print_help
from .session import active_context

if TYPE_CHECKING:
    from ..context import TaskContext

__all__ = ["WidgetsUtils"]


def _parameters_context() -> TaskContext | None:
    return active_context()[0]


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
        context = _parameters_context()
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
