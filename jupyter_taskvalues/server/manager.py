"""The runner manager: the server extension starts, cancels and repairs job runs, and shuts them down with it.

Each run is one :class:`~jupyter_taskvalues.jobs.scheduler.JobRun` driven by an asyncio task **in the server
process, on the server's event loop**. Why not one subprocess per run: the runner is async and does its heavy
work in kernels, which are processes of their own, so the loop only waits on them; in-process, cancelling one
task is a direct call (:meth:`JobRun.cancel_task`), and the live output of a task reaches the output route
through a hook without a second channel. A run keeps going when the browser tab that started it is closed; it
ends with the server (the manager cancels it: it is recorded ``CANCELED``, its kernels are shut down). A server
killed without a shutdown leaves runs that readers see as ``INTERRUPTED`` (the store's heartbeat), and a repair
finishes them.

Limits are traitlets (``c.RunnerManager.<name>``): :attr:`RunnerManager.max_concurrent_runs` runs at once (a
start past it is refused with a conflict, nothing is created), :attr:`RunnerManager.max_parallel` kernels per
run, :attr:`RunnerManager.output_lines` lines of output kept per running task, for the last
:attr:`RunnerManager.finished_runs_kept` runs.

Run retention is off unless :attr:`RunnerManager.retention_keep` or :attr:`RunnerManager.retention_older_than_days`
is set: then the manager removes old runs from the runs directory when the server starts and every
:attr:`RunnerManager.retention_interval` seconds, through the same function as ``jupyter-taskvalues gc``
(:func:`~jupyter_taskvalues.jobs.retention.collect_garbage`: never a running run, nor one a session is attached to).
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections import OrderedDict
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import Float, Integer, Unicode, default
from traitlets.config import LoggingConfigurable

from ..exceptions import TaskValuesError
from ..jobs.api import async_repair_run, async_run_job, open_store, plan_repair, recorded_settings
from ..jobs.cancel import cancel_refusal
from ..jobs.hooks import streaming_output
from ..jobs.retention import GcResult, collect_garbage
from ..jobs.scheduler import JobRun, RunOptions
from ..jobs.spec.loader import load_job, merge_parameters
from ..records import RunRecord
from ..states import ACTIVE_STATES
from ..store import RunStore, new_run_id, utcnow
from .output import OutputBuffer

__all__ = ["ConflictError", "ManagedRun", "RunnerManager"]


class ConflictError(TaskValuesError):
    """The run or task is not in a state that allows the request (HTTP 409)."""


@dataclass
class ManagedRun:
    """A run the manager started: its asyncio task, its scheduler once created, and its live output."""

    run_id: str
    output: OutputBuffer
    task: asyncio.Task[Any] | None = None
    runner: JobRun | None = None
    created: asyncio.Event = field(default_factory=asyncio.Event)
    rerun: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.task is not None and not self.task.done()


class RunnerManager(LoggingConfigurable):  # type: ignore[misc]
    """Starts, cancels and repairs job runs inside the Jupyter Server (``c.RunnerManager.<name>``)."""

    max_concurrent_runs = Integer(
        4,
        help=(
            "How many job runs (and repairs) the server executes at once. A run started past this limit is "
            "refused with HTTP 409 and nothing is created; 0 means no limit."
        ),
    ).tag(config=True)

    max_parallel = Integer(
        help=(
            "How many notebook tasks of one run execute at once (kernels running in parallel). "
            "Default: the number of CPUs."
        ),
    ).tag(config=True)

    @default("max_parallel")
    def _default_max_parallel(self) -> int:
        return os.cpu_count() or 1

    kernel_name = Unicode(
        "python3", help="The kernelspec notebook tasks run in, when a notebook does not name one."
    ).tag(config=True)

    output_lines = Integer(
        1000,
        help=(
            "How many of the latest output lines (stdout and stderr) the server keeps in memory for each "
            "running task, for the output route and the JupyterLab panel."
        ),
    ).tag(config=True)

    max_output_bytes = Integer(
        1_000_000,
        help=(
            "Bytes of each output a task's executed notebook keeps (its head and tail), applied while the task "
            "runs; everything it prints also goes to the task's output log in the runs directory."
        ),
    ).tag(config=True)

    max_output_log_bytes = Integer(
        256 * 1024 * 1024,
        help=(
            "Bytes of a task's output log (everything it printed, in the runs directory) kept, the first ones; "
            "past it the log ends with a line saying how many bytes were dropped. At least 4096."
        ),
    ).tag(config=True)

    finished_runs_kept = Integer(
        32,
        help=(
            "How many finished runs keep their tasks' output in memory; older ones serve it from their executed "
            "notebooks (the run store keeps every run: nothing is deleted)."
        ),
    ).tag(config=True)

    shutdown_timeout = Float(
        30.0,
        help=(
            "Seconds the server waits, when it stops, for canceled runs to record their state and shut "
            "their kernels down."
        ),
    ).tag(config=True)

    retention_keep = Integer(
        None,
        allow_none=True,
        help=(
            "Run retention: keep this many newest runs in the runs directory and remove the others (as "
            "`jupyter-taskvalues gc --keep N`), at start and every retention_interval seconds. Running runs and "
            "runs a session is attached to always stay. Default: unset (no run is removed)."
        ),
    ).tag(config=True)

    retention_older_than_days = Float(
        None,
        allow_none=True,
        help=(
            "Run retention: remove runs that ended more than this many days ago (as `jupyter-taskvalues gc "
            "--older-than DAYS`); with retention_keep, only runs past both rules go. Default: unset."
        ),
    ).tag(config=True)

    retention_interval = Float(
        3600.0,
        help="Seconds between two run-retention passes while the server runs (0: only at start).",
    ).tag(config=True)

    def __init__(self, runs_dir: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runs_dir = runs_dir
        self._runs: OrderedDict[str, ManagedRun] = OrderedDict()
        self._retention_timer: PeriodicCallback | None = None
        self._collecting = False

    @property
    def store(self) -> RunStore:
        """The run store the manager records runs in."""
        return open_store(self.runs_dir)

    def options(self) -> RunOptions:
        """The run options every run the manager starts gets."""
        return RunOptions(
            max_parallel=max(1, self.max_parallel),
            kernel_name=self.kernel_name,
            max_output_bytes=max(4096, self.max_output_bytes),
            max_output_log_bytes=max(4096, self.max_output_log_bytes),
        )

    # -- starting ------------------------------------------------------------------------------------------

    async def start(
        self,
        path: Path,
        *,
        job: str | None = None,
        target: str | None = None,
        parameters: Mapping[str, str] | None = None,
        variables: Mapping[str, Any] | None = None,
        user: str | None = None,
    ) -> str:
        """Validate the job in ``path`` and start a run of it; return the run id once the run is recorded.

        ``target``, ``variables`` and ``user`` read a bundle as ``run --target/--var/--user`` do.

        Raises
        ------
        JobSpecError
            The job does not validate, or a parameter is not one the job defines; nothing starts.
        ConflictError
            :attr:`max_concurrent_runs` runs are already running.
        """
        overrides = {str(k): str(v) for k, v in (parameters or {}).items()}
        load = functools.partial(load_job, path, job=job, target=target, variables=variables, user=user)
        spec = await asyncio.to_thread(load)
        merge_parameters(spec, overrides)  # refuses an unknown parameter before anything is created
        self._check_capacity()
        run_id = new_run_id()
        managed = ManagedRun(run_id, OutputBuffer(self.output_lines))

        coroutine = async_run_job(
            spec,
            job_name=job,
            parameters=overrides,
            runs_dir=self.runs_dir,
            options=self.options(),
            hooks=managed.output,
            run_id=run_id,
            on_created=functools.partial(self._created, managed),  # the run records its target itself
        )
        await self._launch(managed, coroutine)
        return run_id

    async def rerun(self, run_id: str, parameters: Mapping[str, str] | None = None) -> str:
        """Start a new run of the job file and job of ``run_id``, with its parameters or ``parameters``.

        ``parameters`` are laid over the overrides the earlier run was started with. A bundle is read with the
        run's recorded target, variables and user, as a repair reads it.
        """
        run = await asyncio.to_thread(self.store.read_run, run_id)
        source = run.get("source")
        if not isinstance(source, str) or not Path(source).exists():
            raise ConflictError(
                f"Run {run_id!r} cannot be run again: its job file {source!r} no longer exists.",
                run_id=run_id,
            )
        overrides = dict(run.get("overrides") or {}) | dict(parameters or {})
        job = run.get("job") if isinstance(run.get("job"), str) else None
        settings = recorded_settings(run)
        return await self.start(Path(source), job=job, parameters=overrides, **settings)

    async def repair(
        self,
        run_id: str,
        tasks: Sequence[str] | None = None,
        *,
        target: str | None = None,
        variables: Mapping[str, str] | None = None,
        user: str | None = None,
    ) -> list[str]:
        """Repair the finished run ``run_id``: re-run ``tasks`` (default: the failed ones) and their dependants.

        A bundle is read again with the run's recorded target, variables and user; ``target``, ``variables``
        and ``user`` override them, as ``jupyter-taskvalues repair --target/--var/--user`` do
        (:func:`~jupyter_taskvalues.jobs.api.async_repair_run`). Returns the task keys that run again.

        Raises
        ------
        ConflictError
            The run is still running, or its job file no longer exists.
        JobSpecError
            A task is not part of the job, or the job file no longer validates with these settings (an unknown
            target or variable among them); the run is left as it was.
        """
        store = self.store
        run = await asyncio.to_thread(store.read_run, run_id)
        self._check_finished(run_id, run.get("state"))
        settings: dict[str, Any] = {"target": target, "variables": variables, "user": user}
        rerun = await asyncio.to_thread(_repair_plan, store, run, list(tasks or []), settings)
        # Checked again with no await until the repair is registered: two requests cannot both start one.
        self._check_finished(run_id, run.get("state"))
        self._check_capacity()
        managed = ManagedRun(run_id, OutputBuffer(self.output_lines), rerun=rerun)
        self._runs.pop(run_id, None)
        coroutine = async_repair_run(
            run_id,
            tasks=list(tasks) if tasks else None,
            runs_dir=self.runs_dir,
            options=self.options(),
            hooks=managed.output,
            on_created=lambda runner: self._created(managed, runner),
            **settings,
        )
        await self._launch(managed, coroutine)
        return rerun

    def _check_finished(self, run_id: str, state: Any) -> None:
        managed = self._runs.get(run_id)
        if managed is not None and managed.active:
            state = "RUNNING" if managed.created.is_set() else "PENDING"
        if state in ACTIVE_STATES:
            raise ConflictError(
                f"Run {run_id!r} is {state}; repair it once it has finished (or cancel it first).",
                run_id=run_id,
            )

    def _check_capacity(self) -> None:
        active = sum(1 for managed in self._runs.values() if managed.active)
        if self.max_concurrent_runs and active >= self.max_concurrent_runs:
            raise ConflictError(
                f"{active} runs are running, the server's limit (c.RunnerManager.max_concurrent_runs = "
                f"{self.max_concurrent_runs}); wait for one to finish or cancel one, then start again."
            )

    def _created(self, managed: ManagedRun, runner: JobRun) -> None:
        managed.runner = runner
        managed.created.set()

    async def _launch(self, managed: ManagedRun, coroutine: Awaitable[Any]) -> None:
        """Run ``coroutine`` in the background; return once its run exists, or raise what stopped it first."""
        managed.task = asyncio.ensure_future(_observed(managed.output, coroutine))
        managed.task.add_done_callback(lambda task: self._finished(managed, task))
        self._runs[managed.run_id] = managed
        waiter = asyncio.ensure_future(managed.created.wait())
        await asyncio.wait({waiter, managed.task}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not managed.created.is_set() and managed.task.done():
            self._runs.pop(managed.run_id, None)
            managed.task.result()  # raises what stopped the run before it was recorded

    def _finished(self, managed: ManagedRun, task: asyncio.Task[Any]) -> None:
        error = None if task.cancelled() else task.exception()
        if managed.created.is_set() and (task.cancelled() or error is not None):
            # The runner did not record an end (a crash, or a run abandoned at shutdown): record one, so that
            # the run does not stay RUNNING while this server, its recorded runner, lives.
            if error is not None:
                self.log.error(
                    "jupyter_taskvalues: run %s failed in the runner", managed.run_id, exc_info=error
                )
            self._record_end(managed.run_id, "CANCELED" if error is None else "FAILED", error)
        finished = [key for key, run in self._runs.items() if not run.active]
        for key in finished[: max(0, len(finished) - self.finished_runs_kept)]:
            del self._runs[key]

    def _record_end(self, run_id: str, state: str, error: BaseException | None) -> None:
        store = self.store
        try:
            if store.read_run(run_id).get("state") in ACTIVE_STATES:
                message = (
                    f"The runner stopped: {type(error).__name__}: {error}" if error else "The server stopped."
                )
                store.update_run(run_id, state=state, end_time=utcnow(), error=message)
        except TaskValuesError as e:  # the store cannot be written: the run shows as interrupted later
            self.log.error("jupyter_taskvalues: cannot record the end of run %s: %s", run_id, e)

    # -- while running -------------------------------------------------------------------------------------

    def managed(self, run_id: str) -> ManagedRun | None:
        """Return the run if this server started it (recently), else ``None``."""
        return self._runs.get(run_id)

    def is_active(self, run_id: str) -> bool:
        """Whether ``run_id`` is executing in this server."""
        managed = self._runs.get(run_id)
        return managed is not None and managed.active

    @property
    def active_runs(self) -> list[str]:
        """The ids of the runs executing in this server."""
        return [key for key, managed in self._runs.items() if managed.active]

    def _runner_here(self, run_id: str) -> JobRun | None:
        managed = self._runs.get(run_id)
        if managed is None or not managed.active or managed.runner is None:
            return None
        return managed.runner

    def cancel(self, run_id: str) -> bool:
        """Cancel ``run_id`` if it executes in this server: its running tasks become ``CANCELED``, the others do
        not start. Return ``False`` (doing nothing) for a run this server does not execute: see
        :meth:`request_cancel`."""
        runner = self._runner_here(run_id)
        if runner is None:
            return False
        runner.cancel()
        return True

    def cancel_task(self, run_id: str, task_key: str) -> bool:
        """Cancel one running task of ``run_id`` if the run executes in this server (else return ``False``, as
        :meth:`cancel`); its dependants then follow their ``run_if``.

        Raises
        ------
        ConflictError
            The task is not running.
        """
        runner = self._runner_here(run_id)
        if runner is None:
            return False
        if not runner.cancel_task(task_key):
            state = runner.states.get(task_key, "PENDING")
            raise ConflictError(
                f"Task {task_key!r} of run {run_id!r} is {state}, not running; only a running task can be "
                "canceled.",
                run_id=run_id,
                task_key=task_key,
            )
        return True

    def request_cancel(
        self, run_id: str, task_key: str | None = None, requested_by: str | None = None
    ) -> None:
        """Ask the runner of a run another process executes (the CLI, another server) to cancel it or one task,
        through the store (:mod:`jupyter_taskvalues.jobs.cancel`); it acts within a second. Blocking: call it
        in a worker thread.

        Raises
        ------
        ConflictError
            The run has finished (or its runner is gone), or the task is not running.
        """
        refusal = cancel_refusal(self.store, run_id, task_key)
        if refusal is not None:
            raise ConflictError(refusal, run_id=run_id, task_key=task_key)
        self.store.request_cancel(run_id, task_key, requested_by=requested_by, via="jupyter-server")

    # -- run retention -------------------------------------------------------------------------------------

    @property
    def retention_enabled(self) -> bool:
        """Whether a retention rule is set."""
        return self.retention_keep is not None or self.retention_older_than_days is not None

    def start_retention(self) -> None:
        """Schedule a retention pass on the server's event loop now, and one every :attr:`retention_interval`."""
        if not self.retention_enabled or self._retention_timer is not None:
            return
        IOLoop.current().add_callback(self.collect_garbage)
        if self.retention_interval > 0:
            self._retention_timer = PeriodicCallback(self.collect_garbage, self.retention_interval * 1000)
            self._retention_timer.start()

    async def collect_garbage(self) -> GcResult | None:
        """Run one retention pass with the configured rules (in a thread); ``None`` if off or one is going."""
        if not self.retention_enabled or self._collecting:
            return None
        self._collecting = True
        try:
            result = await asyncio.to_thread(
                collect_garbage,
                self.store,
                keep=self.retention_keep,
                older_than_days=self.retention_older_than_days,
            )
        except (TaskValuesError, OSError, ValueError) as e:  # a bad setting or an unreadable store: say so
            self.log.error("jupyter_taskvalues: run retention failed in %s: %s", self.runs_dir, e)
            return None
        finally:
            self._collecting = False
        if result.removed or result.failed:
            self.log.info(
                "jupyter_taskvalues: run retention removed %d run(s) from %s (%d kept, %d could not be removed)",
                len(result.removed),
                self.runs_dir,
                result.kept,
                len(result.failed),
            )
        return result

    # -- shutdown ------------------------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Cancel every run still executing and wait (up to :attr:`shutdown_timeout`) for it to record it."""
        if self._retention_timer is not None:
            self._retention_timer.stop()
            self._retention_timer = None
        tasks = []
        for managed in list(self._runs.values()):
            if not managed.active or managed.task is None:
                continue
            if managed.runner is not None:
                managed.runner.cancel()
            else:
                managed.task.cancel()
            tasks.append(managed.task)
        if not tasks:
            return
        self.log.info("jupyter_taskvalues: canceling %d running job run(s)", len(tasks))
        _done, pending = await asyncio.wait(tasks, timeout=self.shutdown_timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)


async def _observed(output: OutputBuffer, coroutine: Awaitable[Any]) -> Any:
    """Await ``coroutine`` with the executor's output of its tasks streaming to ``output``."""
    with streaming_output(output):  # inside the run's own asyncio task: its context only
        return await coroutine


def _repair_plan(store: RunStore, run: RunRecord, tasks: list[str], settings: dict[str, Any]) -> list[str]:
    """Return the task keys a repair of ``run`` re-runs, in the job's order (``async_repair_run``'s plan)."""
    source = run.get("source")
    if not isinstance(source, str) or not Path(source).exists():
        raise ConflictError(
            f"Run {run['run_id']!r} cannot be repaired: its job file {source!r} no longer exists.",
            run_id=run["run_id"],
        )
    spec, chosen = plan_repair(store, run, tasks=tasks, **settings)
    return [key for key in spec.task_keys if key in chosen]
