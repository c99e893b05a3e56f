"""The ``dask`` executor: each notebook run is a task on a dask.distributed cluster, in a fresh kernel there.

``jupyter-taskvalues run JOB --executor dask --scheduler tcp://host:8786`` (or
``RunOptions(executor="dask", executor_options={"scheduler": address_or_cluster})``). The job's DAG, run_if,
retries and timeouts stay in the runner (:mod:`.scheduler`); only the notebook runs go to the cluster, one
submission each, so parallel branches and for-each iterations spread over the workers.

For each notebook run:

1. **Runner side.** The notebook is read and converted (:func:`~.notebooks.read_notebook`: any format, ``%run``
   inlined) and sent with the task as ``.ipynb`` JSON, unless ``notebooks="shared"``. A notebook that cannot be
   read fails here, without a round trip.
2. **Worker side** (:func:`run_notebook_task`). The worker claims the submission (see "lost workers"), then
   runs :func:`~.executor.execute_notebook` in a kernel from a :class:`~.kernels.KernelPool` kept per worker
   process on an event loop of its own. With ``notebooks="auto"`` (the default) a worker that sees the
   notebook at the same path (shared storage, the same checkout) runs it from there, in its folder, as the
   local executor does; otherwise it runs the shipped copy in a scratch folder. The kernel reaches the run
   store through the task context: the runs directory travels as a string, so it must be a URL every worker
   can reach (``s3://...``) or a shared file system path.
3. **Executed notebook.** For a store on a URL the worker uploads it
   (:meth:`~jupyter_taskvalues.store.RunStore.write_notebook`); for a local store it writes it in place.

**Warm kernels.** When a run starts, the runner asks every worker (``Client.run``, without waiting) to start
kernels for the run's settings. A worker's pool outlives the run that made it: its ready kernels and its
:mod:`fork server <..kernels.forkserver>` wait for the next notebook, of this run or a later one, so that a
task does not wait for a kernel to start (what a run on a cluster used to pay per task, more than the notebook
itself). Each kernel still runs one task only. The pool is stopped when its worker has run none of its notebooks for
``keep_warm`` seconds, when the worker closes (a worker plugin), or, with ``keep_warm=0``, when the run ends.
A worker keeps at most a few pools (one per kernelspec and settings); the least recently used goes first.

**Cancel.** Cancelling a run sets a ``distributed.Event`` the worker polls twice a second; the worker then
interrupts the kernel and kills it if it does not stop (as locally), and the runner waits for that before the
Dask future is cancelled. **Lost workers.** When a worker dies while running a notebook, Dask runs the task
again elsewhere; that second execution sees the claim (the first worker's address, kept in the scheduler's
metadata of the Dask task, which the scheduler forgets with the task), runs nothing and reports
``Worker tcp://... was lost while running task 'x'``: the attempt fails and the task's ``max_retries`` decides
what happens next (a retry is a new submission). ``KilledWorker`` (the cluster's ``allowed-failures``
exhausted) is reported the same way. A kernel whose worker died exits by itself (ipykernel watches its parent
process, the worker or the fork server, which exits with the worker).

``executor_options``: ``scheduler`` (an address, a ``LocalCluster``, a ``Client``; default: Dask's
``scheduler-address`` config / ``DASK_SCHEDULER_ADDRESS``), ``notebooks`` (``"auto"``, ``"ship"``,
``"shared"``), ``warm_kernels`` (ready kernels kept per worker process; default: two per worker thread),
``keep_warm`` (seconds a worker keeps them after its last notebook, default 300; 0: until the run ends),
``connect_timeout`` (seconds, default 30).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import dataclasses
import importlib
import logging
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ...exceptions import NotebookFormatError, StoreError, TaskValuesError
from ...store import RunStore, open_store, utcnow
from .notebook import NotebookResult, NotebookRun

if TYPE_CHECKING:
    from ..kernels.pool import KernelPool
    from ..scheduler import RunOptions

__all__ = ["DaskExecutor", "WorkerJob", "WorkerKernels", "run_notebook_task"]

log = logging.getLogger(__name__)

_NOTEBOOK_MODES = ("auto", "ship", "shared")
_CANCEL_POLL = 0.5  # seconds between two looks at the cancel event, on the worker
_CANCEL_GRACE = 15.0  # seconds the runner waits for a canceled notebook to stop on its worker
_KEEP_WARM = 300.0  # seconds a worker keeps a pool's kernels after the last notebook it ran
_MAX_POOLS = 4  # pools (kernelspec and settings) a worker keeps at once; the least recently used goes
_CLAIM = "jupyter-taskvalues-worker"  # the claim's name in the metadata of a Dask task
_PLUGIN = "jupyter-taskvalues-kernels"  # the worker plugin that stops a worker's kernels when it closes
LOST = "WorkerLost"


@dataclass(frozen=True)
class WorkerKernels:
    """How a worker starts and keeps the kernels of a run's notebooks."""

    kernel_name: str
    startup_timeout: float
    #: Ready kernels kept per worker process; ``None``: two per worker thread.
    warm_kernels: int | None = None
    #: Seconds the worker keeps them after its last notebook (0: the runner stops them when the run ends).
    keep_warm: float = _KEEP_WARM
    #: Fork kernels from a fork server (``RunOptions.fork_kernels``); ``None``: the worker's environment decides.
    fork: bool | None = None


