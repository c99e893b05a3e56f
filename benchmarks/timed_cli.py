"""Run the ``jupyter-taskvalues`` command line with the runner's timing records written to a file.

Usage: ``python benchmarks/timed_cli.py TIMINGS.jsonl run JOB_FILE [options]``

The runner logs one DEBUG record per phase it times (a kernel launched, ready or stopped, a task's phases, the
pool closed), each with a ``timing`` dict of ``time.monotonic()`` stamps and durations. This wrapper only sends
those to a JSON-lines file; ``benchmarks/run.py`` reads them. ``monotonic`` is the system-wide clock on Linux,
so stamps compare with the benchmark process's own.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import IO


class _TimingLines(logging.Handler):
    def __init__(self, stream: IO[str]) -> None:
        super().__init__(logging.DEBUG)
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        timing = getattr(record, "timing", None)
        if timing is not None:
            self.stream.write(json.dumps(timing) + "\n")


def main() -> int:
    path, *argv = sys.argv[1:]
    with open(path, "a", encoding="utf-8", buffering=1) as stream:
        logger = logging.getLogger("jupyter_taskvalues")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(_TimingLines(stream))
        logger.propagate = False
        from jupyter_taskvalues.cli import main as cli_main

        return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
