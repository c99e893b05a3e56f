"""Starting, readying and stopping the kernels that run tasks, and a pool that starts them ahead of need.

Every task gets a fresh kernel that no other task has used. What we save is the waiting, not the isolation:

- **Readiness without fixed sleeps.** A kernel is ready when it answered ``kernel_info`` *and* its status message
  for that request reached us on IOPub, which proves the IOPub socket is connected (an execute sent earlier can
  lose its output to ZMQ's slow joiner). jupyter_client's own check always waits 0.2 s more for IOPub to go quiet.
- **Start failures surface.** A kernel that dies while starting fails fast with its exit code and the end of its
  stderr; a start that does not complete in ``startup_timeout`` is killed and retried once.
- **Shutdown off the critical path.** A finished task's kernel is asked to shut down in the background with a short
  grace period, then killed with its whole process group (child processes included).
- **Warm kernels.** :class:`KernelPool` keeps up to ``size`` kernels started before the tasks that will use them;
  each is handed out once. The task learns its identity and folder in :mod:`jupyter_taskvalues.kernel`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from ..context import ENV_PREFIX

__all__ = ["WARM_UP", "Kernel", "KernelPool", "KernelStartError", "shell_reply", "start_kernel"]

log = logging.getLogger(__name__)

#: What a warm kernel runs while it waits for a task: the imports the task's bootstrap would otherwise pay for.
WARM_UP = (
    "try:\n"
    "    import jupyter_taskvalues.kernel, jupyter_taskvalues.magics\n"
    "except ImportError:\n"
    "    pass  # the task's bootstrap reports it\n"
)


class KernelStartError(RuntimeError):
    """A kernel could not be started (it died, or did not become ready in time)."""


@dataclass
class Kernel:
    """A started, ready kernel: its manager and a connected client."""

    manager: Any  # jupyter_client.AsyncKernelManager
    client: Any  # jupyter_client.AsyncKernelClient
    stderr: IO[bytes] | None = None
    started: float = field(default_factory=time.monotonic)
    ready_seconds: float = 0.0
    folder: str | None = None  # the private folder of its connection file and ipc sockets

    async def stop(self, grace: float = 1.0) -> None:
        """Ask the kernel to shut down; if it has not exited within ``grace`` seconds, terminate then kill it.

        Half the grace goes to the shutdown request, half to SIGTERM; then SIGKILL goes to the kernel's process
        group (its child processes too). A kernel usually exits in 0.1-0.3 s (it flushes files and runs atexit
        handlers), but about one graceful shutdown in ten stalls in the kernel after it replied (jupyter_client
        would wait 2.5 s): that is what the grace bounds, and why no task ever waits for this.
        """
        began = time.monotonic()
        with contextlib.suppress(Exception):  # a closed or half-dead channel must not stop the shutdown
            self.client.stop_channels()
        # A graceful exit costs the kernel a third of what its start did, in CPU: it gets what the kernels
        # being started and the tasks running leave over.
        pid = getattr(getattr(self.manager.provisioner, "process", None), "pid", None)
        group = getattr(self.manager.provisioner, "pgid", None)
        if isinstance(pid, int) and hasattr(os, "setpriority"):
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, pid, 10)
        try:
            await self.manager.request_shutdown()
            # jupyter_client polls every 0.1 s by default; a kernel usually exits well within that.
            await self.manager.finish_shutdown(waittime=grace, pollinterval=0.01)
            await self.manager.cleanup_resources()
        except Exception as e:  # noqa: BLE001 - a failed graceful shutdown falls back to a kill
            log.debug("graceful kernel shutdown failed (%s); killing it", e)
            with contextlib.suppress(Exception):
                await self.manager.shutdown_kernel(now=True)
        # A kernel that exited gracefully leaves the processes its task started (a `Popen`, a shell's `&`)
        # behind in its process group: they end with the task.
        if isinstance(group, int) and group > 1 and hasattr(os, "killpg"):
            with contextlib.suppress(OSError):
                os.killpg(group, signal.SIGKILL)
        self._close_stderr()
        seconds = time.monotonic() - began
        log.debug(
            "kernel stopped in %.3f s",
            seconds,
            extra={"timing": {"event": "kernel_stop", "seconds": seconds, "stalled": seconds >= grace / 2}},
        )

    async def kill(self) -> None:
        """Kill the kernel and its process group at once."""
        with contextlib.suppress(Exception):
            self.client.stop_channels()
        with contextlib.suppress(Exception):
            await self.manager.shutdown_kernel(now=True)
        self._close_stderr()

    def _close_stderr(self) -> None:
        if self.stderr is not None:
            self.stderr.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def kernel_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment a kernel starts with: ours, minus any task context (it is set per task)."""
    env = dict(os.environ if environ is None else environ)
    for name in list(env):
        if name.startswith(ENV_PREFIX) and not name.endswith("RUNS_DIR"):
            del env[name]
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences a debugger warning on every start
    return env