@dataclass(frozen=True)
class WorkerJob:
    """What a worker receives: the notebook run, the notebook itself (or ``None``) and the run's settings."""

    request: NotebookRun
    token: str
    notebook_json: str | None
    mode: str
    kernels: WorkerKernels


class DaskExecutor:
    """Notebook runs as tasks of a dask.distributed cluster (see the module docstring)."""

    #: How the command line offers this executor (see :mod:`.registry`).
    cli_options: ClassVar[dict[str, dict[str, str]]] = {
        "--scheduler": {
            "key": "scheduler",
            "metavar": "ADDRESS",
            "help": "the Dask scheduler, e.g. tcp://host:8786 (default: $DASK_SCHEDULER_ADDRESS)",
        },
        "--notebooks": {
            "key": "notebooks",
            "metavar": "|".join(_NOTEBOOK_MODES),
            "help": "ship each notebook to the workers, or read it from a shared path (default: auto)",
        },
    }
    #: The cluster queues what its workers cannot take at once: the runner need not hold tasks back.
    default_max_parallel: ClassVar[int] = 256
    requires: ClassVar[tuple[str, ...]] = ("distributed",)

    def __init__(self, options: RunOptions) -> None:
        settings = dict(options.executor_options)
        self.scheduler = settings.get("scheduler")
        self.mode = str(settings.get("notebooks", "auto"))
        if self.mode not in _NOTEBOOK_MODES:
            raise ValueError(
                f"executor_options['notebooks'] is {self.mode!r}; choose one of: {', '.join(_NOTEBOOK_MODES)}."
            )
        # Per worker process; RunOptions.warm_kernels (the CLI's --warm-kernels) when not set here, else the
        # worker's choice: two per thread, as the local executor keeps two per task slot.
        warm = settings.get("warm_kernels", options.warm_kernels)
        self.kernels = WorkerKernels(
            kernel_name=options.kernel_name,
            startup_timeout=options.startup_timeout,
            warm_kernels=None if warm is None else max(0, int(warm)),
            keep_warm=max(0.0, float(settings.get("keep_warm", _KEEP_WARM))),
            fork=options.fork_kernels,
        )
        self.connect_timeout = float(settings.get("connect_timeout", 30))
        self._client: Any = None
        self._connecting: asyncio.Future[Any] | None = None
        self._warming: asyncio.Future[None] | None = None

    def expect(self, count: int) -> None:
        """The run's first notebooks are coming: have every worker start its kernels now, if not warm yet."""
        if count > 0 and self._warming is None:
            self._warming = asyncio.ensure_future(self._warm_workers())

    def forget(self, count: int) -> None:
        """Nothing to undo: the workers' kernels wait for later notebooks, or stop when idle."""

    async def _warm_workers(self) -> None:
        """Ask every worker, without waiting for its answer, to start the kernels of this run's settings."""
        try:
            client = await self._connect()
        except _NoCluster:
            return  # each notebook run reports it
        with contextlib.suppress(Exception):  # a speed-up only: the notebooks start their kernels anyway
            await client.run(_warm_kernels, self.kernels, wait=False)

    # -- connecting ---------------------------------------------------------------------------------------

    def _address(self) -> str:
        scheduler = self.scheduler
        if scheduler is None:
            import dask

            scheduler = dask.config.get("scheduler-address", None)
            if not scheduler:
                raise _NoCluster(
                    "The dask executor needs a scheduler: pass --scheduler ADDRESS (or "
                    "executor_options={'scheduler': ...}), or set DASK_SCHEDULER_ADDRESS."
                )
        if isinstance(scheduler, str):
            return scheduler
        for attribute in ("scheduler_address",):  # a LocalCluster, a dask-jobqueue or dask-kubernetes cluster
            address = getattr(scheduler, attribute, None)
            if isinstance(address, str):
                return address
        inner = getattr(scheduler, "scheduler", None)  # a Client
        address = getattr(inner, "address", None)
        if isinstance(address, str):
            return address
        raise _NoCluster(
            f"Cannot tell the scheduler address of {scheduler!r}; pass its address (tcp://host:port)."
        )

    async def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
        return await asyncio.shield(self._connecting)

    async def _open(self) -> Any:
        address = self._address()
        try:
            client = await _distributed().Client(
                address, asynchronous=True, timeout=self.connect_timeout, set_as_default=False
            )
        except (OSError, asyncio.TimeoutError) as e:
            raise _NoCluster(f"Cannot reach the Dask scheduler at {address}: {e}") from e
        self._client = client
        return client

    # -- running ------------------------------------------------------------------------------------------

    async def run(self, request: NotebookRun) -> NotebookResult:
        """Submit one notebook run to the cluster and wait for its result (see the module docstring)."""
        start = utcnow()
        try:
            notebook_json = _read_for_shipping(request.notebook) if self.mode != "shared" else None
        except (NotebookFormatError, ValueError, OSError) as e:
            return _failed(start, str(e))
        try:
            client = await self._connect()
        except _NoCluster as e:
            return _failed(start, str(e))
        job = WorkerJob(
            request=request,
            token=f"taskvalues-{secrets.token_hex(8)}",
            notebook_json=notebook_json,
            mode=self.mode,
            kernels=self.kernels,
        )
        label = request.task.task_key + (
            f"[{request.task.iteration}]" if request.task.iteration is not None else ""
        )
        future = client.submit(
            run_notebook_task, job, key=f"notebook-{label}-{job.token}", pure=False, retries=0
        )
        try:
            result: NotebookResult = await future
        except asyncio.CancelledError:
            await self._cancel(client, future, job.token)
            raise
        except Exception as e:  # noqa: BLE001 - the worker's failure becomes the task's error, whatever it is
            result = _failed(start, _describe_failure(e, request))
        return result

    async def _cancel(self, client: Any, future: Any, token: str) -> None:
        """Tell the worker to stop the notebook, wait (a while) until it has, then drop the Dask task."""
        event = _distributed().Event(token + "-cancel", client=client)
        with contextlib.suppress(Exception):  # scheduler gone or the grace ran out: the force-cancel follows
            await event.set()
            await asyncio.wait_for(asyncio.shield(future), _CANCEL_GRACE)
        stopped = future.done()
        with contextlib.suppress(Exception):  # a lost connection or finished future: nothing left to cancel
            await client.cancel([future], force=True)
        # Only a stopped notebook's event is cleared: a force-cancel does not stop a worker's thread, a set event does.
        if stopped:
            with contextlib.suppress(Exception):  # a lost scheduler forgot the event anyway
                await event.clear()  # which deletes it on the scheduler

    async def close(self) -> None:
        """Disconnect from the cluster; with ``keep_warm=0``, stop the workers' idle warm kernels first."""
        if self._warming is not None:
            await asyncio.gather(self._warming, return_exceptions=True)
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        client, self._client = self._client, None
        if client is None:
            return
        if not self.kernels.keep_warm:
            with contextlib.suppress(Exception):  # workers or scheduler gone or slow: kernels die with them
                await asyncio.wait_for(client.run(_release_kernels, on_error="ignore"), 30)
        with contextlib.suppress(Exception):  # closing a client whose cluster is gone may raise anything
            await client.close()


