"""Run a job's DAG: start each task when its dependencies are done and its ``run_if`` holds, in parallel.

``JobRun.run()`` reads as its steps: mark the run started → start every ready task (notebook tasks in fresh
kernels, condition tasks inline, for-each tasks as iterations) → as each finishes, record it and start what it
unblocked → when nothing is left, judge the job by its leaf tasks and record the result.

Retries, timeouts, cancel and repair (SPEC §4) all live here; the kernel work lives in :mod:`.executor`.
Values of a failed attempt are moved aside when the task is retried, so the next attempt starts with none and
downstream tasks read only the final attempt's values; the run document still lists each attempt's values.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..context import TaskContext
from ..exceptions import ReferenceResolutionError, TaskValuesError, ValueNotFoundError
from ..records import (
    CancelRequest,
    IterationRecord,
    TaskRecord,
    blank_task_record,
    new_attempt,
    new_iteration,
)
from ..references import NO_INPUT, ResolutionContext, render, resolve, resolve_json
from ..states import FINAL_STATES, REPAIRABLE_STATES, job_result, run_if_verdict
from ..store import RunStore, utcnow
from .cancel import describe_request, watch_cancel_requests
from .executors.notebook import NotebookResult, NotebookRun
from .executors.registry import make_executor
from .hooks import RunHooks
from .model import JobSpec, Task
from .tasks.base import TaskRequest, TaskResult
from .tasks.script import run_script
from .tasks.stub import run_stub
from .tasks.wheel import argv_of, run_wheel

if TYPE_CHECKING:  # typing_extensions is not a dependency: only the type checker reads Unpack
    from typing_extensions import Unpack

#: Starts a child run of a job of the same bundle: (job key, job parameters, child run id, parent) -> state.
ChildRunner = Callable[[str, dict[str, str], str, dict[str, str]], Awaitable[str]]

__all__ = ["JobRun", "RunHooks", "RunOptions", "downstream_of"]

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    """How a run executes. ``max_parallel`` bounds the kernels running at once (default: the CPU count)."""

    max_parallel: int = field(default_factory=lambda: os.cpu_count() or 1)
    warm_kernels: int | None = None  # kernels started ahead; default: twice max_parallel
    kernel_name: str = "python3"
    startup_timeout: float = 60.0
    fork_kernels: bool | None = None  # fork ipykernels; default: JUPYTER_TASKVALUES_FORK_KERNELS, else on
    max_values: int | None = None
    executor: str = "local"  # a name in jobs.executors.EXECUTORS
    executor_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"scheduler": "tcp://..."}
    #: Tasks that succeed with these task values instead of running (``--stub TASK[=VALUES.json]``).
    stubs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Run only these tasks (``--only``: ``T``, ``+T`` with its upstream, ``T+`` with its downstream).
    only: tuple[str, ...] | None = None
    #: The earlier run the tasks not selected by ``only`` are taken from, with their values.
    from_run: str | None = None
    #: Bytes kept per output of an executed notebook, while the task runs (``--max-output-bytes``; default 1 MB).
    max_output_bytes: int | None = None
    #: Bytes a task's output log keeps, the first ones (``--max-output-log-bytes``; default 256 MiB).
    max_output_log_bytes: int | None = None


def downstream_of(spec: JobSpec, roots: Iterable[str]) -> set[str]:
    """Return ``roots`` and every task that depends on one of them, directly or not."""
    result = set(roots)
    changed = True
    while changed:
        changed = False
        for task in spec.tasks:
            if task.task_key not in result and any(d.task_key in result for d in task.depends_on):
                result.add(task.task_key)
                changed = True
    return result


class JobRun:
    """One run (or repair) of a job.

    Parameters
    ----------
    spec
        The validated job.
    store
        Where the run is recorded.
    run_id
        The run, already created in ``store``.
    parameters
        The job parameters of this run, defaults merged with overrides.
    rerun
        For a repair: the tasks to run again. Every other task keeps its record and values.
    """

    def __init__(
        self,
        spec: JobSpec,
        store: RunStore,
        run_id: str,
        *,
        parameters: dict[str, str],
        options: RunOptions | None = None,
        hooks: RunHooks | None = None,
        rerun: set[str] | None = None,
        repair_count: int = 0,
        child_runner: ChildRunner | None = None,
    ) -> None:
        self.spec = spec
        self.store = store
        self.run_id = run_id
        self.parameters = parameters
        self.options = options or RunOptions()
        self.hooks = hooks or RunHooks()
        self.repair_count = repair_count
        self.child_runner = child_runner
        self.records: dict[str, TaskRecord] = {}
        self.states: dict[str, str] = {}
        self._rerun = set(spec.task_keys) if rerun is None else rerun
        self._running: dict[str, asyncio.Task[None]] = {}
        self._canceled = False
        self._cancel_request: CancelRequest | None = None
        self._timed_out = False
        self._slots = asyncio.Semaphore(max(1, self.options.max_parallel))
        self._executor = make_executor(self.options)
        self._start = dt.datetime.now(dt.timezone.utc)

    # -- the run ------------------------------------------------------------------------------------------

    async def run(self) -> str:
        """Execute the job and return its result state. Never raises for a task's failure."""
        self._load_records()
        self.store.update_run(
            self.run_id, state="RUNNING", start_time=utcnow(), end_time=None, cancel_request=None
        )
        self.hooks.run_started(self.run_id, self.spec)
        # Other processes cancel through the store (jupyter-taskvalues cancel, a server that did not start it).
        watcher = asyncio.ensure_future(watch_cancel_requests(self.store, self.run_id, self._honour))
        self._executor.expect(
            sum(1 for t in self.spec.tasks if t.task_key in self._rerun and self._uses_kernel(t))
        )
        try:
            timeout = self.spec.timeout_seconds or None
            try:
                await asyncio.wait_for(self._drive(), timeout)
            except asyncio.TimeoutError:
                self._timed_out = True
                await self._stop_all("TIMEDOUT", "The job timed out (timeout_seconds of the job).")
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            await self._executor.close()
            with contextlib.suppress(OSError, TaskValuesError):
                self.store.sweep(self.run_id)
        leaves = [
            t.task_key
            for t in self.spec.tasks
            if not any(t.task_key in (d.task_key for d in other.depends_on) for other in self.spec.tasks)
        ]
        state = job_result(self.states, leaves, canceled=self._canceled, timed_out=self._timed_out)
        self.store.update_run(
            self.run_id, state=state, end_time=utcnow(), cancel_request=self._cancel_request
        )
        self.hooks.run_finished(self.run_id, state)
        return state

    def cancel(self) -> None:
        """Cancel the run: running tasks are interrupted and marked ``CANCELED``, the rest ``UPSTREAM_CANCELED``."""
        self._canceled = True
        for future in self._running.values():
            future.cancel()

    def cancel_task(self, task_key: str) -> bool:
        """Cancel one running task: it becomes ``CANCELED`` and its dependants follow their ``run_if``.

        Returns ``False`` (and does nothing) when the task is not running.
        """
        return self._cancel_task(task_key, "The task was canceled.")

    def _cancel_task(self, task_key: str, message: str) -> bool:
        future = self._running.get(task_key)
        if future is None or future.done():
            return False
        self.records[task_key]["error"] = message
        future.cancel()
        return True

    def _honour(self, request: CancelRequest) -> None:
        """Act on a cancel request another process wrote in the store (see :mod:`.cancel`)."""
        task_key = request.get("task_key")
        if int(request.get("repair_count") or 0) != self.repair_count:
            log.info(
                "Ignoring a cancel request of run %s made before its repair %d.",
                self.run_id,
                self.repair_count,
            )
            return
        if task_key is None:
            if not self._canceled:
                log.info("Canceling run %s %s.", self.run_id, describe_request(request))
                self._cancel_request = request
                self.cancel()
            return
        if task_key not in self._running:
            log.info(
                "Ignoring a cancel request of task %s of run %s: it is not running.", task_key, self.run_id
            )
            return
        log.info("Canceling task %s of run %s %s.", task_key, self.run_id, describe_request(request))
        self.records[task_key]["cancel_request"] = request
        self._cancel_task(task_key, f"The task was canceled {describe_request(request)}.")

    def _cancel_message(self) -> str:
        """The error of a task stopped by the run's cancel."""
        if self._cancel_request is None:
            return "The run was canceled."
        return f"The run was canceled {describe_request(self._cancel_request)}."

    async def _drive(self) -> None:
        while True:
            self._start_ready_tasks()
            if not self._running:
                return
            finished, _ = await asyncio.wait(self._running.values(), return_when=asyncio.FIRST_COMPLETED)
            for key, future in list(self._running.items()):
                if future in finished:
                    del self._running[key]
                    if not future.cancelled() and future.exception() is not None:
                        self._internal_error(key, future.exception())

    async def _stop_all(self, state: str, message: str) -> None:
        running = dict(self._running)
        for future in running.values():
            future.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)
        for key in running:
            record = self.records[key]
            record["error"] = message
            self._finish(key, state)
        self._running.clear()
        for task in self.spec.tasks:
            if task.task_key not in self.states or self.states[task.task_key] not in FINAL_STATES:
                self._finish(task.task_key, "UPSTREAM_CANCELED")

    def _uses_kernel(self, task: Task) -> bool:
        return task.kind == "notebook" and not task.disabled and self._stub_of(task) is None

    def _stub_of(self, task: Task) -> dict[str, Any] | None:
        return self.options.stubs.get(task.task_key, task.stub)

    def _disabled_verdict(self, task: Task) -> str | None:
        """Databricks' rule for a task downstream of disabled tasks: ``"DISABLED"`` when it cannot run for them.

        ``ALL_SUCCESS`` and ``ALL_FAILED`` are not met by a disabled parent; ``AT_LEAST_ONE_SUCCESS``,
        ``NONE_FAILED`` and ``AT_LEAST_ONE_FAILED`` judge the other parents (none left: disabled too);
        ``ALL_DONE`` counts a disabled parent as done.
        """
        disabled = [
            d
            for d in task.depends_on
            if self.records.get(d.task_key, {}).get("termination_code") == "DISABLED"
        ]
        if not disabled:
            return None
        if task.run_if in ("ALL_SUCCESS", "ALL_FAILED"):
            return "DISABLED"
        if task.run_if != "ALL_DONE" and len(disabled) == len(task.depends_on):
            return "DISABLED"
        return None

    def _start_ready_tasks(self) -> None:
        progressed = True
        while progressed:
            progressed = False
            for task in self.spec.tasks:
                key = task.task_key
                if self.states.get(key) in FINAL_STATES or key in self._running:
                    continue
                dependency_states = [self._dependency_state(d.task_key, d.outcome) for d in task.depends_on]
                if any(state not in FINAL_STATES for state in dependency_states):
                    continue
                if task.disabled or self._disabled_verdict(task):
                    if self._uses_kernel(task):
                        self._executor.forget(1)
                    # Databricks ends a disabled task with the termination code DISABLED; it counts as skipped.
                    self.records[key].update({"termination_code": "DISABLED", "disabled": True})
                    self._finish(key, "EXCLUDED")
                    progressed = True
                    continue
                others = [
                    state
                    for d, state in zip(task.depends_on, dependency_states)
                    if self.records.get(d.task_key, {}).get("termination_code") != "DISABLED"
                ]  # a disabled parent is left out of the run_if judgement (see _disabled_verdict)
                verdict = "UPSTREAM_CANCELED" if self._canceled else run_if_verdict(task.run_if, others)
                if verdict is not None:
                    if self._uses_kernel(task):
                        self._executor.forget(1)
                    self._finish(key, verdict)
                    progressed = True
                    continue
                self._running[key] = asyncio.ensure_future(self._run_task(task))

    def _dependency_state(self, task_key: str, outcome: str | None) -> str:
        state = self.states.get(task_key, "PENDING")
        if outcome is not None and state == "SUCCESS" and self.records[task_key].get("outcome") != outcome:
            return "EXCLUDED"
        return state

    # -- records ------------------------------------------------------------------------------------------

    def _load_records(self) -> None:
        """Start every task's record: fresh for tasks that run, kept (with their history) for the others."""
        for task in self.spec.tasks:
            key = task.task_key
            old = self.store.read_task(self.run_id, key)
            if key not in self._rerun and old is not None and old.get("state") in FINAL_STATES:
                self.records[key] = old
                self.states[key] = old["state"]
                continue
            history = list(old.get("history", [])) if old else []
            if old is not None and old.get("state") != "PENDING":
                earlier: TaskRecord = {**old, "repair": len(history)}
                earlier.pop("history", None)
                earlier.pop("task_key", None)
                history.append(earlier)
                self.store.clear_task_values(self.run_id, key)
            self.records[key] = blank_task_record(task.kind)
            self.records[key]["history"] = history
            self.states[key] = "PENDING"
            self.store.write_task(self.run_id, key, self.records[key])

    def _update(self, key: str, **fields: Unpack[TaskRecord]) -> None:
        record = self.records[key]
        record.update(fields)
        if "state" in fields:
            self.states[key] = fields["state"]
        self.store.write_task(self.run_id, key, record)
        self.hooks.task_changed(self.run_id, key, record)

    def _finish(self, key: str, state: str) -> None:
        record = self.records[key]
        now = utcnow()
        self._update(key, state=state, start_time=record.get("start_time") or now, end_time=now)

    def _internal_error(self, key: str, error: BaseException | None) -> None:
        log.error("task %s failed inside the runner", key, exc_info=error)
        self.records[key]["error"] = f"Internal error in the runner: {type(error).__name__}: {error}"
        self._finish(key, "FAILED")

    # -- one task -----------------------------------------------------------------------------------------

    async def _run_task(self, task: Task) -> None:
        key = task.task_key
        self.records[key].update({"state": "RUNNING", "start_time": utcnow()})
        self.states[key] = "RUNNING"
        stub = self._stub_of(task)
        if task.kind != "notebook" or stub is not None:
            self._update(key)  # a notebook task's record is written once, when its kernel is ready to go
        try:
            if stub is not None:
                result = run_stub(self.store, self.run_id, key, stub)
                self._finish(key, _settle(self.records[key], result))
            elif task.kind == "workspace":
                assert task.workspace is not None
                self.records[key]["error"] = (
                    f"Task {key!r} is a {task.workspace.type_name}, which needs a Databricks workspace; stub it "
                    f"(--stub {key}=VALUES.json) or leave it out (--only)."
                )
                self._finish(key, "FAILED")
            elif task.kind == "run_job":
                await self._run_child_job(task)
            elif task.kind == "condition":
                self._run_condition(task)
            elif task.kind == "for_each":
                await self._run_for_each(task)
            else:  # notebook, script and wheel tasks: attempts with the retry policy
                last = await self._run_notebook_attempts(task, self.records[key], key)
                self._finish(key, _settle(self.records[key], last))
        except asyncio.CancelledError:
            if self.states.get(key) not in FINAL_STATES:
                self.records[key].setdefault("error", None)
                self.records[key]["error"] = self.records[key]["error"] or self._cancel_message()
                self._finish(key, "CANCELED")
            raise

    async def _run_child_job(self, task: Task) -> None:
        from ..store import new_run_id

        assert task.run_job is not None
        key = task.task_key
        job_key = task.run_job.job_key or self.spec.bundle_jobs.get(task.run_job.job_id)
        ctx = self._context(task, execution_count=1)
        try:
            parameters = {n: resolve(v, ctx) for n, v in task.run_job.job_parameters.items()}
        except ReferenceResolutionError as e:
            self.records[key]["error"] = str(e)
            self._finish(key, "FAILED")
            return
        if job_key is None or self.child_runner is None:
            self.records[key]["error"] = (
                f"Task {key!r} runs job {task.run_job.job_id!r}, which is not a job of this bundle; stub it "
                f"(--stub {key}=VALUES.json) or define the job in the bundle."
            )
            self._finish(key, "FAILED")
            return
        child = new_run_id()
        self._update(key, child_run_id=child, child_job=job_key, parameters=parameters)
        try:
            state = await self.child_runner(
                job_key, parameters, child, {"run_id": self.run_id, "task_key": key}
            )
        except TaskValuesError as e:
            self.records[key]["error"] = f"The child run of job {job_key!r} could not start: {e}"
            self._finish(key, "FAILED")
            return
        if state != "SUCCESS":
            self.records[key]["error"] = f"The child run {child} of job {job_key!r} ended {state}."
        self.records[key]["child_result_state"] = state
        self._finish(
            key, "SUCCESS" if state == "SUCCESS" else "CANCELED" if state == "CANCELED" else "FAILED"
        )

    def _run_condition(self, task: Task) -> None:
        assert task.condition is not None
        key = task.task_key
        try:
            left = resolve(task.condition.left, self._context(task, execution_count=1))
            right = resolve(task.condition.right, self._context(task, execution_count=1))
            outcome = _compare(task.condition.op, left, right, key)
        except (ReferenceResolutionError, ValueError) as e:
            self.records[key]["error"] = str(e)
            self._finish(key, "FAILED")
            return
        self.records[key].update(
            {"outcome": "true" if outcome else "false", "parameters": {"left": left, "right": right}}
        )
        self._finish(key, "SUCCESS")

    async def _run_for_each(self, task: Task) -> None:
        assert task.for_each is not None
        key = task.task_key
        try:
            inputs = resolve_json(task.for_each.inputs, self._context(task, execution_count=1))
        except (ReferenceResolutionError, ValueError) as e:
            self.records[key]["error"] = f"Cannot read the inputs of for-each task {key!r}: {e}"
            self._finish(key, "FAILED")
            return
        nested = task.for_each.task
        iterations = [new_iteration(i, item) for i, item in enumerate(inputs)]
        self._update(key, iterations=iterations, parameters={"inputs": render(inputs)})
        if nested.kind == "notebook":
            self._executor.expect(len(iterations))
        limit = asyncio.Semaphore(max(1, task.for_each.concurrency))

        async def one(iteration: IterationRecord) -> None:
            async with limit:
                iteration.update({"state": "RUNNING", "start_time": utcnow()})
                self._update(key)
                if nested.kind == "condition":
                    assert nested.condition is not None
                    ctx = self._context(nested, execution_count=1, element=iteration["input"])
                    try:
                        left = resolve(nested.condition.left, ctx)
                        right = resolve(nested.condition.right, ctx)
                        iteration["outcome"] = (
                            "true" if _compare(nested.condition.op, left, right, key) else "false"
                        )
                        iteration["state"] = "SUCCESS"
                    except (ReferenceResolutionError, ValueError) as e:
                        iteration.update({"state": "FAILED", "error": str(e)})
                else:
                    _settle(iteration, await self._run_notebook_attempts(nested, iteration, key, iteration))
                iteration["end_time"] = utcnow()
                self._update(key)

        await asyncio.gather(*(one(it) for it in iterations))
        failed = [it["index"] for it in iterations if it["state"] != "SUCCESS"]
        if failed:
            self.records[key]["error"] = (
                f"{len(failed)} of {len(iterations)} iterations failed (iterations {_ranges(failed)})."
            )
        self._finish(key, "FAILED" if failed else "SUCCESS")

    async def _run_notebook_attempts(
        self,
        task: Task,
        record: TaskRecord | IterationRecord,
        key: str,
        iteration: IterationRecord | None = None,
    ) -> NotebookResult | TaskResult:
        """Run a notebook, script or wheel task (or one for-each iteration) with its retry policy; return the
        last attempt's result."""
        index = iteration["index"] if iteration is not None else None
        element = iteration["input"] if iteration is not None else NO_INPUT
        attempts = record.setdefault("attempts", [])
        while True:
            number = len(attempts) + 1
            if number > 1 and iteration is None:
                self.store.archive_attempt(self.run_id, key, number - 1)
            try:
                parameters = self._notebook_parameters(task, number, element)
                argv = self._argv(task, number, element)
            except ReferenceResolutionError as e:
                return TaskResult("FAILED", utcnow(), utcnow(), error=str(e))
            record["parameters"] = parameters
            attempt = new_attempt(number, utcnow())
            # Recorded when it gets its slot: one write on the critical path, not two.
            attempts.append(attempt)
            context = TaskContext(
                run_id=self.run_id,
                task_key=key,
                runs_dir=str(self.store.root),
                iteration=index,
                attempt=number,
                parameters=parameters,
                max_values=self.options.max_values,
            )
            async with self._slots:
                attempt.update({"state": "RUNNING", "start_time": utcnow()})
                self._update(key)
                try:
                    result = await self._attempt(task, context, parameters, argv)
                except asyncio.CancelledError:
                    message = record.get("error") if iteration is None else None
                    error = message or self._cancel_message()
                    attempt.update({"state": "CANCELED", "end_time": utcnow(), "error": error})
                    if iteration is not None:
                        iteration.update({"state": "CANCELED", "error": self._cancel_message()})
                    raise
            attempt.update({"state": result.state, "end_time": result.end_time, "error": result.error})
            if result.state == "SUCCESS" or not _should_retry(task, result, number):
                return result
            self._update(key)
            await asyncio.sleep(task.min_retry_interval_millis / 1000)

    async def _attempt(
        self, task: Task, context: TaskContext, parameters: dict[str, str], argv: list[str]
    ) -> NotebookResult | TaskResult:
        """Run one attempt of a notebook (through the executor), script or wheel task."""
        timeout = float(task.timeout_seconds) or None
        if task.notebook is not None:
            request = NotebookRun(
                notebook=task.notebook.path,
                task=context,
                output_path=self.store.notebook_path(self.run_id, context.task_key, context.iteration),
                parameters=parameters,
                timeout=timeout,
                max_output_bytes=self.options.max_output_bytes,
                max_log_bytes=self.options.max_output_log_bytes,
            )
            return await self._executor.run(request)
        cap = self.options.max_output_log_bytes
        if task.script is not None:
            cwd = task.script.path.parent
            return await run_script(task.script, argv, TaskRequest(context, cwd, timeout, cap))
        assert task.wheel is not None
        cwd = Path(self.spec.source or ".").resolve().parent
        return await run_wheel(
            task.wheel,
            argv,
            TaskRequest(context, cwd, timeout, cap),
            self.store.logs_dir(self.run_id) / "wheels",
        )

    def _argv(self, task: Task, execution_count: int, element: Any) -> list[str]:
        """The resolved command-line arguments of a script or wheel task (``[]`` for a notebook)."""
        ctx = self._context(task, execution_count=execution_count, element=element)
        if task.script is not None:
            return [resolve(value, ctx) for value in task.script.parameters]
        if task.wheel is not None:
            named = {n: resolve(v, ctx) for n, v in task.wheel.named_parameters.items()}
            return argv_of(task.wheel, [resolve(v, ctx) for v in task.wheel.parameters], named)
        return []

    def _notebook_parameters(self, task: Task, execution_count: int, element: Any) -> dict[str, str]:
        """Resolve the task's ``base_parameters``, then push the job parameters down (they win, as on Databricks)."""
        ctx = self._context(task, execution_count=execution_count, element=element)
        given = task.notebook.base_parameters if task.notebook is not None else {}
        parameters = {name: resolve(value, ctx) for name, value in given.items()}
        parameters.update(self.parameters)
        return parameters

    def _context(self, task: Task, *, execution_count: int, element: Any = NO_INPUT) -> ResolutionContext:
        store, run_id = self.store, self.run_id

        def task_value(task_key: str, key: str) -> Any:
            return store.get_value(run_id, task_key, key)

        def task_info(task_key: str, name: str) -> Any:
            state = self.states.get(task_key, "PENDING")
            if name == "result_state":
                return state.lower()
            if name == "error_code":
                return "" if state in ("SUCCESS", "EXCLUDED", "PENDING", "RUNNING") else state
            if name == "run_id":
                return f"{run_id}.{task_key}"
            if name == "execution_count":
                return len(self.records.get(task_key, {}).get("attempts") or [])
            if name == "notebook_path":
                other = self.spec.task(task_key)
                notebook = other.notebook or (other.for_each.task.notebook if other.for_each else None)
                return str(notebook.path) if notebook else ""
            raise ValueNotFoundError(f"Unknown task field {name!r}.", task_key=task_key, key=name)

        notebook_path = str(task.notebook.path) if task.notebook is not None else ""
        return ResolutionContext(
            job_id=self.spec.job_id or "",
            job_name=self.spec.name,
            run_id=run_id,
            repair_count=self.repair_count,
            job_parameters=self.parameters,
            start_time=self._start,
            trigger_time=self._start,
            trigger_type="ONE_TIME" if not self.repair_count else "RETRY",
            task_name=task.task_key,
            task_run_id=f"{run_id}.{task.task_key}",
            execution_count=execution_count,
            notebook_path=notebook_path,
            for_each_input=element,
            task_value=task_value,
            task_info=task_info,
            allow_missing=self.spec.allow_missing_references,
        )


