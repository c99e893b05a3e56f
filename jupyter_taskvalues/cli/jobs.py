"""The commands that read job files: ``run``, ``repair`` and ``validate``.

``--executor`` offers every executor of :data:`~jupyter_taskvalues.jobs.executors.registry.EXECUTORS`, and each
executor's own flags come from the executor (its ``cli_options``), so a new executor needs no CLI change. The
modules an executor ``requires`` are checked before the run starts: a missing one is one error naming the extra.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from ..store import STORE_BACKENDS, url_scheme
from .errors import EXIT_OK, EXIT_USAGE, UsageError, exit_code_for_state
from .extras import require
from .render import console_for, print_run, print_warnings

if TYPE_CHECKING:
    from ..jobs.model import JobSpec
    from ..jobs.scheduler import JobRun, RunOptions
    from .progress import RunDisplay

__all__ = [
    "SUCCESS_STATES",
    "add_repair_arguments",
    "add_run_arguments",
    "add_validate_arguments",
    "executor_flags",
    "repair",
    "run",
    "validate",
]

#: Run states that exit 0.
SUCCESS_STATES = ("SUCCESS",)
#: Import names a runs-directory URL scheme needs (its fsspec implementation).
_SCHEME_MODULES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "abfs": "adlfs", "az": "adlfs"}


def add_runs_dir(sub: argparse.ArgumentParser) -> None:
    """``--runs-dir``, whose help lists the store registry's URL schemes."""
    schemes = sorted(s for s in STORE_BACKENDS if s != "*")
    kinds = ", ".join(f"{s}://" for s in schemes) + (", or " if schemes else "") + "any fsspec URL"
    sub.add_argument(
        "--runs-dir",
        metavar="DIR|URL",
        help=f"the runs directory: a folder, or {kinds} such as s3://bucket/runs "
        "(default: $JUPYTER_TASKVALUES_RUNS_DIR, else <jupyter data dir>/taskvalues/runs)",
    )


def executor_flags() -> dict[str, list[tuple[str, str, dict[str, str]]]]:
    """Return each executor flag with the executors that take it: ``flag -> [(executor, key, spec)]``."""
    from ..jobs.executors.registry import EXECUTORS, executor_factory

    flags: dict[str, list[tuple[str, str, dict[str, str]]]] = {}
    for name in sorted(EXECUTORS):
        for flag, spec in (getattr(executor_factory(name), "cli_options", None) or {}).items():
            flags.setdefault(flag, []).append((name, spec["key"], spec))
    return flags


def _dest(flag: str) -> str:
    return "executor_option_" + flag.lstrip("-").replace("-", "_")


def _add_execution_options(sub: argparse.ArgumentParser) -> None:
    from ..jobs.executors.registry import EXECUTORS

    add_runs_dir(sub)
    group = sub.add_argument_group("execution")
    group.add_argument(
        "--executor",
        choices=sorted(EXECUTORS),
        default="local",
        help="where notebooks run (default: local, a fresh kernel per task on this machine)",
    )
    group.add_argument(
        "--max-parallel",
        type=int,
        metavar="N",
        help="most tasks running at once (default: the CPU count, or the executor's own default)",
    )
    group.add_argument(
        "--warm-kernels", type=int, metavar="N", help="kernels started ahead (default: twice max-parallel)"
    )
    group.add_argument("--kernel", default="python3", metavar="NAME", help="kernelspec to run tasks in")
    group.add_argument(
        "--max-output-bytes",
        type=int,
        metavar="N",
        help="bytes of each output kept in an executed notebook, head and tail, while the task runs (default "
        "1000000); all of it goes to the task's output log",
    )
    group.add_argument(
        "--max-output-log-bytes",
        type=int,
        metavar="N",
        help="bytes of a task's output log kept, the first ones (default 268435456, 256 MiB); past it the log "
        "ends with a line saying how many bytes were dropped",
    )
    for flag, takers in executor_flags().items():
        names = ", ".join(name for name, _, _ in takers)
        spec = takers[0][2]
        group.add_argument(
            flag, dest=_dest(flag), metavar=spec.get("metavar"), help=f"[{names}] {spec.get('help', '')}"
        )
    shown = sub.add_argument_group("display")
    shown.add_argument(
        "--json", action="store_true", help="print the run document (JSON) on stdout, nothing else"
    )
    shown.add_argument(
        "--no-progress", action="store_true", help="plain progress lines instead of the live table"
    )
    shown.add_argument(
        "--log-output",
        action="store_true",
        help="stream each task's stdout/stderr to stderr as it runs, prefixed by the task key",
    )