async def start_kernel(
    kernel_name: str = "python3",
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    startup_timeout: float = 60.0,
    retries: int = 1,
    warm_up: str | None = None,
) -> Kernel:
    """Start a kernel and return it once it is ready; raise :class:`KernelStartError` if it cannot be.

    Parameters
    ----------
    startup_timeout
        Seconds the kernel may take to become ready (``warm_up`` included); then it is killed.
    retries
        How many more times to try after a kernel died while starting or did not become ready in time.
    warm_up
        Code the kernel runs silently once it is ready, before it is returned (e.g. imports a task will need).
        Its errors are ignored: the task that uses the kernel meets them and reports them.
    """
    last_error: KernelStartError | None = None
    for attempt in range(retries + 1):
        try:
            return await _start_once(
                kernel_name, env=env, cwd=cwd, startup_timeout=startup_timeout, warm_up=warm_up
            )
        except KernelStartError as e:
            last_error = e
            if attempt < retries:
                log.warning("%s Starting another one.", e)
    assert last_error is not None
    raise last_error


async def _start_once(
    kernel_name: str,
    *,
    env: Mapping[str, str] | None,
    cwd: str | None,
    startup_timeout: float,
    warm_up: str | None,
) -> Kernel:
    began = time.monotonic()
    manager, folder = _manager(kernel_name)
    stderr = tempfile.TemporaryFile()
    try:
        await manager.start_kernel(
            env=dict(env if env is not None else kernel_environment()),
            cwd=cwd or os.getcwd(),
            stderr=stderr,
            stdout=stderr,
        )
    except BaseException as e:  # a missing kernelspec, a bad command... all mean "cannot start"; or a cancel
        if manager.has_kernel:
            with contextlib.suppress(Exception):
                await manager.shutdown_kernel(now=True)
        stderr.close()
        shutil.rmtree(folder, ignore_errors=True)
        if not isinstance(e, Exception):
            raise
        raise KernelStartError(f"Cannot start a {kernel_name!r} kernel: {e}") from e
    launched = time.monotonic()
    log.debug(
        "kernel launched",
        extra={"timing": {"event": "kernel_launch", "at": launched, "cpu": time.process_time()}},
    )
    client = manager.client()
    client.start_channels()
    kernel = Kernel(manager, client, stderr, folder=folder)
    try:
        await asyncio.wait_for(_wait_until_ready(kernel), startup_timeout)
        if warm_up:
            msg_id = kernel.client.execute(warm_up, silent=True, store_history=False)
            await asyncio.wait_for(shell_reply(kernel, msg_id), startup_timeout)
    except asyncio.TimeoutError:
        await kernel.kill()
        raise KernelStartError(
            f"The {kernel_name!r} kernel did not become ready within {startup_timeout:.0f} s."
        ) from None
    except BaseException:  # a start failure, or a cancel: never leave the process behind
        await kernel.kill()
        raise
    kernel.ready_seconds = time.monotonic() - began
    log.debug(
        "kernel ready in %.3f s",
        kernel.ready_seconds,
        extra={"timing": {"event": "kernel_ready", "launched": launched, "seconds": kernel.ready_seconds}},
    )
    return kernel


def _manager(kernel_name: str) -> tuple[Any, str]:
    """Return a kernel manager, and the private folder that holds its connection file and sockets.

    On POSIX the kernel listens on ipc (Unix domain) sockets in that folder, readable by this user only: there
    is no TCP port to pick, release and then lose to another process starting at the same moment, and the
    start skips the local IP enumeration that TCP needs. The kernelspec is found in Jupyter's kernel folders
    and IPython's (as jupyter_client does), without importing IPython to locate the latter.
    """
    # lazy: jupyter_client is costly to import, and only the runner needs it
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_path

    ipython_dir = os.environ.get("IPYTHONDIR") or os.path.join(os.path.expanduser("~"), ".ipython")
    specs = KernelSpecManager(kernel_dirs=[*jupyter_path("kernels"), os.path.join(ipython_dir, "kernels")])
    folder = tempfile.mkdtemp(prefix="jtv-kernel-")
    connection_file = os.path.join(folder, "kernel.json")
    # A Unix socket path is limited to about 100 bytes: "<folder>/kernel-ipc-<n>" must fit.
    ipc = os.name == "posix" and len(connection_file) < 80
    manager = AsyncKernelManager(
        kernel_name=kernel_name,
        kernel_spec_manager=specs,
        connection_file=connection_file,
        transport="ipc" if ipc else "tcp",
    )
    return manager, folder


async def _wait_until_ready(kernel: Kernel) -> None:
    from queue import Empty

    client = kernel.client
    while True:
        msg_id = client.kernel_info()
        try:
            await asyncio.wait_for(shell_reply(kernel, msg_id), 2.0)
        except asyncio.TimeoutError:
            continue  # the request was sent before the shell socket connected: ask again
        # The reply proves the shell socket works; a status message for the same request proves IOPub does.
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                msg = await client.get_iopub_msg(timeout=max(0.0, deadline - time.monotonic()))
            except Empty:
                break
            if (
                msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"].get("execution_state") == "idle"
            ):
                return
        # IOPub was not connected yet: ask again; the next request's status will arrive.


