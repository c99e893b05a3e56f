"""The ``%taskvalue`` line magic: set, get and list task values from a notebook.

``%load_ext jupyter_taskvalues`` (:mod:`jupyter_taskvalues.ipython.extension`) registers a placeholder that imports this
module the first time ``%taskvalue`` is used or asked about (``%taskvalue?``); this module does not import the
extension back (no import cycle).

:class:`TaskValueMagics` is a plain class whose bound ``taskvalue`` method is registered as a function magic,
because an IPython ``Magics`` subclass costs a third of a millisecond to define (traitlets) and as much again to
instantiate. The run store, ``html``, the subcommands' argument parsers and the panel (ipywidgets) are imported
or built by the first subcommand that needs them.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import re
import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import no_var_expand
from IPython.display import display

from ..context import default_runs_dir
from ..exceptions import TaskValuesError
from ..runtime import session
from ..runtime.dbutils import dbutils

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from ..context import TaskContext
    from ..store import ValueRecord

# The store module is imported by the subcommands that read a run, not by ``%load_ext``.

__all__ = ["TaskValueMagics", "ValueTable"]

_SUBCOMMANDS = ("set", "get", "list", "context", "attach", "detach", "show")
# A pattern, compiled by re when `get` first parses options: a subcommand pays only for what it uses.
_OPTION_PATTERN = r"(?:^|\s+)--(default|debug)(?:\s*=\s*|\s+|$)"
_CELL_CHARS = 120


# -- the value table -----------------------------------------------------------------------------------------


class ValueTable:
    """Task values shown as a table: HTML in a notebook, aligned text in a terminal. Values are escaped."""

    def __init__(self, title: str, records: Sequence[ValueRecord]) -> None:
        self.title = title
        self.records = list(records)

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """Return one ``(task, key, value as JSON, size, time set)`` row per value."""
        rows = []
        for record in self.records:
            task = record.task_key if record.iteration is None else f"{record.task_key}[{record.iteration}]"
            text = json.dumps(record.value, ensure_ascii=False)
            if len(text) > _CELL_CHARS:
                text = text[: _CELL_CHARS - 1] + "…"
            rows.append((task, record.key, text, f"{record.size:,}", record.set_at))
        return rows

    def __repr__(self) -> str:
        header = ("task", "key", "value", "bytes", "set at")
        rows = self.rows()
        if not rows:
            return f"{self.title}: no values."
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = [self.title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
        lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html  # not at module level: html.entities is a large table that %load_ext does not need

        rows = self.rows()
        if not rows:
            return f"<p>{html.escape(self.title)}: no values.</p>"
        header = "".join(f"<th>{h}</th>" for h in ("task", "key", "value", "bytes", "set at"))
        body = "".join(
            "<tr>" + "".join(f"<td><code>{html.escape(cell)}</code></td>" for cell in row) + "</tr>"
            for row in rows
        )
        return (
            f'<table class="jupyter-taskvalues"><caption>{html.escape(self.title)}</caption>'
            f"<thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"
        )


# -- parsing -------------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An argument parser that reports mistakes as :class:`UsageError` instead of exiting."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog=prog, add_help=False, exit_on_error=False)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}. See %taskvalue? for the manual.")


def _take_token(text: str) -> tuple[str | None, str]:
    """Split the first shell-like token (quotes allowed) off ``text``; return it and the unparsed rest."""
    stream = io.StringIO(text)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        token = lexer.get_token()
    except ValueError as e:
        raise UsageError(f"%taskvalue: cannot parse {text.strip()!r}: {e}.") from e
    return token, stream.read()


def _split(text: str, prog: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as e:
        raise UsageError(f"{prog}: cannot parse {text.strip()!r}: {e}.") from e


# -- the magics ----------------------------------------------------------------------------------------------


class TaskValueMagics:
    """The ``%taskvalue`` line magic of one IPython shell (its ``taskvalue`` method is the magic)."""

    def __init__(self, shell: InteractiveShell) -> None:
        self.shell = shell

    @no_var_expand  # EXPR is Python: `{1, 2}` is a set, not IPython's {expression} interpolation
    def taskvalue(self, line: str) -> Any:
        """Set, get and list task values of a job run, or of the interactive session.

        In a job run, values go to the run store as ``dbutils.jobs.taskValues`` does; outside one, ``set``
        checks the value and keeps it in the interactive session, and ``get`` needs ``--debug``.

        Subcommands::

          %taskvalue set KEY EXPR                         set KEY to the value of the Python EXPR
          %taskvalue get TASK KEY [--default EXPR] [--debug EXPR]
                                                          return TASK's value KEY (x = %taskvalue get ...)
          %taskvalue list [TASK]                          show the run's values (or TASK's) as a table
          %taskvalue context                              show the run, task and runs directory
          %taskvalue attach RUN_ID TASK [--runs-dir DIR]  act as TASK of an earlier run (RUN_ID may be
                                                          'latest'): get reads that run; set stays here
          %taskvalue detach                               stop acting as a task of an earlier run
          %taskvalue show [RUN_ID]                        the live panel of this run (or of RUN_ID)

        KEY may be quoted ('my key'). EXPR is evaluated in the notebook's namespace. The value rules are those
        of dbutils.jobs.taskValues.set: JSON only (no NaN, no sets, string dict keys), at most 49,152 bytes as
        JSON, at most 250 values per run.

        Examples::

          In [1]: %load_ext jupyter_taskvalues

          In [2]: %taskvalue set row_count len(df)

          In [3]: %taskvalue set best {"model": "gbt", "auc": 0.91}

          In [4]: rows = %taskvalue get ingest row_count --default 0 --debug 1204

          In [5]: %taskvalue list
          Task values of run 20261129-044735-123-a1b2c3 (job 'income')
          task    key        value  bytes  set at
          ingest  row_count  1204   4      2026-11-29T04:47:36.120Z

          In [6]: %taskvalue context
          Run:         20261129-044735-123-a1b2c3 (job 'income')
          Task:        train (attempt 1)
          Runs dir:    /home/me/.local/share/jupyter/taskvalues/runs

          In [7]: %taskvalue attach latest train
          Attached to run 20261129-044735-123-a1b2c3 as task 'train': get reads that run's values; set keeps
          values in the interactive session, the run is never modified. %taskvalue detach undoes it.

          In [8]: %taskvalue detach
          Detached from run 20261129-044735-123-a1b2c3.

          In [9]: %taskvalue show

        Mistakes (an unknown task, a missing value, a value that is not JSON) are reported in one line.
        """
        command, rest = _take_token(line)
        if command is None:
            raise UsageError(
                f"%taskvalue needs a subcommand: one of {', '.join(_SUBCOMMANDS)}. "
                "See %taskvalue? for the manual."
            )
        handler = getattr(self, f"_{command}", None) if command in _SUBCOMMANDS else None
        if handler is None:
            raise UsageError(
                f"%taskvalue: unknown subcommand {command!r}; use one of {', '.join(_SUBCOMMANDS)}. "
                "See %taskvalue? for the manual."
            )
        try:
            return handler(rest)
        except TaskValuesError as e:
            raise UsageError(f"%taskvalue {command}: {e}") from e

    # -- subcommands

    def _set(self, rest: str) -> None:
        key, expression = _take_token(rest)
        if key is None or not expression.strip():
            raise UsageError(
                "%taskvalue set needs a KEY and a Python EXPR, e.g. %taskvalue set row_count len(df)."
            )
        value = self._evaluate(expression, f"the value of {key!r}")
        dbutils.jobs.taskValues.set(key, value)

    def _get(self, rest: str) -> Any:
        task, rest = _take_token(rest)
        key, rest = _take_token(rest) if task is not None else (None, "")
        if task is None or key is None:
            raise UsageError(
                "%taskvalue get needs a TASK and a KEY, e.g. %taskvalue get ingest row_count --default 0."
            )
        options = self._options(rest)
        default = self._evaluate(options["default"], "--default") if "default" in options else None
        debug = self._evaluate(options["debug"], "--debug") if "debug" in options else None
        try:
            return dbutils.jobs.taskValues.get(task, key, default=default, debugValue=debug)
        except TypeError as e:
            raise UsageError(
                f"%taskvalue get: not in a job run, so there is no value {key!r} of task {task!r} to read. "
                "Pass --debug EXPR for the value to use here, or %taskvalue attach RUN_ID TASK to read an "
                "earlier run."
            ) from e

    def _list(self, rest: str) -> None:
        parser = _Parser("%taskvalue list")
        parser.add_argument("task", nargs="?")
        args = parser.parse_args(_split(rest, parser.prog))
        context, attached = session.active_context()
        tables: list[ValueTable] = []
        if context is not None:
            tables.append(self._run_table(context, args.task, attached=attached))
        elif args.task is not None:
            raise UsageError(
                f"%taskvalue list {args.task}: not in a job run, so there are no task values of "
                f"{args.task!r}. Use %taskvalue list for the interactive session, or %taskvalue attach."
            )
        if context is None or attached:
            records = list(session.session_records().values())
            if records or context is None:
                tables.append(ValueTable("Interactive session (not a job run)", records))
        for table in tables:
            _display(table)

    def _context(self, rest: str) -> None:
        _Parser("%taskvalue context").parse_args(_split(rest, "%taskvalue context"))
        context, attached = session.active_context()
        if context is None:
            print(
                "Not in a job run: set keeps values in the interactive session and get returns its --debug "
                f"value.\nRuns dir:    {default_runs_dir()}"
            )
            return
        from ..store import open_store

        store = open_store(context.runs_dir)
        try:
            job = f" (job {store.read_run(context.run_id).get('job_name')!r})"
        except TaskValuesError:
            job = " (not found in the runs directory)"
        task = f"{context.task_key} (attempt {context.attempt})"
        if context.iteration is not None:
            task = f"{context.task_key}, iteration {context.iteration} (attempt {context.attempt})"
        lines = [f"Run:         {context.run_id}{job}", f"Task:        {task}"]
        if attached:
            lines.append("Attached:    yes: get reads this run, set stays in the interactive session")
        lines.append(f"Runs dir:    {context.runs_dir}")
        if context.parameters:
            lines.append(f"Parameters:  {json.dumps(dict(context.parameters), ensure_ascii=False)}")
        print("\n".join(lines))

    def _attach(self, rest: str) -> None:
        parser = _Parser("%taskvalue attach")
        parser.add_argument("run_id")
        parser.add_argument("task")
        parser.add_argument("--runs-dir", dest="runs_dir")
        args = parser.parse_args(_split(rest, parser.prog))
        context = session.attach(args.run_id, args.task, runs_dir=args.runs_dir)
        print(
            f"Attached to run {context.run_id} as task {context.task_key!r}: get reads that run's values; "
            "set keeps values in the interactive session, the run is never modified. %taskvalue detach "
            "undoes it."
        )

    def _detach(self, rest: str) -> None:
        _Parser("%taskvalue detach").parse_args(_split(rest, "%taskvalue detach"))
        previous = session.detach()
        if previous is None:
            print("Not attached to a run.")
        else:
            print(f"Detached from run {previous.run_id}.")

    def _show(self, rest: str) -> None:
        parser = _Parser("%taskvalue show")
        parser.add_argument("run_id", nargs="?")
        args = parser.parse_args(_split(rest, parser.prog))
        # ipywidgets is heavy: the panel's module is imported only when a panel is asked for.
        panel_class = importlib.import_module("jupyter_taskvalues.widget.panel").RunPanel
        _display(panel_class.for_current(args.run_id))

    # -- helpers

    def _evaluate(self, expression: str, what: str) -> Any:
        try:
            return self.shell.ev(expression.strip())  # type: ignore[no-untyped-call]
        except Exception as e:  # the user's expression may raise anything: it becomes a usage error naming it
            raise UsageError(
                f"%taskvalue: cannot evaluate {expression.strip()!r} for {what}: {type(e).__name__}: {e}"
            ) from e

    def _options(self, text: str) -> dict[str, str]:
        parts = re.split(_OPTION_PATTERN, text)
        if parts[0].strip():
            raise UsageError(
                f"%taskvalue get: unexpected {parts[0].strip()!r}; the options are --default EXPR and "
                "--debug EXPR."
            )
        options: dict[str, str] = {}
        for name, expression in zip(parts[1::2], parts[2::2], strict=True):
            if name in options:
                raise UsageError(f"%taskvalue get: --{name} is given twice.")
            if not expression.strip():
                raise UsageError(f"%taskvalue get: --{name} needs a Python expression, e.g. --{name} 0.")
            options[name] = expression
        return options

    def _run_table(self, context: TaskContext, task: str | None, *, attached: bool) -> ValueTable:
        from ..store import open_store

        store = open_store(context.runs_dir)
        run = store.read_run(context.run_id)
        tasks = list(run.get("tasks", {}))
        if task is not None and task not in tasks:
            known = ", ".join(repr(k) for k in tasks) or "none"
            raise UsageError(
                f"%taskvalue list: task {task!r} is not part of run {context.run_id!r}. "
                f"Its tasks are: {known}."
            )
        records: list[ValueRecord] = []
        for key in [task] if task is not None else tasks:
            records.extend(sorted(store.list_values(context.run_id, key).values(), key=lambda r: r.key))
            for _index, values in sorted(store.list_iteration_values(context.run_id, key).items()):
                records.extend(sorted(values.values(), key=lambda r: r.key))
        title = f"Task values of run {context.run_id} (job {run.get('job_name')!r})"
        if task is not None:
            title += f", task {task!r}"
        if attached:
            title += ", attached"
        return ValueTable(title, records)


def _display(obj: object) -> None:
    display(obj)  # type: ignore[no-untyped-call]