def _distributed() -> Any:
    """The ``distributed`` package, imported on first use (only this executor needs it; it is untyped)."""
    return importlib.import_module("distributed")


class _NoCluster(Exception):
    """The cluster cannot be reached; each notebook run fails with this message."""


def _failed(start: str, error: str, ename: str | None = None) -> NotebookResult:
    return NotebookResult(state="FAILED", start_time=start, end_time=utcnow(), error=error, ename=ename)


def _read_for_shipping(path: Path) -> str:
    """The notebook as ``.ipynb`` JSON, converted from its format with ``%run`` included (parameters not yet)."""
    import nbformat

    from ..notebooks.formats import read_notebook

    text: str = nbformat.writes(read_notebook(path))  # type: ignore[no-untyped-call]
    return text


def _describe_failure(error: BaseException, request: NotebookRun) -> str:
    task = repr(request.task.task_key)
    if type(error).__name__ == "KilledWorker":
        worker = getattr(getattr(error, "last_worker", None), "address", "?")
        return (
            f"Worker {worker} was lost while running task {task}, and the cluster gave up on the notebook "
            "(KilledWorker). Check the workers' memory and logs."
        )
    return f"The Dask task of task {task} failed on the cluster: {type(error).__name__}: {error}"


# -- the worker side ------------------------------------------------------------------------------------------