async def shell_reply(kernel: Kernel, msg_id: str) -> dict[str, Any]:
    """Return the shell reply to request ``msg_id``; raise :class:`KernelStartError` if the kernel dies first.

    Other replies are dropped. Bound the wait with :func:`asyncio.wait_for` where it must be bounded.
    """
    from queue import Empty

    while True:
        try:
            reply: dict[str, Any] = await kernel.client.get_shell_msg(timeout=0.25)
        except Empty:
            if not await kernel.manager.is_alive():
                raise KernelStartError(_death_message(kernel)) from None
            continue
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def _death_message(kernel: Kernel) -> str:
    code = None
    with contextlib.suppress(Exception):
        code = kernel.manager.provisioner.process.poll()
    tail = ""
    if kernel.stderr is not None:
        kernel.stderr.seek(0)
        tail = kernel.stderr.read()[-2000:].decode("utf-8", "replace").strip()
    return (
        "The kernel died while starting"
        + (f" (exit code {code})" if code is not None else "")
        + (f":\n{tail}" if tail else ".")
    )


class KernelPool:
    """Kernels started ahead of the tasks that will need them. Each kernel is handed out once.

    Starting a kernel costs about 0.3 s of CPU, so at most ``max_starting`` kernels start at once (default: the
    CPU count): starting more at once on a small machine only delays the first one a task is waiting for.

    Parameters
    ----------
    size
        How many ready (or starting) kernels to keep ahead; 0 starts each kernel on demand.
    kernel_name
        The kernelspec to start.
    startup_timeout
        Seconds a kernel may take to become ready before it is killed and started again (once).
    max_starting
        The most kernels starting at the same time.
    """

    def __init__(
        self,
        size: int,
        kernel_name: str = "python3",
        *,
        startup_timeout: float = 60.0,
        max_starting: int | None = None,
    ) -> None:
        self.size = max(0, size)
        self.kernel_name = kernel_name
        self.startup_timeout = startup_timeout
        self.max_starting = max(1, max_starting or os.cpu_count() or 1)
        self.demand = 0  # kernels the scheduler still expects to need
        self._env = kernel_environment()
        self._cwd = tempfile.gettempdir()
        self._launching = asyncio.Semaphore(self.max_starting)
        self._starting: list[asyncio.Task[Kernel]] = []
        self._stopping: set[asyncio.Task[None]] = set()
        self._closed = False

    def expect(self, count: int) -> None:
        """Tell the pool that ``count`` more kernels will be needed, and start some ahead."""
        self.demand += count
        self._fill()

    def _fill(self) -> None:
        while not self._closed and len(self._starting) < min(self.size, self.demand):
            self._starting.append(asyncio.ensure_future(self._start()))

    async def _start(self) -> Kernel:
        async with self._launching:
            return await start_kernel(
                self.kernel_name,
                env=self._env,
                cwd=self._cwd,
                startup_timeout=self.startup_timeout,
                warm_up=WARM_UP,
            )

    async def acquire(self) -> Kernel:
        """Return a ready kernel that no task has used, starting one if none is waiting.

        Raises :class:`KernelStartError` when the kernel this call gets could not be started.
        """
        if self._closed:
            raise KernelStartError("The kernel pool is closed; no more kernels can be started.")
        self.demand = max(0, self.demand - 1)
        if self._starting:
            ready = [t for t in self._starting if t.done()]
            task = ready[0] if ready else self._starting[0]
            self._starting.remove(task)
        else:
            # Not expected (a retry, or no warm kernels): start it before the pool starts any ahead.
            task = asyncio.ensure_future(self._start())
        self._fill()
        return await task

    def release(self, kernel: Kernel) -> None:
        """Shut a used kernel down in the background; :meth:`close` waits for it."""
        stopping = asyncio.ensure_future(kernel.stop())
        self._stopping.add(stopping)
        stopping.add_done_callback(self._stopping.discard)

    async def close(self) -> None:
        """Stop every kernel the pool started, used or not, and wait until they are gone.

        Kernels that no task used are killed at once; used ones finish their (bounded) shutdown.
        """
        began = time.monotonic()
        self._closed = True
        starting, self._starting = self._starting, []
        for task in starting:
            if not task.done():
                task.cancel()
        unused = []
        for task in starting:
            with contextlib.suppress(BaseException):  # a cancelled or failed start left nothing behind
                unused.append(await task)
        await asyncio.gather(*(kernel.kill() for kernel in unused), return_exceptions=True)
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
        seconds = time.monotonic() - began
        log.debug(
            "kernel pool closed in %.3f s",
            seconds,
            extra={
                "timing": {
                    "event": "pool_close",
                    "seconds": seconds,
                    "unused": len(unused),
                    "cpu": time.process_time(),  # this process's, the runner's, so far
                }
            },
        )
