"""The commands that read the runs directory: ``runs``, ``show`` and ``get``."""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import Any

from .errors import EXIT_OK, UsageError
from .render import console_for, notebook_output, print_run, safe

__all__ = [
    "add_get_arguments",
    "add_runs_arguments",
    "add_show_arguments",
    "get",
    "resolve_run_id",
    "runs",
    "show",
]


def _add_runs_dir(sub: argparse.ArgumentParser) -> None:
    from .jobs import add_runs_dir

    add_runs_dir(sub)


def add_runs_arguments(sub: argparse.ArgumentParser) -> None:
    """Arguments of ``runs``."""
    _add_runs_dir(sub)
    sub.add_argument("--limit", type=int, default=20, metavar="N", help="show at most N runs (default 20)")
    sub.add_argument("--json", action="store_true", help="print the run summaries as JSON")


def add_show_arguments(sub: argparse.ArgumentParser) -> None:
    """Arguments of ``show``."""
    _add_runs_dir(sub)
    sub.add_argument("run_id", metavar="RUN_ID", help="a run id, or 'latest'")
    sub.add_argument("--task", metavar="T", help="show only this task")
    sub.add_argument(
        "--output",
        action="store_true",
        help="print the task's output (stdout, stderr, results); needs --task",
    )
    sub.add_argument(
        "--log",
        action="store_true",
        help="print the task's output log: everything it printed, stdout and stderr in order, up to the log's "
        "cap (--max-output-log-bytes), where the notebook keeps only each output's head and tail; needs --task",
    )
    sub.add_argument("--json", action="store_true", help="print the run document as JSON")


def add_get_arguments(sub: argparse.ArgumentParser) -> None:
    """Arguments of ``get``."""
    _add_runs_dir(sub)
    sub.add_argument("run_id", metavar="RUN_ID", help="a run id, or 'latest'")
    sub.add_argument("task", metavar="TASK")
    sub.add_argument("key", metavar="KEY")


def _store(args: argparse.Namespace) -> Any:
    from ..store import open_store

    return open_store(args.runs_dir)


def resolve_run_id(store: Any, run_id: str) -> str:
    """Return ``run_id``, or the newest run's id for ``latest`` (see ``RunStore.resolve_run_id``)."""
    return str(store.resolve_run_id(run_id))


def runs(args: argparse.Namespace) -> int:
    """``runs``: the run history, newest first."""
    from ..document import run_summary

    store = _store(args)
    summaries = [run_summary(run) for run in store.list_run_heads(limit=args.limit)]
    if args.json:
        # A run per line, each by the C encoder (json.dumps with indent= is the pure-Python one, and took
        # 40 % of `runs --json --limit 5000`), all in one write.
        lines = ",\n".join(f"  {json.dumps(summary, ensure_ascii=False)}" for summary in summaries)
        sys.stdout.write(f"[\n{lines}\n]\n" if summaries else "[]\n")
        return EXIT_OK
    from rich.text import Text  # only for the table: rich takes longer to import than --json to print

    from .render import STATE_STYLES

    console = console_for(sys.stdout)
    if not summaries:
        console.print(Text(f"No runs in {store.root}."))
        return EXIT_OK
    console.print(Text(f"{'RUN ID':<28} {'STATE':<22} {'DURATION':>9}  JOB"))
    for run in summaries:
        duration = f"{run['duration_seconds']:.1f}s" if run["duration_seconds"] is not None else "-"
        line = Text(f"{run['run_id']:<28} ")
        line.append(f"{run['state']:<22}", style=STATE_STYLES.get(run["state"], ""))
        line.append(f" {duration:>9}  {safe(run['job_name'])}")
        console.print(line)
    return EXIT_OK


def show(args: argparse.Namespace) -> int:
    """``show``: a run's tasks and values, one task, or (``--output``) one task's output."""
    from ..document import run_document

    store = _store(args)
    document = run_document(store, resolve_run_id(store, args.run_id))
    if args.output and args.log:
        raise UsageError("--output and --log print the same task's output two ways; pass one of them.")
    for flag, wanted in (("--output", args.output), ("--log", args.log)):
        if wanted and not args.task:
            raise UsageError(f"{flag} prints one task's output; name it with --task T.")
    if args.task:
        if args.task not in document["tasks"]:
            raise UsageError(
                f"Run {document['run_id']!r} has no task {args.task!r}; its tasks are: "
                + ", ".join(document["tasks"])
            )
        document["tasks"] = {args.task: document["tasks"][args.task]}
    if args.output:
        return _print_output(store, document, args.task)
    if args.log:
        return _print_log(store, document, args.task)
    if args.json:
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print_run(document, console_for(sys.stdout), details=True, store=store)
    return EXIT_OK


def _print_output(store: Any, document: dict[str, Any], task_key: str) -> int:
    """Print what the task printed, from its executed notebook(s): stdout on stdout, stderr on stderr.

    A task with no executed notebook but an output log (a script or wheel task, or its iterations) prints
    its log instead, on stdout: it holds both streams, in the order they came.
    """
    task = document["tasks"][task_key]
    iterations = task.get("iterations") or []
    sources = [(None, "")] if not iterations else [(it["index"], f"[{it['index']}] ") for it in iterations]
    if not any(t.get("output_notebook") for t in (task, *iterations)) and _has_log(store, document, task_key):
        return _print_log(store, document, task_key)
    if not task.get("output_notebook") and not iterations:
        raise UsageError(
            f"Task {task_key!r} of run {document['run_id']!r} has no executed notebook "
            f"(its state is {task['state']}); there is no output to show."
        )
    for index, label in sources:
        try:
            nb = store.read_notebook(document["run_id"], task_key, index)
        except (OSError, LookupError, ValueError) as e:
            print(f"{label}(no executed notebook: {e})", file=sys.stderr)
            continue
        for stream, text in notebook_output(nb):
            out = sys.stderr if stream == "stderr" else sys.stdout
            out.write("".join(f"{label}{safe(line)}\n" for line in text.splitlines()))
    return EXIT_OK


def _has_log(store: Any, document: dict[str, Any], task_key: str) -> bool:
    """Whether the task, or one of its iterations, has an output log."""
    indexes = [it["index"] for it in document["tasks"][task_key].get("iterations") or []] or [None]
    for index in indexes:
        try:
            store.open_output_log(document["run_id"], task_key, index).close()
        except FileNotFoundError:
            continue
        return True
    return False


def _print_log(store: Any, document: dict[str, Any], task_key: str) -> int:
    """Print the task's output log(s) on stdout, line by line (a log can be hundreds of MiB: never read whole)."""
    task = document["tasks"][task_key]
    iterations = task.get("iterations") or []
    sources = [(None, "")] if not iterations else [(it["index"], f"[{it['index']}] ") for it in iterations]
    shown = 0
    for index, label in sources:
        try:
            raw = store.open_output_log(document["run_id"], task_key, index)
        except FileNotFoundError:
            continue
        with io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="") as lines:
            shown += 1
            for line in lines:
                text = line.rstrip("\r\n")
                sys.stdout.write(f"{label}{text if text.isprintable() else safe(text)}\n")
    if not shown:
        raise UsageError(
            f"Task {task_key!r} of run {document['run_id']!r} has no output log (its state is {task['state']}): "
            "it printed nothing, or it has not ended yet on a runs directory on a URL."
        )
    return EXIT_OK


def get(args: argparse.Namespace) -> int:
    """``get``: one task value as JSON."""
    store = _store(args)
    value = store.get_value(resolve_run_id(store, args.run_id), args.task, args.key)
    print(json.dumps(value, ensure_ascii=False))
    return EXIT_OK
