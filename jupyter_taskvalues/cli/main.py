"""``jupyter-taskvalues`` (also ``jupyter taskvalues``): run jobs, repair runs, and read run history.

Exit codes: 0 the run succeeded (or the command worked), 1 the run did not succeed, 2 a bad job file or usage.
Errors print one line; ``--traceback`` shows the Python traceback too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ..exceptions import JobSpecError, StoreError, TaskValuesError
from ..jobs.hooks import RunHooks

if TYPE_CHECKING:
    from ..jobs.model import JobSpec
    from ..jobs.scheduler import JobRun, RunOptions

__all__ = ["main"]

_SUCCESS_STATES = ("SUCCESS",)
_COLOURS = {
    "SUCCESS": "32",
    "FAILED": "31",
    "TIMEDOUT": "31",
    "UPSTREAM_FAILED": "33",
    "CANCELED": "35",
    "UPSTREAM_CANCELED": "35",
    "EXCLUDED": "90",
    "RUNNING": "36",
    "QUEUED": "36",
    "SUCCESS_WITH_FAILURES": "33",
    "INTERRUPTED": "35",
}


_DASK_MAX_PARALLEL = 256


class UsageError(Exception):
    """A mistake in the command line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter-taskvalues",
        description="Run Databricks jobs of notebooks locally and read their task values.",
    )
    parser.add_argument("--traceback", action="store_true", help="show the Python traceback of an error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def with_runs_dir(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--runs-dir",
            metavar="DIR|URL",
            help="the runs directory, or an fsspec URL such as s3://bucket/runs "
            "(default: $JUPYTER_TASKVALUES_RUNS_DIR, else <jupyter data dir>/taskvalues/runs)",
        )
        return sub

    run = with_runs_dir(commands.add_parser("run", help="run a job file"))
    run.add_argument(
        "job_file", metavar="JOB_FILE", help="Jobs API JSON/YAML, or an Asset Bundle's databricks.yml"
    )
    run.add_argument("--job", metavar="NAME", help="which job of a bundle that defines several")
    run.add_argument(
        "--param", "-p", action="append", default=[], metavar="KEY=VALUE", help="override a job parameter"
    )
    _execution_options(run)
    run.add_argument("--json", action="store_true", help="print the run document (JSON) and nothing else")

    repair = with_runs_dir(commands.add_parser("repair", help="re-run the failed tasks of a run"))
    repair.add_argument("run_id", metavar="RUN_ID")
    repair.add_argument(
        "--task", action="append", default=[], metavar="T", help="re-run this task (repeatable)"
    )
    _execution_options(repair)
    repair.add_argument("--json", action="store_true", help="print the run document (JSON) and nothing else")

    runs = with_runs_dir(commands.add_parser("runs", help="list runs, newest first"))
    runs.add_argument("--limit", type=int, default=20, metavar="N")
    runs.add_argument("--json", action="store_true")

    show = with_runs_dir(commands.add_parser("show", help="show a run's tasks and values"))
    show.add_argument("run_id", metavar="RUN_ID", help="a run id, or 'latest'")
    show.add_argument("--task", metavar="T", help="show only this task")
    show.add_argument("--json", action="store_true")

    get = with_runs_dir(commands.add_parser("get", help="print one task value as JSON"))
    get.add_argument("run_id", metavar="RUN_ID", help="a run id, or 'latest'")
    get.add_argument("task", metavar="TASK")
    get.add_argument("key", metavar="KEY")

    validate = commands.add_parser("validate", help="check a job file without running it")
    validate.add_argument("job_file", metavar="JOB_FILE")
    validate.add_argument("--job", metavar="NAME")
    return parser


