"""The IPython extension's entry points: what ``%load_ext jupyter_taskvalues`` runs, and nothing more.

Loading registers the ``%taskvalue`` line magic, puts the Databricks runtime names (``dbutils``, ``display``,
``displayHTML``, ``spark``, ``sc``, ``sql``, ``table``, ``udf``, ``getArgument``, ``sqlContext``: see
:mod:`jupyter_taskvalues.runtime.namespace`) in the user namespace unless the user already bound them, installs
the runtime seam (:mod:`jupyter_taskvalues.runtime.seam`) so that ``from databricks.sdk.runtime import dbutils``,
``WorkspaceClient().dbutils`` and ``pyspark.dbutils.DBUtils(spark)`` give the same objects, redacts secret
values from the kernel's outputs (:mod:`jupyter_taskvalues.runtime.secrets`), and makes
``dbutils.notebook.exit(value)`` print ``Notebook exited: <value>`` instead of a traceback. Names that
``from databricks.sdk.runtime import *`` bound *before* ``%load_ext`` (a remote ``dbutils`` whose
``taskValues.set`` does nothing) are replaced by ours, with a notice. Loading it twice is harmless.

``%load_ext`` is cheap (a few milliseconds in a fresh kernel) because it imports only ``dbutils`` and this
module: ``%taskvalue`` is registered as a placeholder that imports :mod:`jupyter_taskvalues.ipython.magics` (its
parsers, the value table, ``%taskvalue?``'s manual) the first time it is used or asked about, then hands over
to it for good.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..runtime import seam
from ..runtime.dbutils import NotebookExit
from ..runtime.namespace import is_ours, runtime_namespace

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
    """Register ``%taskvalue``, bind the runtime names (unless taken), install the seam, handle NotebookExit."""
    ipython.magics_manager.register_function(_TaskValuePlaceholder(ipython), "line", "taskvalue")
    seam.install()
    foreign = seam.foreign_bindings(ipython.user_ns)
    if foreign:
        print(
            "jupyter-taskvalues: replaced "
            + ", ".join(f"{name} ({what})" for name, what in foreign.items())
            + " with the local runtime: a remote dbutils drops task values off Databricks.",
        )
    namespace = runtime_namespace()
    missing = {name: obj for name, obj in namespace.items() if name not in ipython.user_ns or name in foreign}
    if missing:
        ipython.push(missing, interactive=False)  # type: ignore[no-untyped-call]
    from ..runtime.secrets import install_redaction  # a few attribute checks; imports nothing heavy

    install_redaction(ipython)
    if ipython.custom_exceptions in ((), (NotebookExit,)):
        # Another extension's handler is kept: notebook.exit then shows a traceback, but still ends the cell.
        ipython.set_custom_exc((NotebookExit,), _show_notebook_exit)  # type: ignore[no-untyped-call]


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """Undo :func:`load_ipython_extension`: remove ``%taskvalue``, our runtime names, the seam, the exit handler."""
    manager = ipython.magics_manager
    magic = manager.magics["line"].pop("taskvalue", None)
    if magic is not None and getattr(manager.user_magics, "taskvalue", None) == magic:
        delattr(manager.user_magics, "taskvalue")  # register_function put it there too
    for name in runtime_namespace():
        if name in ipython.user_ns and is_ours(name, ipython.user_ns[name]):
            del ipython.user_ns[name]
            ipython.user_ns_hidden.pop(name, None)
    seam.uninstall()
    if ipython.custom_exceptions == (NotebookExit,):
        ipython.set_custom_exc((), None)  # type: ignore[no-untyped-call]
