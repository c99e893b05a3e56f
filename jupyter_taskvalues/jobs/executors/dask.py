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
   runs :func:`~.executor.execute_notebook` in a kernel from a small :class:`~.kernels.KernelPool` kept per
   worker process on an event loop of its own. With ``notebooks="auto"`` (the default) a worker that sees the
   notebook at the same path (shared storage, the same checkout) runs it from there, in its folder, as the
   local executor does; otherwise it runs the shipped copy in a scratch folder. The kernel reaches the run
   store through the task context: the runs directory travels as a string, so it must be a URL every worker
   can reach (``s3://...``) or a shared file system path.
3. **Executed notebook.** For a store on a URL the worker uploads it
   (:meth:`~jupyter_taskvalues.store.RunStore.write_notebook`); for a local store it writes it in place.

**Cancel.** Cancelling a run sets a ``distributed.Event`` the worker polls twice a second; the worker then
interrupts the kernel and kills it if it does not stop (as locally), and the runner waits for that before the
Dask future is cancelled. **Lost workers.** When a worker dies while running a notebook, Dask runs the task
again elsewhere; that second execution sees the claim (a ``distributed.Variable`` holding the first worker's
address), runs nothing and reports ``Worker tcp://... was lost while running task 'x'``: the attempt fails and
the task's ``max_retries`` decides what happens next (a retry is a new submission). ``KilledWorker`` (the
cluster's ``allowed-failures`` exhausted) is reported the same way. A kernel whose worker died exits by itself
(ipykernel watches its parent process).

``executor_options``: ``scheduler`` (an address, a ``LocalCluster``, a ``Client``; default: Dask's
``scheduler-address`` config / ``DASK_SCHEDULER_ADDRESS``), ``notebooks`` (``"auto"``, ``"ship"``,
``"shared"``), ``warm_kernels`` (ready kernels kept per worker process, default 1; they are stopped when the run
ends), ``connect_timeout`` (seconds, default 30).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import importlib
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

__all__ = ["DaskExecutor", "WorkerJob", "run_notebook_task"]

_NOTEBOOK_MODES = ("auto", "ship", "shared")
_CANCEL_POLL = 0.5  # seconds between two looks at the cancel event, on the worker
_CANCEL_GRACE = 15.0  # seconds the runner waits for a canceled notebook to stop on its worker
LOST = "WorkerLost"


@dataclass(frozen=True)
class WorkerJob:
    """What a worker receives: the notebook run, the notebook itself (or ``None``) and the run's settings."""

    request: NotebookRun
    token: str
    notebook_json: str | None
    mode: str
    kernel_name: str
    startup_timeout: float
    warm_kernels: int


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
        # Per worker process; RunOptions.warm_kernels (the CLI's --warm-kernels) when not set here.
        warm = settings.get("warm_kernels", 1 if options.warm_kernels is None else options.warm_kernels)
        self.warm_kernels = max(0, int(warm))
        self.connect_timeout = float(settings.get("connect_timeout", 30))
        self.kernel_name = options.kernel_name
        self.startup_timeout = options.startup_timeout
        self._client: Any = None
        self._connecting: asyncio.Future[Any] | None = None

    def expect(self, count: int) -> None:
        """Nothing to prepare on the runner: workers keep their own warm kernels."""

    def forget(self, count: int) -> None:
        """Nothing was prepared for them."""

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
            kernel_name=self.kernel_name,
            startup_timeout=self.startup_timeout,
            warm_kernels=self.warm_kernels,
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
        finally:
            await _forget_names(client, job.token)
        return result

    async def _cancel(self, client: Any, future: Any, token: str) -> None:
        """Tell the worker to stop the notebook, wait (a while) until it has, then drop the Dask task."""
        with contextlib.suppress(Exception):  # scheduler gone or the grace ran out: the force-cancel follows
            await _distributed().Event(token + "-cancel", client=client).set()
            await asyncio.wait_for(asyncio.shield(future), _CANCEL_GRACE)
        with contextlib.suppress(Exception):  # a lost connection or finished future: nothing left to cancel
            await client.cancel([future], force=True)

    async def close(self) -> None:
        """Stop the workers' idle warm kernels and disconnect from the cluster."""
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(Exception):  # workers or scheduler gone or slow: their kernels die with them
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


async def _forget_names(client: Any, token: str) -> None:
    """Delete the scheduler-side claim and cancel event of a finished submission."""
    distributed = _distributed()
    with contextlib.suppress(Exception):  # a lost scheduler forgot the name anyway
        distributed.Variable(token, client=client).delete()
    with contextlib.suppress(Exception):  # as above
        await distributed.Event(token + "-cancel", client=client).clear()


# -- the worker side ------------------------------------------------------------------------------------------


def run_notebook_task(job: WorkerJob) -> NotebookResult:
    """Run one notebook on this Dask worker and return its result (the function the executor submits)."""
    distributed = _distributed()
    start = utcnow()
    address = str(distributed.get_worker().address)
    claim = distributed.Variable(job.token)
    try:
        first = claim.get(timeout=0)
    except (TimeoutError, asyncio.TimeoutError):
        first = None
    if first is not None:
        return _failed(
            start,
            f"Worker {first} was lost while running task {job.request.task.task_key!r} "
            f"(attempt {job.request.task.attempt}).",
            ename=LOST,
        )
    claim.set(address)
    cancel = distributed.Event(job.token + "-cancel")
    if cancel.is_set():
        return NotebookResult(
            state="CANCELED", start_time=start, end_time=utcnow(), error="The run was canceled."
        )

    runtime = _runtime()
    stop = threading.Event()
    running = asyncio.run_coroutine_threadsafe(runtime.execute(job, stop, address), runtime.loop)
    while True:
        try:
            result: NotebookResult = running.result(timeout=_CANCEL_POLL)
            return result
        except concurrent.futures.TimeoutError:
            if not stop.is_set():
                with contextlib.suppress(Exception):  # the scheduler is unreachable: keep running
                    if cancel.is_set():
                        stop.set()


class _WorkerRuntime:
    """One per worker process: an event loop on a thread of its own, and the kernel pools on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="taskvalues-kernels", daemon=True)
        self.thread.start()
        self.pools: dict[tuple[str, float, int], KernelPool] = {}

    def pool(self, job: WorkerJob) -> KernelPool:
        from ..kernels.pool import KernelPool

        key = (job.kernel_name, job.startup_timeout, job.warm_kernels)
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = KernelPool(
                job.warm_kernels, job.kernel_name, startup_timeout=job.startup_timeout
            )
        # Keep ``warm_kernels`` started beyond the one this run takes: the next notebook here finds one ready.
        pool.demand = max(pool.demand, pool.size + 1)
        return pool

    async def execute(self, job: WorkerJob, stop: threading.Event, address: str) -> NotebookResult:
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
        try:
            task = asyncio.ensure_future(execute_notebook(run, self.pool(job)))
            while not task.done():
                await asyncio.wait({task}, timeout=0.2)
                if stop.is_set() and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                    return NotebookResult(
                        state="CANCELED", start_time=start, end_time=utcnow(), error="The run was canceled."
                    )
            result = task.result()
        finally:
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
        pools, self.pools = self.pools, {}
        await asyncio.gather(*(pool.close() for pool in pools.values()), return_exceptions=True)


_RUNTIME: _WorkerRuntime | None = None
_RUNTIME_LOCK = threading.Lock()


def _runtime() -> _WorkerRuntime:
    global _RUNTIME
    with _RUNTIME_LOCK:
        if _RUNTIME is None:
            _RUNTIME = _WorkerRuntime()
        return _RUNTIME


async def _release_kernels() -> None:
    """Stop this worker's idle warm kernels (run on every worker by :meth:`DaskExecutor.close`)."""
    runtime = _RUNTIME
    if runtime is not None:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(runtime.release(), runtime.loop))
