"""The live display of a run on stderr: a ``rich`` table of tasks, or plain lines, and the tasks' output.

Three modes, chosen by :func:`progress_mode`:

- ``live``: on a terminal, a table redrawn a few times a second: each task's state, attempt, elapsed time and
  the values it has set so far, under a line with the run's elapsed time and its counts by state.
- ``plain``: one line per change (``[  1.2s] train: SUCCESS in 0.9s  accuracy=0.91``), for a stderr that is not
  a terminal, ``NO_COLOR``, a dumb terminal or ``--no-progress``. No escape codes, ever.
- ``quiet`` (``-q``): nothing but ``--log-output``.

With ``--log-output`` each line a task prints is shown as it arrives, prefixed by the task key
(``train | epoch 3``); in live mode the lines scroll above the table. JSON (``--json``) goes to stdout and this
display to stderr, so the two never mix.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from ..document import duration
from ..exceptions import TaskValuesError
from ..jobs.hooks import RunHooks
from ..records import TaskRecord
from ..states import FINAL_STATES
from ..store import utcnow
from .render import STATE_STYLES, preview, safe, strip_ansi

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

    from ..jobs.model import JobSpec

__all__ = ["Mode", "RunDisplay", "progress_mode"]

Mode = Literal["live", "plain", "quiet"]
REFRESH_SECONDS = 0.25
_VALUES_WIDTH = 48


def progress_mode(console: Console, *, no_progress: bool, quiet: bool) -> Mode:
    """Pick the display for ``console`` (stderr): live only on a real, coloured terminal."""
    if quiet:
        return "quiet"
    if no_progress or not console.is_terminal or console.is_dumb_terminal or console.no_color:
        return "plain"
    return "live"


class _Task:
    """What the display knows of one task."""

    __slots__ = ("attempt", "ended", "error", "started", "state", "values")

    def __init__(self, state: str = "PENDING") -> None:
        self.state = state
        self.attempt = 0
        self.started: float | None = None
        self.ended: float | None = None
        self.values: dict[str, Any] = {}
        self.error: str | None = None

    def elapsed(self, now: float) -> float | None:
        if self.started is None:
            return None
        return (self.ended if self.ended is not None else now) - self.started


class RunDisplay(RunHooks):
    """Run hooks that draw the run on ``console`` (see the module docstring).

    Parameters
    ----------
    console
        Where to draw: a rich console over stderr (tests pass one over a ``StringIO``).
    mode
        ``"live"``, ``"plain"`` or ``"quiet"``.
    store
        The run store, to show the values each task sets; ``None`` shows none.
    log_output
        Show each task's output as it arrives.
    clock
        The monotonic clock (tests pass a fake one).
    """

    def __init__(
        self,
        console: Console,
        *,
        mode: Mode,
        store: Any = None,
        log_output: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.mode = mode
        self.store = store
        self.log_output = log_output
        self.clock = clock
        self.job_name = ""
        self.run_id = ""
        self.tasks: dict[str, _Task] = {}
        self.began = clock()
        self._partial: dict[tuple[str, str], str] = {}
        self._live: Live | None = None
        self._ticker: asyncio.Task[None] | None = None

    # -- hooks --------------------------------------------------------------------------------------------

    def run_started(self, run_id: str, spec: JobSpec) -> None:
        self.run_id, self.job_name, self.began = run_id, spec.name, self.clock()
        for task in spec.tasks:
            self.tasks[task.task_key] = _Task(self._stored_state(run_id, task.task_key))
        if self.mode == "plain":
            self._line(f"Running job {safe(spec.name)!r} as run {run_id} ({len(spec.tasks)} tasks)")
        elif self.mode == "live":
            from rich.live import Live  # lazy: only a terminal draws the table

            self._live = Live(
                self, console=self.console, auto_refresh=False, transient=True, redirect_stdout=False
            )
            self._live.start(refresh=True)
            with contextlib.suppress(
                RuntimeError
            ):  # no running loop (a synchronous caller): redraw on changes
                self._ticker = asyncio.get_running_loop().create_task(self._tick())

    def task_changed(self, run_id: str, task_key: str, record: TaskRecord) -> None:
        task = self.tasks.setdefault(task_key, _Task())
        state = str(record.get("state") or "PENDING")
        attempt = len(record.get("attempts") or [])
        if state == task.state and attempt == task.attempt:
            return
        now = self.clock()
        if state == "RUNNING" and task.started is None:
            # From the record's start (a task may wait for a slot first), as the final summary counts it.
            waited = duration(record.get("start_time"), utcnow()) or 0.0
            task.started = now - max(0.0, waited)
        if state in FINAL_STATES:
            task.ended = now
            self._flush_output(task_key)
        task.state, task.attempt = state, attempt
        task.error = str(record["error"]).strip() if record.get("error") else None
        if state in FINAL_STATES:
            self._read_values(task_key, task)
        if self.mode == "plain":
            self._plain_change(task_key, task, now)
        elif self._live is not None:
            self._live.refresh()

    def task_output(self, run_id: str, task_key: str, stream: str, text: str) -> None:
        if not self.log_output:
            return
        buffered = self._partial.pop((task_key, stream), "") + text
        *lines, rest = buffered.split("\n")
        if rest:
            self._partial[(task_key, stream)] = rest
        for line in lines:
            self._output_line(task_key, stream, line)

    def run_finished(self, run_id: str, state: str) -> None:
        for task_key in list(self.tasks):
            self._flush_output(task_key)
        self.close()
        if self.mode != "quiet":
            self._line(
                f"Run {run_id} finished: {state} in {self.clock() - self.began:.1f}s ({self._counts()})"
            )

    def close(self) -> None:
        """Stop the live table (idempotent); the CLI calls it also when the run ends with an error."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self._live is not None:
            self._live.stop()
            self._live = None

    # -- plain lines --------------------------------------------------------------------------------------

    def _line(self, text: str, style: str = "") -> None:
        from rich.text import Text

        self.console.print(Text(text, style=style))

    def _plain_change(self, task_key: str, task: _Task, now: float) -> None:
        line = f"[{now - self.began:6.1f}s] {safe(task_key)}: {task.state}"
        if task.attempt > 1:
            line += f" (attempt {task.attempt})"
        elapsed = task.elapsed(now)
        if task.state in FINAL_STATES and elapsed is not None:
            line += f" in {elapsed:.1f}s"
        if task.values:
            line += "  " + self._values_text(task, 200)
        if task.state not in ("SUCCESS", "RUNNING", "PENDING", "QUEUED") and task.error:
            line += f"  {safe(task.error.splitlines()[0])}"
        self._line(line)

    def _output_line(self, task_key: str, stream: str, line: str) -> None:
        self._line(f"{safe(task_key)} | {safe(strip_ansi(line))}", "red" if stream == "stderr" else "")

    def _flush_output(self, task_key: str) -> None:
        for stream in ("stdout", "stderr"):
            rest = self._partial.pop((task_key, stream), "")
            if rest:
                self._output_line(task_key, stream, rest)

    # -- the live table -----------------------------------------------------------------------------------

    async def _tick(self) -> None:
        while self._live is not None:
            await asyncio.sleep(REFRESH_SECONDS)
            for key, task in self.tasks.items():
                if task.state == "RUNNING":
                    self._read_values(key, task)
            if self._live is not None:
                self._live.refresh()

    def __rich__(self) -> RenderableType:
        """The table as it is now (rich calls this at each refresh)."""
        return self.table()

    def table(self, max_rows: int | None = None) -> RenderableType:
        """Return the live table: a header line with the run's elapsed time and counts, then a row per task."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        now = self.clock()
        header = Text(
            f"{safe(self.job_name)} · run {self.run_id} · {now - self.began:.1f}s · {self._counts()}"
        )
        table = Table(box=None, pad_edge=False, header_style="bold")
        table.add_column("TASK", no_wrap=True, overflow="ellipsis", max_width=40)
        table.add_column("STATE", no_wrap=True)
        table.add_column("ATTEMPT", justify="right")
        table.add_column("ELAPSED", justify="right")
        table.add_column("VALUES", no_wrap=True, overflow="ellipsis")
        rows = self._rows(max_rows if max_rows is not None else max(5, self.console.size.height - 4))
        for key, task in rows:
            elapsed = task.elapsed(now)
            table.add_row(
                safe(key),
                Text(task.state, style=STATE_STYLES.get(task.state, "")),
                str(task.attempt) if task.attempt else "",
                f"{elapsed:.1f}s" if elapsed is not None else "",
                self._values_text(task, _VALUES_WIDTH),
            )
        hidden = len(self.tasks) - len(rows)
        if hidden > 0:
            table.add_row(Text(f"… {hidden} more", style="bright_black"), "", "", "", "")
        return Group(header, table)

    def _rows(self, limit: int) -> list[tuple[str, _Task]]:
        """The tasks to show, in job order; past ``limit``, running and failed tasks first."""
        items = list(self.tasks.items())
        if len(items) <= limit:
            return items

        def rank(item: tuple[str, _Task]) -> int:
            state = item[1].state
            if state in ("RUNNING", "QUEUED"):
                return 0
            return 1 if state in ("FAILED", "TIMEDOUT", "INTERNAL_ERROR") else 2

        keep = {key for key, _ in sorted(items, key=rank)[: limit - 1]}
        return [item for item in items if item[0] in keep]

    # -- shared -------------------------------------------------------------------------------------------

    def _counts(self) -> str:
        counts: dict[str, int] = {}
        for task in self.tasks.values():
            counts[task.state] = counts.get(task.state, 0) + 1
        names = {"SUCCESS": "succeeded", "FAILED": "failed", "RUNNING": "running", "PENDING": "pending"}
        return ", ".join(f"{n} {names.get(s, s.lower())}" for s, n in sorted(counts.items()))

    def _values_text(self, task: _Task, width: int) -> str:
        text = ", ".join(f"{safe(name)}={preview(value, 30)}" for name, value in sorted(task.values.items()))
        return text if len(text) <= width else text[: width - 1] + "…"

    def _stored_state(self, run_id: str, task_key: str) -> str:
        """A repaired run's task keeps its state unless re-run: start from the stored record."""
        if self.store is None:
            return "PENDING"
        try:
            record = self.store.read_task(run_id, task_key) or {}
        except (TaskValuesError, OSError):
            return "PENDING"
        return str(record.get("state") or "PENDING")

    def _read_values(self, task_key: str, task: _Task) -> None:
        if self.store is None:
            return
        try:
            values = self.store.list_values(self.run_id, task_key)
        except (TaskValuesError, OSError):  # a value log being written: the next refresh reads it
            return
        task.values = {name: record.value for name, record in values.items()}
