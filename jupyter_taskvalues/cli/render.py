"""Text for the terminal: a run's summary, a failed task's details and a task's output, through ``rich``.

Everything a run holds (task keys, values, tracebacks) is data: control characters are shown escaped, never
obeyed, and text goes into :class:`rich.text.Text` objects, never into markup. Colour follows the stream: none
when it is not a terminal or ``NO_COLOR`` is set (rich decides both), so a pipe never receives escape codes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

__all__ = [
    "STATE_STYLES",
    "console_for",
    "failure_details",
    "notebook_output",
    "preview",
    "print_run",
    "print_warnings",
    "safe",
    "strip_ansi",
]

STATE_STYLES = {
    "SUCCESS": "green",
    "FAILED": "red",
    "TIMEDOUT": "red",
    "INTERNAL_ERROR": "red",
    "UPSTREAM_FAILED": "yellow",
    "SUCCESS_WITH_FAILURES": "yellow",
    "CANCELED": "magenta",
    "UPSTREAM_CANCELED": "magenta",
    "INTERRUPTED": "magenta",
    "EXCLUDED": "bright_black",
    "RUNNING": "cyan",
    "QUEUED": "cyan",
    "PENDING": "bright_black",
}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_CELL_LINE = re.compile(r"Cell In\s*\[\d*\],\s*line (\d+)")
TRACEBACK_LINES = 6


def console_for(stream: TextIO) -> Console:
    """Return a rich console over ``stream``: styled only on a terminal, never wrapping text it did not wrap."""
    from rich.console import Console  # lazy: rich costs ~20 ms to import and `get` never needs it

    return Console(file=stream, highlight=False, soft_wrap=True, emoji=False)


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences (IPython colours its tracebacks)."""
    return _ANSI.sub("", text)


