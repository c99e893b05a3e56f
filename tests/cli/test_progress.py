"""The run display: the live rich table, plain lines, and --log-output, drawn on rich's test consoles."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from jupyter_taskvalues.cli.progress import RunDisplay, progress_mode

ESCAPE = re.compile(r"\x1b")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeStore:
    """Only what the display reads: task records and values (a process seam, not the store under test)."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}

    def read_task(self, run_id: str, task_key: str) -> dict[str, Any] | None:
        return None

    def list_values(self, run_id: str, task_key: str) -> dict[str, Any]:
        return {k: SimpleNamespace(value=v) for k, v in self.values.get(task_key, {}).items()}


def _spec(*keys: str) -> Any:
    return SimpleNamespace(name="nightly", tasks=[SimpleNamespace(task_key=k) for k in keys])


def _console(*, terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(
        file=out, force_terminal=terminal, width=100, height=30, highlight=False, soft_wrap=True
    ), out


def _drive(display: RunDisplay, clock: FakeClock, store: FakeStore) -> None:
    display.run_started("r1", _spec("ingest", "train"))
    clock.now += 0.5
    display.task_changed("r1", "ingest", {"state": "RUNNING", "attempts": [{}]})
    clock.now += 1.0
    store.values["ingest"] = {"rows": 3}
    display.task_changed("r1", "ingest", {"state": "SUCCESS", "attempts": [{}]})
    display.task_changed("r1", "train", {"state": "RUNNING", "attempts": [{}]})
    clock.now += 2.0
    display.task_changed("r1", "train", {"state": "RUNNING", "attempts": [{}, {}]})


def test_live_table_shows_state_attempt_elapsed_values_and_counts() -> None:
    console, _ = _console(terminal=True)
    clock, store = FakeClock(), FakeStore()
    display = RunDisplay(console, mode="plain", store=store, clock=clock)  # the table itself, without Live
    _drive(display, clock, store)
    recorder = Console(record=True, width=100, file=io.StringIO())
    recorder.print(display.table())
    text = recorder.export_text()
    assert "nightly · run r1 · 3.5s · 1 running, 1 succeeded" in text
    ingest = next(line for line in text.splitlines() if line.startswith("ingest"))
    assert re.search(r"ingest\s+SUCCESS\s+1\s+1\.0s\s+rows=3", ingest), ingest
    train = next(line for line in text.splitlines() if line.startswith("train"))
    assert re.search(r"train\s+RUNNING\s+2\s+2\.0s", train), train


def test_live_mode_draws_on_a_terminal_and_clears_the_table_at_the_end() -> None:
    console, out = _console(terminal=True)
    clock, store = FakeClock(), FakeStore()
    display = RunDisplay(console, mode="live", store=store, clock=clock)
    _drive(display, clock, store)
    display.task_changed("r1", "train", {"state": "FAILED", "attempts": [{}, {}], "error": "boom"})
    display.run_finished("r1", "FAILED")
    text = out.getvalue()
    assert "\x1b[" in text  # drawn and redrawn in place
    assert "TASK" in text and "ELAPSED" in text
    assert text.rstrip().endswith("Run r1 finished: FAILED in 3.5s (1 failed, 1 succeeded)")


def test_plain_lines_carry_no_escape_codes_and_one_line_per_change() -> None:
    console, out = _console(terminal=False)
    clock, store = FakeClock(), FakeStore()
    display = RunDisplay(console, mode="plain", store=store, clock=clock)
    _drive(display, clock, store)
    display.task_changed(
        "r1", "train", {"state": "FAILED", "attempts": [{}, {}], "error": "ValueError: x\nmore"}
    )
    display.run_finished("r1", "FAILED")
    text = out.getvalue()
    assert not ESCAPE.search(text)
    assert text.splitlines() == [
        "Running job 'nightly' as run r1 (2 tasks)",
        "[   0.5s] ingest: RUNNING",
        "[   1.5s] ingest: SUCCESS in 1.0s  rows=3",
        "[   1.5s] train: RUNNING",
        "[   3.5s] train: RUNNING (attempt 2)",
        "[   3.5s] train: FAILED (attempt 2) in 2.0s  ValueError: x",
        "Run r1 finished: FAILED in 3.5s (1 failed, 1 succeeded)",
    ]


def test_log_output_keeps_each_tasks_lines_whole_and_in_order() -> None:
    console, out = _console(terminal=False)
    display = RunDisplay(console, mode="quiet", log_output=True)
    display.run_started("r1", _spec("a", "b"))
    display.task_output("r1", "a", "stdout", "one\ntw")
    display.task_output("r1", "b", "stdout", "b1\n")
    display.task_output("r1", "a", "stdout", "o\nthree")
    display.task_output("r1", "a", "stderr", "\x1b[31mWarn\x1b[0m\n")
    display.task_changed("r1", "a", {"state": "SUCCESS", "attempts": [{}]})
    display.run_finished("r1", "SUCCESS")
    assert out.getvalue().splitlines() == ["a | one", "b | b1", "a | two", "a | Warn", "a | three"]


def test_task_text_is_shown_escaped_never_obeyed() -> None:
    console, out = _console(terminal=False)
    display = RunDisplay(console, mode="plain", log_output=True)
    display.run_started("r1", _spec("evil\x1b[2J"))
    display.task_output("r1", "evil\x1b[2J", "stdout", "\x07bell\n")
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue()
    assert "evil\\x1b[2J | \\x07bell" in out.getvalue()


def test_without_log_output_task_output_is_not_shown() -> None:
    console, out = _console(terminal=False)
    display = RunDisplay(console, mode="plain")
    display.run_started("r1", _spec("a"))
    display.task_output("r1", "a", "stdout", "hello\n")
    assert "hello" not in out.getvalue()


def test_a_long_job_shows_running_and_failed_tasks_first_within_the_screen() -> None:
    console, _ = _console(terminal=True)
    display = RunDisplay(console, mode="plain", clock=FakeClock())
    display.run_started("r1", _spec(*[f"t{i:02}" for i in range(40)]))
    display.task_changed("r1", "t39", {"state": "RUNNING", "attempts": [{}]})
    display.task_changed("r1", "t38", {"state": "FAILED", "attempts": [{}]})
    recorder = Console(record=True, width=100, file=io.StringIO())
    recorder.print(display.table(max_rows=10))
    text = recorder.export_text()
    assert "t39" in text and "t38" in text and "… 31 more" in text


@pytest.mark.parametrize(
    ("terminal", "no_color", "no_progress", "quiet", "expected"),
    [
        (True, False, False, False, "live"),
        (False, False, False, False, "plain"),
        (True, True, False, False, "plain"),
        (True, False, True, False, "plain"),
        (True, False, False, True, "quiet"),
    ],
)
def test_progress_mode_is_live_only_on_a_coloured_terminal(
    monkeypatch: pytest.MonkeyPatch,
    terminal: bool,
    no_color: bool,
    no_progress: bool,
    quiet: bool,
    expected: str,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    console = Console(file=io.StringIO(), force_terminal=terminal)
    assert progress_mode(console, no_progress=no_progress, quiet=quiet) == expected
