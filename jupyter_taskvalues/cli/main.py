# PYTHON_ARGCOMPLETE_OK
"""``jupyter-taskvalues`` (also ``jupyter taskvalues``): run jobs, repair runs, and read run history.

The edge of the command line, as numbered steps: parse (:mod:`.parser`) → set up logging → dispatch to the
subcommand's handler through :data:`~.parser.COMMANDS` → turn an error into one line and an exit code
(:mod:`.errors`). ``--traceback`` shows the Python traceback too.

Shell completion (bash, zsh, fish) comes from ``argcomplete`` when it is installed (extra ``completion``)::

    eval "$(register-python-argcomplete jupyter-taskvalues)"
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ..exceptions import TaskValuesError
from .errors import (
    EXIT_INTERRUPTED,
    EXIT_RUN_FAILED,
    EXIT_USAGE,
    UsageError,
    exit_code_for,
    print_error,
)
from .parser import COMMANDS, build_parser

__all__ = ["main"]


class _CurrentStderr(logging.Handler):
    """Writes to ``sys.stderr`` as it is at each record, so that logs scroll above the live table."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except (OSError, ValueError):  # stderr closed (a reader left): the record is dropped, as logging does
            self.handleError(record)


def _log_level(level: str | None, verbose: int, quiet: bool) -> int:
    if level:
        return int(getattr(logging, level))
    if quiet:
        return logging.ERROR
    return (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]


@contextmanager
def _logging_to_stderr(level: int) -> Iterator[None]:
    """Send the package's log records at ``level`` and above to stderr while the command runs."""
    handler = _CurrentStderr(level)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("jupyter_taskvalues")
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    # A caller that already listens more closely (benchmarks/timed_cli.py records DEBUG timings) keeps it.
    logger.setLevel(min(level, saved[0]) if saved[0] != logging.NOTSET else level)
    logger.propagate = False  # a host application's root handlers would print each record twice
    try:
        yield
    finally:  # main() may be called in-process (tests, scripts): leave logging as it was
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _autocomplete(parser: argparse.ArgumentParser) -> None:
    try:
        import argcomplete
    except ImportError:  # completion is optional (extra `completion`); without it there is nothing to do
        return
    argcomplete.autocomplete(parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words)
    _autocomplete(parser)
    args = parser.parse_args(words)
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    handlers = {command.name: command.handler for command in COMMANDS}
    with _logging_to_stderr(_log_level(args.log_level, args.verbose, args.quiet)):
        try:
            return handlers[args.command](args)
        except KeyboardInterrupt:
            print("Interrupted.", file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:  # `jupyter-taskvalues show ... | head`: the reader left; say nothing more
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_RUN_FAILED
        except (UsageError, TaskValuesError) as e:  # expected errors: one line; a bug keeps its traceback
            print_error(e, show_traceback=args.traceback)
            return exit_code_for(e)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