def _add_bundle_options(sub: argparse.ArgumentParser) -> None:
    """``--target`` and ``--var``, as the Databricks CLI's bundle commands take them."""
    sub.add_argument("--target", "-t", metavar="NAME", help="the bundle target (default: its default target)")
    sub.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a bundle variable ${var.NAME} (repeatable; beats targets and defaults)",
    )
    sub.add_argument(
        "--user",
        metavar="NAME",
        help="the identity ${workspace.current_user.userName} resolves to "
        "(default: $JUPYTER_TASKVALUES_USER, else the OS user)",
    )


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(
                f"{flag} {item!r} is not NAME=VALUE; write it as {flag} {name.strip() or 'name'}=value."
            )
        pairs[name.strip()] = value
    return pairs


def _load(args: argparse.Namespace, job: str | None) -> JobSpec:
    from ..jobs.spec.loader import load_job

    variables = _pairs(args.var, "--var") or None
    return load_job(args.job_file, job=job, target=args.target, variables=variables, user=args.user)


def require_notebook_readers(spec: JobSpec) -> None:
    """Fail before the run when a task's notebook is a text format and jupytext (an extra) is missing."""
    from ..jobs.notebooks.formats import DATABRICKS_HEADER

    for task in spec.tasks:
        notebook = task.notebook or (task.for_each.task.notebook if task.for_each else None)
        if notebook is None or notebook.path.suffix.lower() == ".ipynb":
            continue
        try:
            with open(notebook.path, encoding="utf-8", errors="replace") as f:
                first = f.readline().strip()
        except OSError:  # the task reports an unreadable notebook itself, with its path
            continue
        if first != DATABRICKS_HEADER:
            require(["jupytext"], feature=f"Task {task.task_key!r} (notebook {notebook.path.name})")


def _add_selection_options(sub: argparse.ArgumentParser) -> None:
    """``--stub``, ``--only`` and ``--from-run``: run part of a job, the rest stubbed or taken from a run."""
    group = sub.add_argument_group("selection")
    group.add_argument(
        "--stub",
        action="append",
        default=[],
        metavar="TASK[=VALUES.json]",
        help="the task succeeds without running, setting the task values of the JSON file (repeatable)",
    )
    group.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TASK[,TASK]|+TASK|TASK+",
        help="run only these tasks (+TASK adds its upstream, TASK+ its downstream; repeatable)",
    )
    group.add_argument(
        "--from-run",
        metavar="RUN_ID",
        help="take the tasks --only leaves out, with their values, from this earlier run (or 'latest')",
    )


def _stubs(items: list[str]) -> dict[str, dict[str, Any]]:
    from ..jobs.tasks.stub import parse_stub_option

    return dict(parse_stub_option(item) for item in items)


def _apply_selection(args: argparse.Namespace, options: RunOptions, store: Any) -> None:

    options.stubs = _stubs(args.stub)
    only = tuple(part.strip() for item in args.only for part in item.split(",") if part.strip())
    options.only = only or None
    if args.from_run is not None:
        if not only:
            raise UsageError("--from-run takes the tasks --only leaves out from an earlier run; add --only.")
        options.from_run = store.resolve_run_id(args.from_run)


def add_run_arguments(sub: argparse.ArgumentParser) -> None:
    """Arguments of ``run``."""
    sub.add_argument(
        "job_file", metavar="JOB_FILE", help="Jobs API JSON/YAML, or an Asset Bundle's databricks.yml"
    )
    sub.add_argument("--job", metavar="NAME", help="which job of a bundle that defines several")
    _add_bundle_options(sub)
    sub.add_argument(
        "--param", "-p", action="append", default=[], metavar="KEY=VALUE", help="override a job parameter"
    )
    _add_execution_options(sub)
    _add_selection_options(sub)


def add_repair_arguments(sub: argparse.ArgumentParser) -> None:
    """Arguments of ``repair``."""
    sub.add_argument("run_id", metavar="RUN_ID", help="a run id, or 'latest'")
    sub.add_argument("--task", action="append", default=[], metavar="T", help="re-run this task (repeatable)")
    _add_bundle_options(sub)
    sub.epilog = (
        "A bundle is read again with the run's target, variables and user; --target, --var and --user override "
        "them. A target other than the run's is allowed (a note says so): the variables then resolve for it, "
        "and only --var values carry over.\n\n" + (sub.epilog or "")
    )
    _add_execution_options(sub)


