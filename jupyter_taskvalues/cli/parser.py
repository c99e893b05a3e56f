"""The command line's grammar: global options, and the subcommands from one table.

Each :class:`Command` names its handler, so :func:`~.main.main` dispatches through :data:`COMMANDS`, and each
carries the example its ``--help`` ends with. A mistyped subcommand or flag gets argparse's error plus a
"did you mean" drawn from the parser's own choices and flags.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NoReturn

from .. import __version__
from ..suggestions import close_matches
from . import cancel, gc, history, jobs
from .errors import EXIT_USAGE

__all__ = ["COMMANDS", "Command", "build_parser"]

PROG = "jupyter-taskvalues"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, one-line help, an example, its arguments and its handler (exit code out)."""

    name: str
    help: str
    example: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], int]


COMMANDS: tuple[Command, ...] = (
    Command(
        "run",
        "run a job file",
        "jupyter-taskvalues run examples/income/databricks.yml --param seed=7 --log-output",
        jobs.add_run_arguments,
        jobs.run,
    ),
    Command(
        "repair",
        "re-run the failed tasks of a run, and everything downstream",
        "jupyter-taskvalues repair latest --task train",
        jobs.add_repair_arguments,
        jobs.repair,
    ),
    Command(
        "cancel",
        "cancel a run (or one task) running in another terminal or in JupyterLab",
        "jupyter-taskvalues cancel latest --task train --wait",
        cancel.add_cancel_arguments,
        cancel.cancel,
    ),
    Command(
        "validate",
        "check a job file without running it",
        "jupyter-taskvalues validate examples/income/databricks.yml",
        jobs.add_validate_arguments,
        jobs.validate,
    ),
    Command(
        "runs",
        "list runs, newest first",
        "jupyter-taskvalues runs --limit 5",
        history.add_runs_arguments,
        history.runs,
    ),
    Command(
        "show",
        "show a run's tasks and values (or a task's output)",
        "jupyter-taskvalues show latest --task Best_Model --output",
        history.add_show_arguments,
        history.show,
    ),
    Command(
        "get",
        "print one task value as JSON",
        "jupyter-taskvalues get latest Best_Model best_model",
        history.add_get_arguments,
        history.get,
    ),
    Command(
        "gc",
        "remove old runs (never a running one, or one a session is attached to)",
        "jupyter-taskvalues gc --keep 50 --older-than 30 --dry-run",
        gc.add_gc_arguments,
        gc.gc,
    ),
)


class _Parser(argparse.ArgumentParser):
    """argparse with a "did you mean" after its usage errors."""

    def error(self, message: str) -> NoReturn:
        hint = _suggestion(self, message)
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}{hint}\n")


def _suggestion(parser: argparse.ArgumentParser, message: str) -> str:
    choice = re.search(r"invalid choice: '([^']*)'", message)
    if choice:
        words, vocabulary = [choice.group(1)], sorted(_choices(parser))
    else:
        unknown = re.search(r"unrecognized arguments: (.*)", message)
        if not unknown:
            return ""
        words = [w.split("=", 1)[0] for w in unknown.group(1).split() if w.startswith("-")]
        vocabulary = sorted(_flags(parser))
    hints = []
    for word in words:
        matches = close_matches(word, vocabulary, n=1)
        if matches:
            hints.append(matches[0])
    return f" (did you mean {' or '.join(map(repr, hints))}?)" if hints else ""


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for p in _parsers(parser) for a in p._actions for flag in a.option_strings}


def _choices(parser: argparse.ArgumentParser) -> set[str]:
    return {str(c) for p in _parsers(parser) for a in p._actions if a.choices for c in a.choices}


def _add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options accepted before and after the subcommand (``-v`` after it must not reset one before it)."""
    group = parser.add_argument_group("output and diagnostics")
    default = None if top else argparse.SUPPRESS
    group.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        type=str.upper,
        default=default,
        help="logging level (default WARNING)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if top else argparse.SUPPRESS,
        help="more logging: -v INFO, -vv DEBUG",
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="only errors: no progress display and no logging below ERROR",
    )
    group.add_argument(
        "--traceback",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="show the Python traceback of an error",
    )


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Return the parser of ``jupyter-taskvalues`` (also ``jupyter taskvalues``).

    With ``argv``, only the subcommand it names gets its arguments: the others' (the executors' flags of
    ``run``, say, which import every executor) cost start-up that ``runs --json`` should not pay. Every
    subcommand is still listed with its help, so ``--help`` and a mistyped command read the same. Shell
    completion (``_ARGCOMPLETE`` set) and an ``argv`` that names no subcommand get them all.
    """
    wanted = _named_command(argv)
    parser = _Parser(
        prog=PROG,
        description="Run Databricks jobs of notebooks locally and read their task values.",
        epilog="Exit codes: 0 success, 1 the run did not succeed, 2 a bad job file or usage, "
        "3 the run ended SUCCESS_WITH_FAILURES (every leaf task succeeded, some task failed). "
        "Every command: jupyter-taskvalues COMMAND --help.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_common(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name,
            help=command.help,
            description=command.help[0].upper() + command.help[1:] + ".",
            epilog=f"example:\n  {command.example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if wanted is None or command.name == wanted:
            command.add_arguments(sub)
        _add_common(sub, top=False)
    return parser


def _named_command(argv: Sequence[str] | None) -> str | None:
    """The subcommand ``argv`` runs: its first word that names one (global options take no such word)."""
    if argv is None or os.environ.get("_ARGCOMPLETE"):
        return None
    names = {command.name for command in COMMANDS}
    return next((word for word in argv if word in names), None)