def _settle(record: TaskRecord | IterationRecord, result: NotebookResult | TaskResult) -> str:
    """Record the result of a task's (or iteration's) last attempt in its record; return its state."""
    record["state"] = result.state
    record["error"] = result.error
    record["exit_value"] = result.exit_value
    if isinstance(result, TaskResult):
        if result.stubbed:
            record["stubbed"] = True
    else:
        record["output_notebook"] = result.output_notebook
        record["warnings"] = list(result.warnings)
        record["notebook_runs"] = list(result.notebook_runs)
    return result.state


def _should_retry(task: Task, result: NotebookResult | TaskResult, attempt: int) -> bool:
    if result.state == "CANCELED":
        return False
    if result.state == "TIMEDOUT" and not task.retry_on_timeout:
        return False
    return task.max_retries == -1 or attempt <= task.max_retries


_NUMERIC_OPS = {
    "GREATER_THAN": lambda a, b: a > b,
    "GREATER_THAN_OR_EQUAL": lambda a, b: a >= b,
    "LESS_THAN": lambda a, b: a < b,
    "LESS_THAN_OR_EQUAL": lambda a, b: a <= b,
}


def _compare(op: str, left: str, right: str, task_key: str) -> bool:
    """Compare two resolved operands as a condition task does: strings for equality, numbers otherwise."""
    if op == "EQUAL_TO":
        return left == right
    if op == "NOT_EQUAL":
        return left != right
    numbers = []
    for side, text in (("left", left), ("right", right)):
        try:
            numbers.append(float(text))
        except ValueError:
            raise ValueError(
                f"Condition task {task_key!r}: the {side} operand {text!r} is not a number, but {op} compares "
                "numbers. Use EQUAL_TO/NOT_EQUAL for strings, or fix the value it reads."
            ) from None
    return bool(_NUMERIC_OPS[op](numbers[0], numbers[1]))


def _ranges(indices: list[int]) -> str:
    shown = ", ".join(str(i) for i in indices[:10])
    return shown + (f" and {len(indices) - 10} more" if len(indices) > 10 else "")


def repairable(states: dict[str, str]) -> set[str]:
    """Return the tasks a repair re-runs by default: failed, timed out, canceled, or never finished."""
    return {key for key, state in states.items() if state in REPAIRABLE_STATES or state not in FINAL_STATES}
