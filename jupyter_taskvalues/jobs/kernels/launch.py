"""Starting, readying and stopping one kernel that runs a task, through jupyter_client's kernel manager.

Every kernel is started by an :class:`~jupyter_client.manager.AsyncKernelManager`: the kernelspec comes from its
:class:`~jupyter_client.kernelspec.KernelSpecManager` (the default one, or one the caller configured), with the
kernelspec's own ``metadata.kernel_provisioner`` and its ``env`` (``${VAR}`` substituted) honoured. The kernel
is talked to through the manager's :class:`~jupyter_client.asynchronous.AsyncKernelClient`. What is ours:

- **The fork provisioner for this Python's ipykernel.** When the kernelspec is this Python's ipykernel with
  nothing added and names no provisioner, it is started by :class:`~.provisioner.ForkProvisioner`, which forks
  the kernel from a fork server when one is given (most of a kernel's start-up CPU saved), else spawns it.
- **ipc sockets** in a private folder (TCP on loopback when the folder path is too long for a Unix socket): no
  port to pick and lose to another process starting at the same moment.
- **Readiness without fixed sleeps.** Ready = the ``kernel_info`` reply *and* its IOPub status (which proves
  IOPub is connected); jupyter_client's own check always waits 0.2 s more for IOPub to go quiet.
- **Start failures surface.** A kernel that dies while starting fails with its exit code and the end of its
  stderr; one not ready within ``startup_timeout`` is killed; either is started once more.
- **A bounded shutdown.** A shutdown request, half the grace, SIGTERM, the other half, then SIGKILL to the
  kernel's process group (its children too), polled every 10 ms (the manager's own shutdown polls every 0.1 s
  and waits 5 s); :class:`~.pool.KernelPool` runs it off the critical path.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from ...context import ENV_PREFIX
from . import cleanup

__all__ = [
    "OWN_KERNEL_ARGUMENTS",
    "WARM_UP",
    "Kernel",
    "KernelStartError",
    "kernel_environment",
    "shell_reply",
    "start_kernel",
]

log = logging.getLogger(__name__)

#: What a warm kernel runs while it waits for a task: the imports the task's bootstrap would otherwise pay for.
#: If it fails (jupyter-taskvalues is not installed where the kernel runs), the task's bootstrap reports it.
WARM_UP = "import jupyter_taskvalues.ipython.bootstrap, jupyter_taskvalues.ipython.extension, jupyter_taskvalues.ipython.magics\n"

#: Options of this Python's own ipykernel when it runs a task, forked or spawned: no IPython history database (a
#: job's kernel is never browsed later; it spares each kernel an SQLite file opened, written and locked against
#: the other kernels of the run).
OWN_KERNEL_ARGUMENTS = ("--HistoryManager.enabled=False",)

# Settings of the notebook runtime, not of a task: secrets (SECRET_*, SECRETS_FILE), DBFS_ROOT, FS_ROOTS.
_RUNTIME_ENV = (
    f"{ENV_PREFIX}SECRET",
    f"{ENV_PREFIX}DBFS_ROOT",
    f"{ENV_PREFIX}FS_ROOTS",
)


class KernelStartError(RuntimeError):
    """A kernel could not be started (no such kernelspec, it died, or it did not become ready in time)."""


def kernel_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment a kernel starts with: ours, minus any task context (it is set per task).

    The runtime's settings (secrets, ``dbutils.fs`` roots: :mod:`jupyter_taskvalues.runtime`) are kept.
    """
    env = dict(os.environ if environ is None else environ)
    for name in list(env):
        task_context = name.startswith(ENV_PREFIX) and not name.startswith(_RUNTIME_ENV)
        if task_context and not name.endswith("RUNS_DIR"):
            del env[name]
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences a debugger warning on every start
    return env


_contexts: dict[int, Any] = {}


def _zmq_context() -> Any:
    """One zmq context per process for every manager and client (a context each would start an I/O thread)."""
    context = _contexts.get(os.getpid())
    if context is None:
        import zmq.asyncio

        context = _contexts[os.getpid()] = zmq.asyncio.Context()
    return context


