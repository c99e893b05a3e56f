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
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from ..context import ENV_PREFIX

__all__ = ["Kernel", "KernelPool", "KernelStartError", "start_kernel"]

log = logging.getLogger(__name__)


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

    async def stop(self, grace: float = 0.5) -> None:
        """Ask the kernel to shut down; kill its process group if it has not stopped after ``grace`` seconds."""
        with contextlib.suppress(Exception):  # a closed or half-dead channel must not stop the shutdown
            self.client.stop_channels()
        self.manager.shutdown_wait_time = grace
        try:
            await self.manager.shutdown_kernel(now=False)
        except Exception as e:  # noqa: BLE001 - a failed graceful shutdown falls back to a kill
            log.debug("graceful kernel shutdown failed (%s); killing it", e)
            with contextlib.suppress(Exception):
                await self.manager.shutdown_kernel(now=True)
        if self.stderr is not None:
            self.stderr.close()

    async def kill(self) -> None:
        """Kill the kernel and its process group at once."""
        with contextlib.suppress(Exception):
            self.client.stop_channels()
        with contextlib.suppress(Exception):
            await self.manager.shutdown_kernel(now=True)
        if self.stderr is not None:
            self.stderr.close()


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
) -> Kernel:
    """Start a kernel and return it once it is ready; raise :class:`KernelStartError` if it cannot be."""
    last_error: KernelStartError | None = None
    for _ in range(retries + 1):
        try:
            return await _start_once(kernel_name, env=env, cwd=cwd, startup_timeout=startup_timeout)
        except KernelStartError as e:
            last_error = e
            log.warning("%s; retrying", e)
    assert last_error is not None
    raise last_error


async def _start_once(
    kernel_name: str, *, env: Mapping[str, str] | None, cwd: str | None, startup_timeout: float
) -> Kernel:
    from jupyter_client.manager import AsyncKernelManager  # lazy: costly, and only the runner needs it

    began = time.monotonic()
    stderr = tempfile.TemporaryFile()
    manager = AsyncKernelManager(kernel_name=kernel_name)
    try:
        await manager.start_kernel(
            env=dict(env if env is not None else kernel_environment()),
            cwd=cwd or os.getcwd(),
            stderr=stderr,
            stdout=stderr,
        )
    except Exception as e:  # noqa: BLE001 - a missing kernelspec, a bad command... all mean "cannot start"
        stderr.close()
        raise KernelStartError(f"Cannot start a {kernel_name!r} kernel: {e}") from e
    client = manager.client()
    client.start_channels()
    kernel = Kernel(manager, client, stderr)
    try:
        await asyncio.wait_for(_wait_until_ready(kernel), startup_timeout)
    except asyncio.TimeoutError:
        await kernel.kill()
        raise KernelStartError(
            f"The {kernel_name!r} kernel did not become ready within {startup_timeout:.0f} s."
        ) from None
    except BaseException:  # a start failure, or a cancel: never leave the process behind
        await kernel.kill()
        raise
    kernel.ready_seconds = time.monotonic() - began
    return kernel


async def _wait_until_ready(kernel: Kernel) -> None:
    from queue import Empty

    client = kernel.client
    while True:
        msg_id = client.kernel_info()
        replied = False
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if not await kernel.manager.is_alive():
                raise KernelStartError(_death_message(kernel))
            try:
                reply = await client.get_shell_msg(timeout=0.25)
            except Empty:
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                replied = True
                break
        if not replied:
            continue
        # The reply proves the shell socket works; a status message for the same request proves IOPub does.
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                msg = await client.get_iopub_msg(timeout=max(0.0, deadline - time.monotonic()))
            except Empty:
                break
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status":
                if msg["content"].get("execution_state") == "idle":
                    return
        # IOPub was not connected yet: ask again; the next request's status will arrive.


def _death_message(kernel: Kernel) -> str:
    code = None
    with contextlib.suppress(Exception):
        code = kernel.manager.provisioner.process.poll()
    tail = ""
    if kernel.stderr is not None:
        kernel.stderr.seek(0)
        tail = kernel.stderr.read()[-2000:].decode("utf-8", "replace").strip()
    return "The kernel died while starting" + (f" (exit code {code})" if code is not None else "") + (
        f":\n{tail}" if tail else "."
    )


class KernelPool:
    """Kernels started ahead of the tasks that will need them. Each kernel is handed out once.

    Parameters
    ----------
    size
        How many ready (or starting) kernels to keep ahead; 0 starts each kernel on demand.
    kernel_name
        The kernelspec to start.
    """

    def __init__(self, size: int, kernel_name: str = "python3", *, startup_timeout: float = 60.0) -> None:
        self.size = max(0, size)
        self.kernel_name = kernel_name
        self.startup_timeout = startup_timeout
        self.demand = 0  # kernels the scheduler still expects to need
        self._env = kernel_environment()
        self._cwd = tempfile.gettempdir()
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
        return await start_kernel(
            self.kernel_name, env=self._env, cwd=self._cwd, startup_timeout=self.startup_timeout
        )

    async def acquire(self) -> Kernel:
        """Return a ready kernel that no task has used, starting one if none is waiting."""
        self.demand = max(0, self.demand - 1)
        ready = [t for t in self._starting if t.done()]
        task = ready[0] if ready else (self._starting[0] if self._starting else None)
        if task is None:
            self._fill()
            return await self._start()
        self._starting.remove(task)
        self._fill()
        return await task

    def release(self, kernel: Kernel) -> None:
        """Shut a used kernel down in the background."""
        stopping = asyncio.ensure_future(kernel.stop())
        self._stopping.add(stopping)
        stopping.add_done_callback(self._stopping.discard)

    async def close(self) -> None:
        """Stop every kernel the pool started, used or not, and wait until they are gone."""
        self._closed = True
        starting, self._starting = self._starting, []
        for task in starting:
            if not task.done():
                task.cancel()
        for task in starting:
            with contextlib.suppress(BaseException):
                kernel = await task
                self.release(kernel)
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
