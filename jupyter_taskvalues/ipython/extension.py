"""The IPython extension's entry points: what ``%load_ext jupyter_taskvalues`` runs, and nothing more.

Loading registers the ``%taskvalue`` line magic, puts :data:`jupyter_taskvalues.dbutils` in the user namespace
unless the user already has a ``dbutils``, and makes ``dbutils.notebook.exit(value)`` print
``Notebook exited: <value>`` instead of a traceback. Loading it twice is harmless.

``%load_ext`` is cheap (a few milliseconds in a fresh kernel) because it imports only ``dbutils`` and this
module: ``%taskvalue`` is registered as a placeholder that imports :mod:`jupyter_taskvalues.ipython.magics` (its
parsers, the value table, ``%taskvalue?``'s manual) the first time it is used or asked about, then hands over
to it for good.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..runtime.dbutils import NotebookExit, dbutils

if TYPE_CHECKING:
    from types import TracebackType

    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["load_ipython_extension", "unload_ipython_extension"]


class _TaskValuePlaceholder:
    """Set, get and list task values of a job run, or of the interactive session."""

    # As TaskValueMagics.taskvalue (no_var_expand): EXPR is Python, `{1, 2}` is a set, not interpolation.
    _ipython_magic_no_var_expand = True

    def __init__(self, shell: InteractiveShell) -> None:
        self.shell = shell

    def __call__(self, line: str) -> Any:
        from .magics import TaskValueMagics  # the first %taskvalue pays for the parsers, not %load_ext

        magic = TaskValueMagics(self.shell).taskvalue
        manager = self.shell.magics_manager
        if manager.magics["line"].get("taskvalue") is self:
            manager.register_function(magic, "line", "taskvalue")
        return magic(line)

    def getdoc(self) -> str:
        """Return the manual, which ``%taskvalue?`` prints (IPython asks an object's ``getdoc`` first)."""
        from .magics import TaskValueMagics

        return TaskValueMagics.taskvalue.__doc__ or ""


def _show_notebook_exit(
    shell: InteractiveShell,
    etype: type[BaseException],
    value: BaseException,
    tb: TracebackType | None,
    tb_offset: int | None = None,
) -> list[str]:
    """Print the exit value of ``dbutils.notebook.exit`` instead of a traceback."""
    print(f"Notebook exited: {value}")
    return []


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register ``%taskvalue``, put ``dbutils`` in the user namespace (unless taken), handle NotebookExit."""
    ipython.magics_manager.register_function(_TaskValuePlaceholder(ipython), "line", "taskvalue")
    if "dbutils" not in ipython.user_ns:
        ipython.push({"dbutils": dbutils}, interactive=False)  # type: ignore[no-untyped-call]
    if ipython.custom_exceptions in ((), (NotebookExit,)):
        # Another extension's handler is kept: notebook.exit then shows a traceback, but still ends the cell.
        ipython.set_custom_exc((NotebookExit,), _show_notebook_exit)  # type: ignore[no-untyped-call]


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """Undo :func:`load_ipython_extension`: remove ``%taskvalue``, our ``dbutils`` and the exit handler."""
    manager = ipython.magics_manager
    magic = manager.magics["line"].pop("taskvalue", None)
    if magic is not None and getattr(manager.user_magics, "taskvalue", None) == magic:
        delattr(manager.user_magics, "taskvalue")  # register_function put it there too
    if ipython.user_ns.get("dbutils") is dbutils:
        del ipython.user_ns["dbutils"]
        ipython.user_ns_hidden.pop("dbutils", None)
    if ipython.custom_exceptions == (NotebookExit,):
        ipython.set_custom_exc((), None)  # type: ignore[no-untyped-call]