def safe(text: Any) -> str:
    """Render text from a run for a terminal: control characters (escape sequences) are shown, not obeyed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def preview(value: Any, width: int = 60) -> str:
    """Return a one-line preview of a task value, at most ``width`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = safe(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _state(state: Any) -> Text:
    from rich.text import Text

    return Text(str(state), style=STATE_STYLES.get(str(state), ""))


def print_run(
    document: Mapping[str, Any], console: Console, *, details: bool = False, store: Any = None
) -> None:
    """Print a run document: the run's state, then each task with its values, errors and (failed) details.

    With ``store``, a failed task shows the failing cell's line and the traceback's last lines, read from its
    executed notebook.
    """
    from rich.text import Text

    duration = document.get("duration_seconds")
    header = Text(f"Run {document['run_id']} of job {safe(document['job_name'])!r}: ")
    header.append_text(_state(document["state"]))
    if duration is not None:
        header.append(f" in {duration:.1f}s")
    console.print(header)
    for key, task in document["tasks"].items():
        line = Text(f"  {safe(key)}: ")
        line.append_text(_state(task["state"]))
        if task.get("duration_seconds") is not None:
            line.append(f" {task['duration_seconds']:.1f}s")
        if len(task.get("attempts") or []) > 1:
            line.append(f" ({len(task['attempts'])} attempts)")
        if task.get("outcome") is not None:
            line.append(f" outcome={task['outcome']}")
        console.print(line)
        for name, value in task["values"].items():
            console.print(Text(f"      {safe(name)} = {preview(value)}"))
        if task.get("exit_value") is not None:
            console.print(Text(f"      exit: {preview(task['exit_value'])}"))
        for warning in task.get("warnings") or []:
            console.print(Text(f"      warning: {safe(warning)}", style="yellow"))
        _print_notebook_runs(task, console, "      ")
        for iteration in task.get("iterations") or []:
            values = ", ".join(f"{safe(k)}={preview(v, 30)}" for k, v in iteration.get("values", {}).items())
            row = Text(f"      [{iteration['index']}] {preview(iteration['input'], 30)}: ")
            row.append_text(_state(iteration["state"]))
            if values:
                row.append(f"  {values}")
            console.print(row)
            for warning in iteration.get("warnings") or []:
                console.print(Text(f"          warning: {safe(warning)}", style="yellow"))
            _print_notebook_runs(iteration, console, "          ")
            if iteration.get("error") and iteration["state"] != "SUCCESS" and store is not None:
                text = str(iteration["error"]).strip()
                console.print(
                    Text(f"          error: {safe(text.splitlines()[0] if text else '')}", style="red")
                )
                for detail in failure_details(store, document["run_id"], key, iteration, iteration["index"]):
                    console.print(Text(f"          {detail}"))
                if iteration.get("output_notebook"):
                    console.print(Text(f"          notebook: {iteration['output_notebook']}"))
        failed = bool(task.get("error")) and task["state"] != "SUCCESS"
        if failed:
            text = str(task["error"]).strip()
            console.print(Text(f"      error: {safe(text.splitlines()[0] if text else '')}", style="red"))
            if store is not None:
                for detail in failure_details(store, document["run_id"], key, task):
                    console.print(Text(f"      {detail}"))
        if details and task.get("parameters"):
            params = ", ".join(f"{safe(k)}={preview(v, 30)}" for k, v in task["parameters"].items())
            console.print(Text(f"      parameters: {params}"))
        if task.get("output_notebook") and (details or failed):
            console.print(Text(f"      notebook: {task['output_notebook']}"))


def _print_notebook_runs(task: Mapping[str, Any], console: Console, indent: str) -> None:
    """Print the child runs of ``dbutils.notebook.run`` of a task or iteration: path, state, exit value, where
    kept, and the first line of a failed child's error."""
    from rich.text import Text

    for child in task.get("notebook_runs") or []:
        line = Text(f"{indent}notebook run {safe(child.get('number'))}: {safe(child.get('path'))} ")
        line.append_text(_state(child.get("state")))
        if child.get("exit_value") is not None:
            line.append(f", exit: {preview(child['exit_value'])}")
        if child.get("output_notebook"):
            line.append(f", kept as {safe(child['output_notebook'])}")
        console.print(line)
        error = str(child.get("error") or "").strip()
        if error and child.get("state") != "SUCCESS":
            console.print(Text(f"{indent}    error: {safe(error.splitlines()[0])}", style="red"))


def print_warnings(warnings: Sequence[str], console: Console) -> None:
    """Print what the loader ignored in a job file, one ``warning:`` line each, in yellow."""
    from rich.text import Text

    for warning in warnings:
        console.print(Text(f"warning: {safe(warning)}", style="yellow"))


def failure_details(
    store: Any, run_id: str, task_key: str, task: Mapping[str, Any], iteration: int | None = None
) -> list[str]:
    """Return the lines that explain a failed notebook task (or for-each iteration): the failing cell's line and
    the traceback's end, read from its executed notebook."""
    if not task.get("output_notebook"):
        return []
    try:
        nb = store.read_notebook(run_id, task_key, iteration)
    except (OSError, ValueError, LookupError):  # no executed notebook to read (it failed before one was kept)
        return []
    for index, cell in enumerate(nb.get("cells", [])):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if output.get("output_type") != "error":
                continue
            lines = strip_ansi("\n".join(output.get("traceback") or [])).splitlines()
            lines = [line for line in lines if line.strip() and not set(line.strip()) <= {"-"}]
            found = []
            source = _source(cell).splitlines()
            match = next((m for m in map(_CELL_LINE.search, lines) if m), None)
            if match and 0 < int(match.group(1)) <= len(source):
                number = int(match.group(1))
                found.append(f"cell {index + 1}, line {number}: {safe(source[number - 1].strip())}")
            else:
                found.append(f"cell {index + 1}")
            found.extend(f"  {safe(line)}" for line in lines[-TRACEBACK_LINES:])
            return found
    return []


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def notebook_output(nb: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield ``(stream, text)`` for each output of an executed notebook, in order, as ``--log-output`` shows it."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                text = output.get("text", "")
                yield (
                    str(output.get("name", "stdout")),
                    "".join(text) if isinstance(text, list) else str(text),
                )
            elif kind == "error":
                yield "stderr", strip_ansi("\n".join(output.get("traceback") or [])) + "\n"
            elif kind in ("execute_result", "display_data"):
                text = (output.get("data") or {}).get("text/plain")
                if text is not None:
                    yield "stdout", ("".join(text) if isinstance(text, list) else str(text)) + "\n"