def add_validate_arguments(sub: argparse.ArgumentParser) -> None:
    """Arguments of ``validate``."""
    sub.add_argument("job_file", metavar="JOB_FILE")
    sub.add_argument("--job", metavar="NAME", help="check only this job of a bundle (default: every job)")
    _add_bundle_options(sub)
    sub.add_argument(
        "--stub",
        action="append",
        default=[],
        metavar="TASK[=VALUES.json]",
        help="plan with this task stubbed",
    )
    sub.add_argument("--json", action="store_true", help="print the jobs and the plan as JSON")
    sub.epilog = (
        "Prints how each task will run here (runs, stubbed, stub needed, disabled...), then on stderr a warning "
        "for each field ignored. Exits 2 when a job is invalid or a task needs a stub; warnings do not change "
        "the exit code.\n\n" + (sub.epilog or "")
    )


def options_from(args: argparse.Namespace) -> RunOptions:
    """Build the run options from the command line; check the executor's requirements before anything runs."""
    from ..jobs.executors.registry import executor_factory
    from ..jobs.scheduler import RunOptions

    factory = executor_factory(args.executor)
    require(getattr(factory, "requires", ()), feature=f"--executor {args.executor}")
    scheme = url_scheme(args.runs_dir) if args.runs_dir else None
    if scheme in _SCHEME_MODULES:
        require([_SCHEME_MODULES[scheme]], feature=f"A runs directory on {scheme}://")
    options = RunOptions(kernel_name=args.kernel, executor=args.executor)
    default_parallel = getattr(factory, "default_max_parallel", None)
    if default_parallel is not None:
        options.max_parallel = int(default_parallel)
    for flag, takers in executor_flags().items():
        value = getattr(args, _dest(flag), None)
        if value is None:
            continue
        keys = {name: key for name, key, _ in takers}
        if args.executor not in keys:
            raise UsageError(
                f"{flag} is an option of --executor {' or '.join(keys)}; add --executor {next(iter(keys))}."
            )
        options.executor_options[keys[args.executor]] = value
    if args.max_parallel is not None:
        if args.max_parallel < 1:
            raise UsageError("--max-parallel must be at least 1.")
        options.max_parallel = args.max_parallel
    if args.warm_kernels is not None:
        if args.warm_kernels < 0:
            raise UsageError("--warm-kernels must be 0 or more.")
        options.warm_kernels = args.warm_kernels
    if getattr(args, "max_output_bytes", None) is not None:
        if args.max_output_bytes < 4096:
            raise UsageError("--max-output-bytes must be at least 4096.")
        options.max_output_bytes = args.max_output_bytes
    if getattr(args, "max_output_log_bytes", None) is not None:
        if args.max_output_log_bytes < 4096:
            raise UsageError("--max-output-log-bytes must be at least 4096.")
        options.max_output_log_bytes = args.max_output_log_bytes
    return options


def _display(args: argparse.Namespace, store: Any) -> RunDisplay:
    # lazy: the live display (rich, asyncio, the run hooks) is for run and repair only, not validate or --help
    from .progress import RunDisplay, progress_mode

    console = console_for(sys.stderr)
    mode = progress_mode(console, no_progress=args.no_progress, quiet=args.quiet)
    return RunDisplay(console, mode=mode, store=store, log_output=args.log_output)


def run(args: argparse.Namespace) -> int:
    """``run``: run a job file, show it as it goes, print the result."""
    from ..jobs.api import async_run_job, open_store
    from ..jobs.spec.loader import parse_param_overrides

    spec = _load(args, args.job)
    print_warnings(spec.warnings, console_for(sys.stderr))
    require_notebook_readers(spec)
    overrides = parse_param_overrides(args.param)
    options = options_from(args)
    store = open_store(args.runs_dir)
    _apply_selection(args, options, store)
    display = _display(args, store)
    document = _run_with_signals(
        display,
        lambda on_created: async_run_job(
            spec,
            job_name=args.job,
            parameters=overrides,
            runs_dir=args.runs_dir,
            options=options,
            hooks=display,
            on_created=on_created,
        ),
    )
    return _report(document, args, store)