def run_notebook_task(job: WorkerJob) -> NotebookResult:
    """Run one notebook on this Dask worker and return its result (the function the executor submits)."""
    distributed = _distributed()
    start = utcnow()
    worker = distributed.get_worker()
    address = str(worker.address)
    # The claim lives in the scheduler's metadata of this Dask task: a second execution of the task (its first
    # worker died) finds it, and the scheduler drops it with the task. A read of a missing entry is no error.
    client = distributed.get_client()
    claim = [worker.get_current_task(), _CLAIM]
    first = client.get_metadata(claim, default=None)
    if first is not None:
        return _failed(
            start,
            f"Worker {first} was lost while running task {job.request.task.task_key!r} "
            f"(attempt {job.request.task.attempt}).",
            ename=LOST,
        )
    client.set_metadata(claim, address)
    cancel = distributed.Event(job.token + "-cancel", client=client)
    if cancel.is_set():
        return NotebookResult(
            state="CANCELED", start_time=start, end_time=utcnow(), error="The run was canceled."
        )

    runtime = _runtime(worker)
    stop = asyncio.Event()
    running = asyncio.run_coroutine_threadsafe(runtime.execute(job, stop, address), runtime.loop)
    while True:
        try:
            result: NotebookResult = running.result(timeout=_CANCEL_POLL)
            return result
        except concurrent.futures.TimeoutError:
            if not stop.is_set():
                with contextlib.suppress(Exception):  # the scheduler is unreachable: keep running
                    if cancel.is_set():
                        runtime.loop.call_soon_threadsafe(stop.set)


#: What tells a worker's pools apart: the kernelspec, the startup timeout, the warm kernels and forking.
_PoolKey = tuple[str, float, int, bool | None]


@dataclass
class _Kept:
    """A worker's pool, and when it is stopped for want of notebooks."""

    pool: KernelPool
    running: int = 0
    expiry: asyncio.TimerHandle | None = None


