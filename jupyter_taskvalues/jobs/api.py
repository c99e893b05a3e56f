"""The Python API: run a job, repair a run, and read past runs.

``async_run_job`` is the real implementation; ``run_job`` is its synchronous twin (as nbclient's
``execute = run_sync(async_execute)``), for scripts, tests and notebooks::

    from jupyter_taskvalues import run_job
    run = run_job("examples/income/databricks.yml", parameters={"seed": "7"})
    run["state"], run["tasks"]["Best_Model"]["values"]
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..document import run_document
from ..exceptions import JobSpecError, RunNotFoundError
from ..records import BundleSettings, RunRecord, TaskInfo, TaskRecord, blank_task_record
from ..states import FINAL_STATES
from ..store import RunStore, new_run_id, open_store
from .model import JobSpec
from .plan import plan_job, refusal
from .scheduler import ChildRunner, JobRun, RunHooks, RunOptions, downstream_of, repairable
from .selection import select_tasks
from .spec.loader import load_job, merge_parameters

__all__ = [
    "async_repair_run",
    "async_run_job",
    "list_runs",
    "open_store",
    "plan_repair",
    "read_run",
    "recorded_settings",
    "repair_run",
    "run_job",
]

T = TypeVar("T")


def _resolve_parameters(spec: JobSpec, parameters: dict[str, str], run_id: str) -> dict[str, str]:
    """Resolve references in job parameter values (``{{job.start_time.iso_date}}``...) once, at the run's start."""
    from ..references import ResolutionContext, resolve

    context = ResolutionContext(
        job_id=spec.job_id or "", job_name=spec.name, run_id=run_id, job_parameters=parameters
    )
    return {name: resolve(value, context) for name, value in parameters.items()}


def _bundle_settings(spec: JobSpec) -> BundleSettings:
    """What a run records of how its bundle was read, for repair to read it the same way."""
    if spec.target is None and not spec.variables and spec.user is None:
        return {}
    return {"target": spec.target, "variables": spec.variables, "user": spec.user}


def _static_tasks(spec: JobSpec) -> dict[str, TaskInfo]:
    """The description of each task kept in the run record: what the panels draw before the task runs."""
    tasks: dict[str, TaskInfo] = {}
    for task in spec.tasks:
        notebook = task.notebook or (task.for_each.task.notebook if task.for_each else None)
        tasks[task.task_key] = {
            "type": task.kind,
            "task_type": task.type_name,
            "depends_on": [{"task_key": d.task_key, "outcome": d.outcome} for d in task.depends_on],
            "run_if": task.run_if,
            "notebook_path": str(notebook.path) if notebook else None,
            "description": task.description,
        }
    return tasks