@functools.lru_cache(maxsize=1)
def _manager_class() -> Any:
    """jupyter_client's async kernel manager, with room for the fork server its provisioner may use."""
    from jupyter_client.manager import AsyncKernelManager

    class TaskKernelManager(AsyncKernelManager):  # type: ignore[misc]
        fork_server: Any = None  # read by ForkProvisioner

    return TaskKernelManager


@dataclass
class Kernel:
    """A started, ready kernel: its manager, a connected client, and the file of its output."""

    manager: Any  # jupyter_client.AsyncKernelManager
    client: Any  # jupyter_client.AsyncKernelClient
    stderr: IO[bytes] | None = None
    started: float = field(default_factory=time.monotonic)
    ready_seconds: float = 0.0
    folder: str | None = None  # the private folder of its connection file, ipc sockets and output
    #: The process (a ``Popen``, or a fork's stand-in), when the provisioner runs one on this machine.
    process: Any = None
    #: The warm-up imported the task bootstrap: the first cell can be sent without waiting for the bootstrap.
    warmed: bool = False
    #: The mark in the environment of every process the kernel starts (:mod:`.cleanup`), and its launch time.
    token: str = ""
    launched_at: float = 0.0

    @property
    def forked(self) -> bool:
        """Whether the kernel is a fork of the fork server."""
        from .provisioner import ForkedProcess

        return isinstance(self.process, ForkedProcess)

    async def exit_code(self) -> int | None:
        """The kernel's exit code, or ``None`` while it runs (asked of its provisioner if it has no process)."""
        if self.process is not None:
            code: int | None = self.process.poll()
            return code
        provisioner = self.manager.provisioner
        return None if provisioner is None else await provisioner.poll()

    async def interrupt(self) -> None:
        """Interrupt what the kernel runs, as its kernelspec says (SIGINT to its process group, or a message)."""
        await self.manager.interrupt_kernel()

    async def stop(self, grace: float = 1.0) -> None:
        """Ask the kernel to shut down; if it has not exited within ``grace`` seconds, terminate then kill it.

        Half the grace goes to the shutdown request, half to SIGTERM; then SIGKILL goes to the kernel's process
        group (its child processes too). A kernel usually exits in 0.1-0.3 s, but about one graceful shutdown in
        ten stalls in the kernel after it replied: that is what the grace bounds, and why no task waits for this.
        """
        began = time.monotonic()
        tree = self._tree()  # before the kernel exits: its children are then orphans, out of its tree
        pid = getattr(self.process, "pid", None)
        if pid is not None and hasattr(os, "setpriority"):
            # A graceful exit costs CPU: it gets what the kernels being started and the tasks running leave over.
            with contextlib.suppress(OSError):  # it exited already
                os.setpriority(os.PRIO_PROCESS, pid, 10)
        try:
            await self.manager.request_shutdown()
        except (OSError, RuntimeError) as e:  # a closed socket or a gone provisioner: kill it below
            log.debug("cannot ask the kernel to shut down: %s", e)
        exited = await self._wait_for_exit(grace / 2)
        if not exited:
            await self._signal("terminate")
            await self._wait_for_exit(grace / 2)
        # A kernel that exited gracefully leaves the processes its task started (a `Popen`, a shell's `&`) in
        # its process group, or outside it (a `setsid` daemon, a double fork): they end with the task.
        await self._end(tree)
        seconds = time.monotonic() - began
        log.debug(
            "kernel stopped in %.3f s",
            seconds,
            extra={"timing": {"event": "kernel_stop", "seconds": seconds, "stalled": seconds >= grace / 2}},
        )

    async def kill(self) -> None:
        """Kill the kernel, its process group and every process it started (:mod:`.cleanup`) at once."""
        await self._end(self._tree())

    def _tree(self) -> cleanup.Leftovers:
        pid = getattr(self.process, "pid", None)
        return [] if pid is None or self.folder is None else cleanup.descendants(pid)

    async def _wait_for_exit(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while await self.exit_code() is None:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def _signal(self, how: str) -> None:
        provisioner = self.manager.provisioner
        if provisioner is not None:
            try:
                await getattr(provisioner, how)()
            except (OSError, ValueError) as e:  # the process is gone already
                log.debug("cannot %s the kernel: %s", how, e)

    async def _end(self, tree: cleanup.Leftovers) -> None:
        if self.folder is None:
            return  # ended already
        await self._signal("kill")
        await self._wait_for_exit(2.0)  # collects a spawned kernel's exit status (no zombie is left)
        if self.token:
            await asyncio.to_thread(lambda: cleanup.end(tree + cleanup.marked(self.token, self.launched_at)))
        with contextlib.suppress(Exception):  # closing a half-dead client must not stop the cleanup
            self.client.stop_channels()
        try:
            await self.manager.cleanup_resources()
        except (OSError, RuntimeError) as e:
            log.debug("cannot clean the kernel's resources up: %s", e)
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


async def start_kernel(
    kernel_name: str = "python3",
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    startup_timeout: float = 60.0,
    retries: int = 1,
    warm_up: str | None = None,
    fork_server: Any = None,
    fork: bool = True,
    kernel_spec_manager: Any = None,
) -> Kernel:
    """Start a kernel and return it once it is ready; raise :class:`KernelStartError` if it cannot be.

    Parameters
    ----------
    kernel_name
        The kernelspec, as ``kernel_spec_manager`` finds it.
    env, cwd
        The kernel's environment (default: :func:`kernel_environment`) and folder (default: ours). A
        kernelspec's ``env`` is added, ``${VAR}`` substituted from it.
    startup_timeout
        Seconds the kernel may take to become ready (``warm_up`` included); then it is killed.
    retries
        How many more times to try after a kernel died while starting or did not become ready in time.
    warm_up
        Code the kernel runs silently once it is ready, before it is returned (e.g. imports a task will need).
        Its errors are ignored: the task that uses the kernel meets them and reports them.
    fork_server
        A :class:`~.forkserver.ForkServer` to fork the kernel from (``env`` and ``cwd`` are then the server's)
        when the kernelspec is this Python's ipykernel.
    fork
        Whether this Python's ipykernel is started by the fork provisioner at all (``False``: jupyter_client's
        local provisioner, as for any kernelspec).
    kernel_spec_manager
        A configured :class:`~jupyter_client.kernelspec.KernelSpecManager` (default: a new one).
    """
    last_error: KernelStartError | None = None
    for attempt in range(retries + 1):
        try:
            return await _start_once(
                kernel_name,
                env=env,
                cwd=cwd,
                startup_timeout=startup_timeout,
                warm_up=warm_up,
                fork_server=fork_server,
                fork=fork,
                kernel_spec_manager=kernel_spec_manager,
            )
        except KernelStartError as e:
            last_error = e
            if attempt < retries and not isinstance(e, _NoSuchKernel):
                log.warning("%s Starting another one.", e)
            else:
                break
    assert last_error is not None
    raise last_error


class _NoSuchKernel(KernelStartError):
    pass


def new_manager(kernel_name: str, folder: str, kernel_spec_manager: Any = None) -> Any:
    """A kernel manager for ``kernel_name`` whose connection file and ipc sockets are in ``folder``."""
    from jupyter_client.kernelspec import NoSuchKernel

    settings: dict[str, Any] = {
        "kernel_name": kernel_name,
        "context": _zmq_context(),
        "connection_file": os.path.join(folder, "kernel.json"),
    }
    if kernel_spec_manager is not None:
        settings["kernel_spec_manager"] = kernel_spec_manager
    if os.name == "posix" and len(folder) < 80:  # a Unix socket path is limited to about 100 bytes
        settings.update(transport="ipc", ip=os.path.join(folder, "kernel"))
    else:
        settings.update(transport="tcp", ip="127.0.0.1")
    manager = _manager_class()(**settings)
    try:
        found = manager.kernel_spec is not None
    except NoSuchKernel:
        found = False
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise _NoSuchKernel(f"The kernelspec {kernel_name!r} cannot be read: {e}. Fix or remove it.") from e
    if not found:
        dirs = ", ".join(manager.kernel_spec_manager.kernel_dirs)
        raise _NoSuchKernel(
            f"No kernel named {kernel_name!r}: no kernelspec of that name in {dirs}. "
            "`jupyter kernelspec list` shows the installed ones; install it or name another."
        )
    return manager


def uses_own_ipykernel(manager: Any) -> bool:
    """Whether the manager's kernelspec is this Python's ipykernel with nothing added and no provisioner."""
    from .provisioner import is_own_ipykernel

    spec = manager.kernel_spec
    return "kernel_provisioner" not in (spec.metadata or {}) and is_own_ipykernel(
        list(spec.argv), dict(spec.env or {}), spec.interrupt_mode
    )


async def _start_once(
    kernel_name: str,
    *,
    env: Mapping[str, str] | None,
    cwd: str | None,
    startup_timeout: float,
    warm_up: str | None,
    fork_server: Any,
    fork: bool,
    kernel_spec_manager: Any,
) -> Kernel:
    began = time.monotonic()
    folder = tempfile.mkdtemp(prefix="jtv-kernel-")
    stderr = None
    manager: Any = None
    try:
        manager = new_manager(kernel_name, folder, kernel_spec_manager)
        options: dict[str, Any] = {}
        if uses_own_ipykernel(manager):
            options["extra_arguments"] = list(OWN_KERNEL_ARGUMENTS)
            if fork:
                from .provisioner import PROVISIONER_NAME

                manager.kernel_spec.metadata["kernel_provisioner"] = {"provisioner_name": PROVISIONER_NAME}
                manager.fork_server = fork_server
        stderr = open(os.path.join(folder, "stderr"), "w+b")  # closed by Kernel
        token, launched_at = cleanup.new_token(), time.time()
        kernel_env = dict(env if env is not None else kernel_environment())
        kernel_env[cleanup.TOKEN_ENV] = token
        await manager.start_kernel(
            env=kernel_env,
            cwd=cwd or os.getcwd(),
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            **options,
        )
    except (OSError, ModuleNotFoundError) as e:
        if stderr is not None:
            stderr.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise KernelStartError(f"Cannot start a {kernel_name!r} kernel: {e}") from e
    except BaseException:  # a cancel, or a provisioner's own error: never leave a launched process behind
        provisioner = getattr(manager, "provisioner", None)
        if provisioner is not None and provisioner.has_process:
            await provisioner.kill()
            await asyncio.to_thread(lambda: cleanup.end(cleanup.marked(token, launched_at)))
        if stderr is not None:
            stderr.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    launched = time.monotonic()
    log.debug(
        "kernel launched",
        extra={"timing": {"event": "kernel_launch", "at": launched, "cpu": time.process_time()}},
    )
    process = getattr(manager.provisioner, "process", None)
    kernel = Kernel(
        manager,
        None,
        stderr,
        folder=folder,
        process=process if hasattr(process, "poll") else None,
        token=token,
        launched_at=launched_at,
    )
    try:
        kernel.client = manager.client(context=_zmq_context())
        kernel.client.start_channels(hb=False)
        await asyncio.wait_for(_wait_until_ready(kernel), startup_timeout)
        if warm_up:
            msg_id = kernel.client.execute(warm_up, silent=True, store_history=False)
            reply = await asyncio.wait_for(shell_reply(kernel, msg_id), startup_timeout)
            kernel.warmed = reply["content"].get("status") == "ok"
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
        extra={
            "timing": {
                "event": "kernel_ready",
                "launched": launched,
                "seconds": kernel.ready_seconds,
                "forked": kernel.forked,
            }
        },
    )
    return kernel


async def _wait_until_ready(kernel: Kernel) -> None:
    from queue import Empty

    client = kernel.client
    patience = 0.02  # for IOPub's status; a subscription that is not through yet loses it: ask again, sooner
    while True:
        msg_id = client.kernel_info()
        try:
            await asyncio.wait_for(shell_reply(kernel, msg_id), 2.0)
        except asyncio.TimeoutError:
            continue  # the request was sent before the shell socket connected: ask again
        # The reply proves the shell socket works; a status message for the same request proves IOPub does.
        deadline = time.monotonic() + patience
        patience = min(patience * 2, 0.5)
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
            code = await kernel.exit_code()
            if code is not None:
                raise KernelStartError(_death_message(kernel, code)) from None
            continue
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def _death_message(kernel: Kernel, code: int) -> str:
    tail = ""
    if kernel.stderr is not None:
        kernel.stderr.seek(0)
        tail = kernel.stderr.read()[-2000:].decode("utf-8", "replace").strip()
    return f"The kernel died while starting (exit code {code})" + (f":\n{tail}" if tail else ".")