def _execution_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--max-parallel",
        type=int,
        metavar="N",
        help="most tasks running at once (default: the CPU count; with --executor dask, 256)",
    )
    sub.add_argument(
        "--warm-kernels",
        type=int,
        metavar="N",
        help="kernels started ahead (default: twice max-parallel; with --executor dask, 1 per worker process)",
    )
    sub.add_argument("--kernel", default="python3", metavar="NAME", help="kernelspec to run tasks in")
    sub.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="where notebooks run: fresh kernels on this machine (default), or on a Dask cluster",
    )
    sub.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="the Dask scheduler (tcp://host:8786) for --executor dask (default: $DASK_SCHEDULER_ADDRESS)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = globals()[f"_cmd_{args.command}"](args)
        return code
    except (JobSpecError, UsageError) as e:
        _error(e, args)
        return 2
    except StoreError as e:
        _error(e, args)
        return 1
    except TaskValuesError as e:  # an unknown run, task or key: a usage mistake
        _error(e, args)
        return 2
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `jupyter-taskvalues show ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _error(error: Exception, args: argparse.Namespace) -> None:
    if args.traceback:
        import traceback

        traceback.print_exception(error)
    print(f"error: {error}", file=sys.stderr)


def _store(args: argparse.Namespace) -> Any:
    from ..jobs.api import open_store

    return open_store(args.runs_dir)


def _resolve_run_id(store: Any, run_id: str) -> str:
    if run_id == "latest":
        ids = store.run_ids()
        if not ids:
            raise UsageError(f"There are no runs in {store.root} yet.")
        return str(ids[0])
    return run_id


def _options(args: argparse.Namespace) -> RunOptions:
    from ..jobs.scheduler import RunOptions

    options = RunOptions(kernel_name=args.kernel, executor=args.executor)
    if args.executor == "dask":
        # The cluster queues what its workers cannot take at once: the runner need not hold tasks back.
        options.max_parallel = _DASK_MAX_PARALLEL
        if args.scheduler:
            options.executor_options["scheduler"] = args.scheduler
        if args.warm_kernels is not None:
            options.executor_options["warm_kernels"] = max(0, args.warm_kernels)
    elif args.scheduler:
        raise UsageError("--scheduler names a Dask scheduler; add --executor dask.")
    if args.max_parallel is not None:
        if args.max_parallel < 1:
            raise UsageError("--max-parallel must be at least 1.")
        options.max_parallel = args.max_parallel
    if args.warm_kernels is not None:
        if args.warm_kernels < 0:
            raise UsageError("--warm-kernels must be 0 or more.")
        options.warm_kernels = args.warm_kernels
    return options


# -- commands -------------------------------------------------------------------------------------------------


def _cmd_run(args: argparse.Namespace) -> int:
    from ..jobs.api import async_run_job
    from ..jobs.spec.loader import load_job, parse_param_overrides

    spec = load_job(args.job_file, job=args.job)
    overrides = parse_param_overrides(args.param)
    options = _options(args)
    display = _Progress(sys.stderr, live=not args.json and sys.stderr.isatty())
    display.store = _store(args)
    document = _run_with_signals(
        lambda on_created: async_run_job(
            spec,
            job_name=args.job,
            parameters=overrides,
            runs_dir=args.runs_dir,
            options=options,
            hooks=display,
            on_created=on_created,
        )
    )
    return _report(document, args)


def _cmd_repair(args: argparse.Namespace) -> int:
    from ..jobs.api import async_repair_run

    options = _options(args)
    display = _Progress(sys.stderr, live=not args.json and sys.stderr.isatty())
    display.store = _store(args)
    document = _run_with_signals(
        lambda on_created: async_repair_run(
            args.run_id,
            tasks=args.task or None,
            runs_dir=args.runs_dir,
            options=options,
            hooks=display,
            on_created=on_created,
        )
    )
    return _report(document, args)


def _run_with_signals(start: Any) -> dict[str, Any]:
    """Run the coroutine made by ``start``; Ctrl-C or SIGTERM cancels the run cleanly (it is still recorded)."""
    runners: list[JobRun] = []

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()

        def cancel() -> None:
            print("\nCanceling the run...", file=sys.stderr)
            for runner in runners:
                runner.cancel()

        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, cancel)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
                pass
        result: dict[str, Any] = await start(runners.append)
        return result

    return asyncio.run(main())


def _report(document: dict[str, Any], args: argparse.Namespace) -> int:
    if args.json:
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_run(document, sys.stdout)
    return 0 if document["state"] in _SUCCESS_STATES else 1


def _cmd_runs(args: argparse.Namespace) -> int:
    from ..document import run_summary

    store = _store(args)
    runs = [run_summary(run) for run in store.list_runs(limit=args.limit)]
    if args.json:
        json.dump(runs, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    if not runs:
        print(f"No runs in {store.root}.")
        return 0
    colour = _use_colour(sys.stdout)
    print(f"{'RUN ID':<28} {'STATE':<22} {'DURATION':>9}  JOB")
    for run in runs:
        duration = f"{run['duration_seconds']:.1f}s" if run["duration_seconds"] is not None else "-"
        state = _paint(f"{run['state']:<22}", run["state"], colour)
        print(f"{run['run_id']:<28} {state} {duration:>9}  {_safe(run['job_name'])}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from ..document import run_document

    store = _store(args)
    document = run_document(store, _resolve_run_id(store, args.run_id))
    if args.task:
        if args.task not in document["tasks"]:
            raise UsageError(
                f"Run {document['run_id']!r} has no task {args.task!r}; its tasks are: "
                + ", ".join(document["tasks"])
            )
        document["tasks"] = {args.task: document["tasks"][args.task]}
    if args.json:
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_run(document, sys.stdout, details=True)
    return 0


def _cmd_get(args: argparse.Namespace) -> int:
    store = _store(args)
    value = store.get_value(_resolve_run_id(store, args.run_id), args.task, args.key)
    print(json.dumps(value, ensure_ascii=False))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from ..jobs.spec.loader import load_job

    spec: JobSpec = load_job(args.job_file, job=args.job)
    kinds = [task.kind for task in spec.tasks]
    print(
        f"Job {spec.name!r} is valid: {len(spec.tasks)} tasks "
        f"({kinds.count('notebook')} notebook, {kinds.count('condition')} condition, "
        f"{kinds.count('for_each')} for-each), {len(spec.parameters)} parameters."
    )
    return 0


# -- display --------------------------------------------------------------------------------------------------


def _use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def _paint(text: str, state: str | None, colour: bool) -> str:
    code = _COLOURS.get(state or "")
    return f"\x1b[{code}m{text}\x1b[0m" if colour and code else text


def _safe(text: Any) -> str:
    """Render text from a run for a terminal: control characters (escape sequences) are shown, not obeyed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def _preview(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = _safe(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_run(document: dict[str, Any], out: TextIO, *, details: bool = False) -> None:
    colour = _use_colour(out)
    duration = document.get("duration_seconds")
    print(
        f"Run {document['run_id']} of job {_safe(document['job_name'])!r}: "
        + _paint(str(document["state"]), document["state"], colour)
        + (f" in {duration:.1f}s" if duration is not None else ""),
        file=out,
    )
    for key, task in document["tasks"].items():
        took = f" {task['duration_seconds']:.1f}s" if task.get("duration_seconds") is not None else ""
        attempts = f" ({len(task['attempts'])} attempts)" if len(task.get("attempts") or []) > 1 else ""
        outcome = f" outcome={task['outcome']}" if task.get("outcome") is not None else ""
        print(
            f"  {_safe(key)}: " + _paint(task["state"], task["state"], colour) + took + attempts + outcome,
            file=out,
        )
        for name, value in task["values"].items():
            print(f"      {_safe(name)} = {_preview(value)}", file=out)
        if task.get("exit_value") is not None:
            print(f"      exit: {_preview(task['exit_value'])}", file=out)
        for iteration in task.get("iterations") or []:
            values = ", ".join(
                f"{_safe(k)}={_preview(v, 30)}" for k, v in iteration.get("values", {}).items()
            )
            print(
                f"      [{iteration['index']}] {_preview(iteration['input'], 30)}: "
                + _paint(iteration["state"], iteration["state"], colour)
                + (f"  {values}" if values else ""),
                file=out,
            )
        if task.get("error") and task["state"] != "SUCCESS":
            first = str(task["error"]).strip().splitlines()[0] if str(task["error"]).strip() else ""
            print(f"      error: {_safe(first)}", file=out)
        if details:
            if task.get("parameters"):
                params = ", ".join(f"{_safe(k)}={_preview(v, 30)}" for k, v in task["parameters"].items())
                print(f"      parameters: {params}", file=out)
            if task.get("output_notebook"):
                print(f"      notebook: {task['output_notebook']}", file=out)


class _Progress(RunHooks):
    """Live task states and values on a terminal; silent when not a TTY."""

    def __init__(self, out: TextIO, *, live: bool) -> None:
        self.out = out
        self.live = live
        self.colour = _use_colour(out)
        self.store: Any = None  # set by the command, to show each task's values as it finishes
        self._shown: dict[str, str] = {}

    def run_started(self, run_id: str, spec: JobSpec) -> None:
        if self.live:
            print(
                f"Running job {_safe(spec.name)!r} as run {run_id} ({len(spec.tasks)} tasks)", file=self.out
            )

    def task_changed(self, run_id: str, task_key: str, record: dict[str, Any]) -> None:
        if not self.live:
            return
        state = record.get("state", "")
        attempts = len(record.get("attempts") or [])
        label = f"{state}#{max(attempts, 1)}"
        if self._shown.get(task_key) == label:
            return
        self._shown[task_key] = label
        suffix = f" (attempt {attempts})" if attempts > 1 else ""
        line = f"  {_safe(task_key)}: " + _paint(state, state, self.colour) + suffix
        if state not in ("SUCCESS", "RUNNING", "PENDING") and record.get("error"):
            line += f"  {_safe(str(record['error']).strip().splitlines()[0])}"
        print(line, file=self.out)
        if state == "SUCCESS" and self.store is not None:
            try:
                values = self.store.list_values(run_id, task_key)
            except (TaskValuesError, OSError):
                return
            for name, record_ in sorted(values.items()):
                print(f"      {_safe(name)} = {_preview(record_.value)}", file=self.out)

    def run_finished(self, run_id: str, state: str) -> None:
        if self.live:
            print(f"Run {run_id} finished: " + _paint(state, state, self.colour), file=self.out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
