"""A pool of kernels started ahead of the tasks that will need them, each handed out once.

Every task gets a fresh kernel that no other task has used; what the pool saves is the waiting, not the
isolation. Kernels are started by :func:`~.launch.start_kernel` (jupyter_client's kernel manager). When the
kernelspec is this Python's own ipykernel, the pool also starts a :mod:`fork server <.forkserver>` once more
kernels are expected than are being started, and every kernel after the first few is forked from it by the
:class:`~.provisioner.ForkProvisioner`. Forking is on by default; ``KernelPool(fork=False)``,
``RunOptions(fork_kernels=False)`` or the environment variable ``JUPYTER_TASKVALUES_FORK_KERNELS=0`` turn it off
(every kernel is then spawned by jupyter_client's local provisioner). A used kernel is shut down in the
background (:meth:`.launch.Kernel.stop`); the task learns its identity in :mod:`jupyter_taskvalues.ipython.bootstrap`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import sys
import tempfile
import time
from typing import Any

from .launch import (
    WARM_UP,
    Kernel,
    KernelStartError,
    kernel_environment,
    new_manager,
    shell_reply,
    start_kernel,
)
from .launch import uses_own_ipykernel as _uses_own_ipykernel

__all__ = [
    "FORK_ENV",
    "Kernel",
    "KernelPool",
    "KernelStartError",
    "fork_enabled",
    "shell_reply",
    "start_kernel",
]

log = logging.getLogger(__name__)

#: The environment variable that turns the fork server off when set to ``0``, ``false``, ``no`` or ``off``.
FORK_ENV = "JUPYTER_TASKVALUES_FORK_KERNELS"


def fork_enabled(environ: dict[str, str] | None = None) -> bool:
    """Whether kernels may be forked, as :data:`FORK_ENV` says (default: yes, on Linux)."""
    value = (os.environ if environ is None else environ).get(FORK_ENV, "1")
    return sys.platform.startswith("linux") and value.strip().lower() not in ("0", "false", "no", "off")


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
    fork
        Start kernels from a :mod:`fork server <.forkserver>` when the kernel is this Python's ipykernel (on
        Linux, once more kernels are expected than are being started): most of a kernel's start-up CPU is
        then paid once per run instead of once per task. The first kernels are spawned while it starts.
        Default: :func:`fork_enabled` (the ``JUPYTER_TASKVALUES_FORK_KERNELS`` environment variable).
    kernel_spec_manager
        A configured :class:`~jupyter_client.kernelspec.KernelSpecManager` to find ``kernel_name`` with.
    """

    def __init__(
        self,
        size: int,
        kernel_name: str = "python3",
        *,
        startup_timeout: float = 60.0,
        max_starting: int | None = None,
        fork: bool | None = None,
        kernel_spec_manager: Any = None,
    ) -> None:
        self.size = max(0, size)
        self.kernel_name = kernel_name
        self.startup_timeout = startup_timeout
        self.max_starting = max(1, max_starting or os.cpu_count() or 1)
        self.demand = 0  # kernels the scheduler still expects to need
        self.kernel_spec_manager = kernel_spec_manager
        self._env = kernel_environment()
        self._cwd = tempfile.gettempdir()
        self._launching = asyncio.Semaphore(self.max_starting)
        self._starting: list[asyncio.Task[Kernel]] = []
        self._stopping: set[asyncio.Task[None]] = set()
        self._closed = False
        self.fork = fork_enabled() if fork is None else fork and sys.platform.startswith("linux")
        self._server: Any = None  # a ForkServer, once one is worth starting

    def expect(self, count: int) -> None:
        """Tell the pool that ``count`` more kernels will be needed, and start some ahead."""
        self.demand += count
        self._fill()

    def _fill(self) -> None:
        while not self._closed and len(self._starting) < min(self.size, self.demand):
            self._starting.append(asyncio.ensure_future(self._start()))
        if self.fork and self._server is None and self.demand > len(self._starting):
            # After the kernels just asked for are launched: they need not wait for the server to start.
            asyncio.get_running_loop().call_soon(self._start_fork_server)

    def _start_fork_server(self) -> None:
        if self._server is not None or self._closed or not self.fork:
            return
        try:
            with tempfile.TemporaryDirectory(prefix="jtv-kernel-") as folder:
                own = _uses_own_ipykernel(new_manager(self.kernel_name, folder, self.kernel_spec_manager))
            if not own:
                self.fork = False
                return
            from .forkserver import ForkServer

            self._server = ForkServer(self._env, self._cwd)
        except (KernelStartError, OSError) as e:
            self.fork = False
            log.warning("Cannot start the kernel fork server (%s); spawning every kernel.", e)

    async def _start(self) -> Kernel:
        # jupyter_client (0.1-0.2 s to import) is imported on the event loop, before anything else runs: the first
        # kernel is launched as soon as it can be and boots on another core while the tasks import nbformat. In a
        # thread, the two imports would share the GIL and the launch would wait for both.
        importlib.import_module("jupyter_client.manager")
        if self._server is not None and self._server.ready:
            # A fork costs a fifth of a spawn's CPU and waits on messages most of its start: no queue.
            return await self._start_now()
        async with self._launching:
            return await self._start_now()

    async def _start_now(self) -> Kernel:
        return await start_kernel(
            self.kernel_name,
            env=self._env,
            cwd=self._cwd,
            startup_timeout=self.startup_timeout,
            warm_up=WARM_UP,
            fork_server=self._server,
            fork=self.fork,
            kernel_spec_manager=self.kernel_spec_manager,
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
        if self._server is not None:
            await self._server.close()
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