def repair(args: argparse.Namespace) -> int:
    """``repair``: re-run a run's failed tasks (or ``--task``) and everything downstream."""
    from ..jobs.api import async_repair_run, open_store

    options = options_from(args)
    store = open_store(args.runs_dir)
    run_id = store.resolve_run_id(args.run_id)
    recorded = store.read_run(run_id).get("target")
    if args.target is not None and args.target != recorded:
        print(
            f"note: run {run_id} ran with {f'target {recorded!r}' if recorded else 'no target'}; this repair "
            f"reads the bundle with target {args.target!r}, its variables as that target resolves them.",
            file=sys.stderr,
        )
    display = _display(args, store)

    def created(on_created: Callable[[JobRun], None]) -> Callable[[JobRun], None]:
        def start(runner: JobRun) -> None:
            print_warnings(runner.spec.warnings, console_for(sys.stderr))
            on_created(runner)

        return start

    document = _run_with_signals(
        display,
        lambda on_created: async_repair_run(
            run_id,
            tasks=args.task or None,
            runs_dir=args.runs_dir,
            options=options,
            hooks=display,
            on_created=created(on_created),
            target=args.target,
            variables=_pairs(args.var, "--var") or None,
            user=args.user,
        ),
    )
    return _report(document, args, store)


def validate(args: argparse.Namespace) -> int:
    """``validate``: load every job of the file (every problem at once) and print the plan of each."""
    from ..exceptions import JobSpecError
    from ..jobs.plan import plan_job, plan_problems, render_plan
    from ..jobs.spec.loader import list_jobs

    names: list[str | None] = [args.job]
    if args.job is None:
        keys = list_jobs(
            args.job_file, target=args.target, variables=_pairs(args.var, "--var") or None, user=args.user
        )
        names = list(keys) if len(keys) > 1 else [None]
    stubs = _stubs(args.stub)
    jobs: list[dict[str, Any]] = []
    lines = []
    warnings: list[str] = []
    for name in names:
        try:
            spec = _load(args, name)
        except JobSpecError as e:
            if len(names) == 1 and not args.json:
                raise
            jobs.append({"job": name, "valid": False, "error": str(e), "warnings": list(e.warnings)})
            if not args.json:
                print(f"error: {e}", file=sys.stderr)
            continue
        jobs.append({"job": spec.name, "valid": True, "error": None, "warnings": list(spec.warnings)})
        warnings.extend(spec.warnings)
        lines.extend(plan_job(spec, stubs=stubs))
        if not args.json:
            kinds = [task.kind for task in spec.tasks]
            print(
                f"Job {spec.name!r} is valid: {len(spec.tasks)} tasks "
                f"({kinds.count('notebook')} notebook, {kinds.count('condition')} condition, "
                f"{kinds.count('for_each')} for-each), {len(spec.parameters)} parameters."
            )
    problems = plan_problems(lines)
    invalid = [job for job in jobs if not job["valid"]]
    if args.json:
        document = {"jobs": jobs, "plan": [line.to_json() for line in lines], "problems": problems}
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_USAGE if invalid or problems else EXIT_OK
    if lines:
        print(render_plan(lines))
    sys.stdout.flush()  # the warnings follow the plan, also when both streams go to one terminal
    print_warnings(list(dict.fromkeys(warnings)), console_for(sys.stderr))  # a bundle-wide one once
    if invalid:
        raise UsageError(
            f"{len(invalid)} of the {len(names)} jobs of {args.job_file} are invalid (see above)."
        )
    return EXIT_USAGE if problems else EXIT_OK


def _run_with_signals(
    display: RunDisplay, start: Callable[[Callable[[JobRun], None]], Coroutine[Any, Any, dict[str, Any]]]
) -> dict[str, Any]:
    """Run the coroutine made by ``start``; Ctrl-C or SIGTERM cancels the run cleanly (it is still recorded)."""
    import asyncio  # lazy: the other commands need no event loop
    import signal

    from ..jobs.hooks import streaming_output

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
        with streaming_output(display):
            return await start(runners.append)

    try:
        return asyncio.run(main())
    finally:
        display.close()


def _report(document: dict[str, Any], args: argparse.Namespace, store: Any) -> int:
    if args.json:
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print_run(document, console_for(sys.stdout), store=store)
    return exit_code_for_state(document["state"])  # 3 for SUCCESS_WITH_FAILURES (cli/errors.py)