class _WorkerRuntime:
    """One per worker process: an event loop on a thread of its own, and the kernel pools on it."""

    def __init__(self, threads: int) -> None:
        self.threads = max(1, threads)
        self.workers: set[str] = set()  # the workers of this process that stop its kernels when they close
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="taskvalues-kernels", daemon=True)
        self.thread.start()
        self.pools: collections.OrderedDict[_PoolKey, _Kept] = collections.OrderedDict()

    def take(self, kernels: WorkerKernels) -> KernelPool:
        """The pool for these settings, made or kept warm, its kernels starting; :meth:`done` gives it back."""
        from ..kernels.pool import KernelPool

        warm = 2 * self.threads if kernels.warm_kernels is None else kernels.warm_kernels
        key = (kernels.kernel_name, kernels.startup_timeout, warm, kernels.fork)
        kept = self.pools.get(key)
        if kept is None:
            pool = KernelPool(
                warm, kernels.kernel_name, startup_timeout=kernels.startup_timeout, fork=kernels.fork
            )
            kept = self.pools[key] = _Kept(pool)
        self.pools.move_to_end(key)
        if kept.expiry is not None:
            kept.expiry.cancel()
            kept.expiry = None
        kept.running += 1
        self._evict()
        # A worker expects notebooks with no end in sight: the pool's demand stays above the kernels it keeps
        # started (``warm`` + 1 once this notebook has taken its kernel). So ``warm`` kernels are ready for the
        # next notebooks, and the pool starts its fork server: a forked kernel costs a fifth of a spawned one's
        # CPU (jobs/kernels/pool.py).
        kept.pool.demand = max(kept.pool.demand, kept.pool.size + 2)
        kept.pool.expect(0)  # start what is missing
        return kept.pool

    def done(self, kernels: WorkerKernels, pool: KernelPool) -> None:
        """A notebook of ``pool`` ended: once none runs, stop the pool after ``keep_warm`` seconds."""
        for key, kept in self.pools.items():
            if kept.pool is pool:
                kept.running -= 1
                if not kept.running and kernels.keep_warm:
                    kept.expiry = self.loop.call_later(kernels.keep_warm, self._expire, key)
                return

    def warm(self, kernels: WorkerKernels) -> None:
        """Start the kernels of these settings ahead of the notebooks (:meth:`DaskExecutor.expect`)."""
        self.done(kernels, self.take(kernels))

    def _evict(self) -> None:
        idle = [key for key, kept in self.pools.items() if not kept.running]
        while len(self.pools) > _MAX_POOLS and idle:
            self._expire(idle.pop(0))

    def _expire(self, key: _PoolKey) -> None:
        kept = self.pools.pop(key, None)
        if kept is not None:
            if kept.expiry is not None:
                kept.expiry.cancel()
            log.debug("stopping the idle kernel pool %s", key)
            self.loop.create_task(kept.pool.close())

    async def execute(self, job: WorkerJob, stop: asyncio.Event, address: str) -> NotebookResult:
        from .notebook import execute_notebook

        start = utcnow()
        request = job.request
        store = open_store(request.task.runs_dir)
        scratch: Path | None = None
        try:
            notebook = request.notebook
            if job.notebook_json is not None and (job.mode == "ship" or not notebook.is_file()):
                scratch = Path(tempfile.mkdtemp(prefix="taskvalues-notebook-"))
                notebook = scratch / (notebook.stem + ".ipynb")
                notebook.write_text(job.notebook_json, encoding="utf-8")
            output = self._output_path(store, request)
        except (OSError, TaskValuesError) as e:
            return _failed(start, f"Cannot prepare the notebook on worker {address}: {e}")
        run = dataclasses.replace(request, notebook=notebook, output_path=output)
        pool = self.take(job.kernels)
        try:
            task = asyncio.ensure_future(execute_notebook(run, pool))
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                return NotebookResult(
                    state="CANCELED", start_time=start, end_time=utcnow(), error="The run was canceled."
                )
            result = task.result()
        finally:
            self.done(job.kernels, pool)
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        if not store.is_local and result.output_notebook:
            try:
                result.output_notebook = store.write_notebook(
                    request.task.run_id, request.task.task_key, request.task.iteration, output
                )
            except (OSError, TaskValuesError) as e:
                result.output_notebook = None
                result.error = (
                    result.error + "\n" if result.error else ""
                ) + f"Could not keep the notebook: {e}"
            with contextlib.suppress(OSError):
                output.unlink()
        return result

    @staticmethod
    def _output_path(store: RunStore, request: NotebookRun) -> Path:
        task = request.task
        if store.is_local:
            if not store.has_run(task.run_id):
                raise StoreError(
                    f"the runs directory {store.root} is not shared with this worker (run {task.run_id!r} is "
                    "not there). Use a URL every worker can reach (s3://...) or a shared file system.",
                    run_id=task.run_id,
                )
            return request.output_path
        return store.notebook_path(task.run_id, task.task_key, task.iteration)

    async def release(self) -> None:
        """Stop every pool now, running notebooks' kernels aside (they stop with their notebooks)."""
        pools, self.pools = self.pools, collections.OrderedDict()
        for kept in pools.values():
            if kept.expiry is not None:
                kept.expiry.cancel()
        await asyncio.gather(*(kept.pool.close() for kept in pools.values()), return_exceptions=True)


_RUNTIME: _WorkerRuntime | None = None
_RUNTIME_LOCK = threading.Lock()


def _runtime(worker: Any) -> _WorkerRuntime:
    global _RUNTIME
    with _RUNTIME_LOCK:
        if _RUNTIME is None:
            _RUNTIME = _WorkerRuntime(int(worker.state.nthreads))
        if worker.address not in _RUNTIME.workers:
            _RUNTIME.workers.add(worker.address)
            _stop_with(worker, _RUNTIME)
        return _RUNTIME


def _stop_with(worker: Any, runtime: _WorkerRuntime) -> None:
    """Stop the kernels when ``worker`` closes (the last of this process's, for in-process workers).

    A worker plugin, added by the worker to itself: a closing worker runs its plugins' teardown.
    """

    base: Any = _distributed().WorkerPlugin  # distributed is imported on first use, and untyped

    class StopKernels(base):  # type: ignore[misc]
        async def teardown(self, worker: Any) -> None:
            runtime.workers.discard(worker.address)
            if not runtime.workers:
                await _release_kernels()

    worker.loop.add_callback(worker.plugin_add, StopKernels(), name=_PLUGIN)


async def _warm_kernels(kernels: WorkerKernels, dask_worker: Any) -> None:
    """Start this worker's kernels for a run's settings (run on every worker by :meth:`DaskExecutor.expect`).

    A coroutine function: ``Client.run(..., wait=False)`` takes no other.
    """
    runtime = _runtime(dask_worker)
    runtime.loop.call_soon_threadsafe(runtime.warm, kernels)


async def _release_kernels() -> None:
    """Stop this worker's idle warm kernels: when it closes, or at the end of a run with ``keep_warm=0``."""
    runtime = _RUNTIME
    if runtime is not None:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(runtime.release(), runtime.loop))