async def async_run_job(
    job: str | os.PathLike[str] | JobSpec,
    *,
    job_name: str | None = None,
    parameters: Mapping[str, str] | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    options: RunOptions | None = None,
    hooks: RunHooks | None = None,
    run_id: str | None = None,
    on_created: Any = None,
    parent: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run a job and return its run document.

    Parameters
    ----------
    job
        A job file (Jobs API JSON/YAML or an Asset Bundle's ``databricks.yml``) or a loaded :class:`JobSpec`.
    job_name
        Which job of a bundle that defines several.
    parameters
        Job parameter overrides; each must be a parameter the job defines.
    on_created
        Called with the :class:`~.scheduler.JobRun` once the run exists (the CLI uses it to wire Ctrl-C).
    parent
        For the child run of a ``run_job_task``: ``{"run_id", "task_key"}`` of the task that started it.

    Raises
    ------
    JobSpecError
        Before anything is written: a task needs a workspace and is not stubbed (see :mod:`.plan`), a stub
        names no task, ``options.only`` names an unknown task, or ``options.from_run`` is not a run.
    """
    spec = job if isinstance(job, JobSpec) else load_job(Path(job), job=job_name)
    options = options or RunOptions()
    store = open_store(runs_dir, max_values=options.max_values)
    selected = select_tasks(spec, options.only) if options.only else None
    _check_stubs(spec, options)
    refused = refusal(spec, plan_job(spec, stubs=options.stubs, selected=selected))
    if refused is not None:
        raise refused
    earlier = _earlier_run(store, spec, options.from_run) if options.from_run else None
    run_id = run_id or new_run_id()
    merged = _resolve_parameters(spec, merge_parameters(spec, parameters or {}), run_id)
    run_id = store.create_run(
        job_name=spec.name,
        job_id=spec.job_id,
        tasks=_static_tasks(spec),
        parameters=merged,
        run_id=run_id,
        max_values=options.max_values,
        extra={
            "source": spec.source,
            "job": job_name,
            "overrides": dict(parameters or {}),
            **_bundle_settings(spec),
            **({"warnings": list(spec.warnings)} if spec.warnings else {}),
            **({"parent_run_id": parent["run_id"], "parent_task_key": parent["task_key"]} if parent else {}),
            **({"only": sorted(selected), "from_run": options.from_run} if selected is not None else {}),
        },
    )
    if selected is not None:
        _take_unselected(store, run_id, spec, selected, earlier)

    runner = JobRun(
        spec,
        store,
        run_id,
        parameters=merged,
        options=options,
        hooks=hooks,
        rerun=selected,
        child_runner=_child_runner(spec, store, options),
    )
    if on_created is not None:
        on_created(runner)
    with store.heartbeat(run_id):  # readers on other machines tell a live run from a dead runner by it
        await runner.run()
    return run_document(store, run_id)


async def async_repair_run(
    run_id: str,
    *,
    tasks: Sequence[str] | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    options: RunOptions | None = None,
    hooks: RunHooks | None = None,
    on_created: Any = None,
    target: str | None = None,
    variables: Mapping[str, str] | None = None,
    user: str | None = None,
) -> dict[str, Any]:
    """Re-run the failed, timed-out and canceled tasks of a finished run (or ``tasks``) and all downstream.

    Successful tasks keep their records and values; each re-run task's earlier record moves to its
    ``history``; ``{{job.repair_count}}`` counts the repairs. The job file is read again from where the run
    was started, as Databricks repairs with the job's current settings.

    A bundle is read again with the run's recorded target, variables' values and user; ``target``,
    ``variables`` (each beats the recorded value of its variable) and ``user`` override them. With a ``target``
    other than the recorded one the recorded values are not reused (they were resolved for the other target):
    the bundle's variables resolve for the new target, ``variables`` beating them. The run records what the
    repair read, for the next repair.
    """
    store = open_store(runs_dir)
    run = store.read_run(run_id)
    if run["state"] in ("RUNNING", "PENDING"):
        raise JobSpecError(
            f"Run {run_id!r} is still running; wait for it to finish (or cancel it) before repairing it.",
            run_id=run_id,
        )
    spec, rerun = plan_repair(store, run, tasks=tasks, target=target, variables=variables, user=user)
    repair_count = int(run.get("repair_count", 0)) + 1
    store.update_run(
        run_id,
        repair_count=repair_count,
        state="PENDING",
        warnings=list(spec.warnings),  # the file as read now, as the settings
        **_bundle_settings(spec),
    )
    runner = JobRun(
        spec,
        store,
        run_id,
        parameters=dict(run.get("parameters", {})),
        options=options,
        hooks=hooks,
        rerun=rerun,
        repair_count=repair_count,
        child_runner=_child_runner(spec, store, options or RunOptions()),
    )
    if on_created is not None:
        on_created(runner)
    with store.heartbeat(run_id):  # readers on other machines tell a live run from a dead runner by it
        await runner.run()
    return run_document(store, run_id)


def plan_repair(
    store: RunStore,
    run: RunRecord,
    *,
    tasks: Sequence[str] | None = None,
    target: str | None = None,
    variables: Mapping[str, str] | None = None,
    user: str | None = None,
) -> tuple[JobSpec, set[str]]:
    """Read the job of ``run`` again as a repair does and return it with the task keys the repair re-runs.

    The job file is read with the run's recorded target, variables and user, overridden by ``target``,
    ``variables`` and ``user`` as :func:`async_repair_run` describes; nothing is written.

    Raises
    ------
    JobSpecError
        The job file no longer exists or no longer validates (an unknown target or variable among them), or a
        task of ``tasks`` is not part of the job.
    """
    run_id = run["run_id"]
    source = run.get("source")
    if not source or not Path(source).exists():
        raise JobSpecError(
            f"Run {run_id!r} cannot be repaired: its job file {source!r} no longer exists.", run_id=run_id
        )
    spec = load_job(source, job=run.get("job"), **recorded_settings(run, target, variables, user))
    states = {key: (store.read_task(run_id, key) or {}).get("state", "PENDING") for key in spec.task_keys}
    if tasks:
        unknown = [t for t in tasks if t not in states]
        if unknown:
            raise JobSpecError(
                f"Cannot repair task(s) {', '.join(map(repr, unknown))}: not part of job {spec.name!r} "
                f"(tasks: {', '.join(spec.task_keys)}).",
                run_id=run_id,
            )
        roots = set(tasks)
    else:
        roots = repairable(states)
    return spec, downstream_of(spec, roots)


def recorded_settings(
    run: Mapping[str, Any],
    target: str | None = None,
    variables: Mapping[str, str] | None = None,
    user: str | None = None,
) -> dict[str, Any]:
    """The ``target``, ``variables`` and ``user`` to read a run's bundle with again (a repair, a rerun): the
    run's recorded ones, overridden by those given (the recorded variables only for the recorded target)."""
    recorded = run.get("target")
    reused = (run.get("variables") or {}) if target in (None, recorded) else {}
    return {
        "target": recorded if target is None else target,
        "variables": {**reused, **(variables or {})} or None,
        "user": run.get("user") if user is None else user,
    }


def _child_runner(spec: JobSpec, store: RunStore, options: RunOptions) -> ChildRunner:
    """Return what starts the child run of a ``run_job_task``: the same runs directory and options, none of
    the parent's stubs or selection (their keys are the parent job's tasks)."""

    async def start(job_key: str, job_parameters: dict[str, str], child: str, link: dict[str, str]) -> str:
        child_spec = load_job(
            spec.source, job=job_key, target=spec.target, variables=spec.variables, user=spec.user
        )
        child_options = dataclasses.replace(options, stubs={}, only=None, from_run=None)
        document = await async_run_job(
            child_spec,
            job_name=job_key,
            parameters=job_parameters,
            runs_dir=store.root,
            options=child_options,
            run_id=child,  # no hooks: a display follows its own run; the child is a run of its own
            parent=link,
        )
        return str(document["state"])

    return start


def _check_stubs(spec: JobSpec, options: RunOptions) -> None:
    from ..suggestions import did_you_mean

    keys = spec.task_keys
    unknown = [k for k in options.stubs if k not in keys]
    if unknown:
        message = (
            f"--stub {unknown[0]!r}: job {spec.name!r} has no task {unknown[0]!r}{did_you_mean(unknown[0], keys)} "
            f"(tasks: {', '.join(keys)})."
        )
        raise JobSpecError(message, problems=[message], path=spec.source)


def _earlier_run(store: RunStore, spec: JobSpec, from_run: str) -> RunRecord:
    try:
        run = store.read_run(from_run)
    except (RunNotFoundError, JobSpecError, ValueError) as e:
        raise JobSpecError(
            f"--from-run {from_run!r}: no such run in {store.root} ({e}). Give a run id that "
            "`jupyter-taskvalues runs` lists.",
            path=spec.source,
        ) from None
    if run.get("job_name") != spec.name:
        raise JobSpecError(
            f"--from-run {from_run!r} is a run of job {run.get('job_name')!r}, not of {spec.name!r}; give a run "
            "of the same job.",
            path=spec.source,
        )
    return run


def _take_unselected(
    store: RunStore, run_id: str, spec: JobSpec, selected: set[str], earlier: RunRecord | None
) -> None:
    """Record the tasks ``--only`` leaves out: taken from the earlier run (state and values), else EXCLUDED."""
    from ..store import utcnow

    for task in spec.tasks:
        key = task.task_key
        if key in selected:
            continue
        old = store.read_task(earlier["run_id"], key) if earlier else None
        if earlier is not None and old is not None and old.get("state") in FINAL_STATES:
            record: TaskRecord = {**old, "history": [], "taken_from_run": earlier["run_id"]}
            for value_key, value in store.list_values(earlier["run_id"], key).items():
                store.set_value(run_id, key, value_key, value.value)
        else:
            now = utcnow()
            record = blank_task_record(task.kind)
            record.update(
                {"state": "EXCLUDED", "start_time": now, "end_time": now, "error": None, "not_selected": True}
            )
        store.write_task(run_id, key, record)


def _run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # Called from a running loop (a notebook): run in a worker thread with a loop of its own.
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def run_job(job: str | os.PathLike[str] | JobSpec, **kwargs: Any) -> dict[str, Any]:
    """Synchronous :func:`async_run_job`; works in a notebook too (it runs on a thread of its own there)."""
    return _run_sync(async_run_job(job, **kwargs))


def repair_run(run_id: str, **kwargs: Any) -> dict[str, Any]:
    """Synchronous :func:`async_repair_run`."""
    return _run_sync(async_repair_run(run_id, **kwargs))


def read_run(run_id: str, *, runs_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Return the run document of a past (or running) run."""
    return run_document(open_store(runs_dir), run_id)


def list_runs(
    *, runs_dir: str | os.PathLike[str] | None = None, limit: int | None = 20, offset: int = 0
) -> list[RunRecord]:
    """Return the run records, newest first."""
    return open_store(runs_dir).list_runs(limit=limit, offset=offset)
