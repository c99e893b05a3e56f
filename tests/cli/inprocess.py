"""Helpers for tests that call the CLI's ``main()`` in this process (fast, and mockable at process seams)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from jupyter_taskvalues.cli import main
from jupyter_taskvalues.jobs.executors.notebook import NotebookResult
from jupyter_taskvalues.store import utcnow


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``main(argv)``; return its exit code, stdout and stderr."""
    try:
        code = main(list(argv))
    except SystemExit as e:  # argparse exits for --help, --version and usage errors
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


class RecordingExecutor:
    """An executor that runs nothing (the kernel is the process seam here) and records what it was given."""

    cli_options: ClassVar[dict[str, dict[str, str]]] = {
        "--flavour": {"key": "flavour", "metavar": "NAME", "help": "how to pretend"}
    }
    default_max_parallel = 7
    requires: tuple[str, ...] = ()
    seen: ClassVar[list[Any]] = []

    def __init__(self, options: Any) -> None:
        RecordingExecutor.seen.append(options)

    def expect(self, count: int) -> None:
        pass

    def forget(self, count: int) -> None:
        pass

    async def run(self, request: Any) -> NotebookResult:
        now = utcnow()
        return NotebookResult(state="SUCCESS", start_time=now, end_time=now)

    async def close(self) -> None:
        pass
