"""Starting, readying and stopping the kernels that run tasks, and a pool that starts them ahead of need.

Every task gets a fresh kernel that no other task has used. What we save is the waiting, not the isolation:

- **Launch without jupyter_client's manager.** The kernelspec is found in Jupyter's kernel folders (as
  jupyter_client does, names compared without case), the connection file written here, and the kernel process
  spawned directly in its own process group. jupyter_client (costly to import) is needed only for the client
  that talks to the kernel, so the first kernel is launched before it is even imported.
- **A fork server.** When the kernel is this Python's own ipykernel (the default ``python3``), the pool starts a
  :mod:`fork server <.forkserver>` that imports ipykernel once; every kernel after the first few is a fork of it.
  That takes most of a kernel's start-up CPU away. Each fork is still a new process, used by one task only.
- **Readiness without fixed sleeps.** A kernel is ready when it answered ``kernel_info`` *and* its status message
  for that request reached us on IOPub, which proves the IOPub socket is connected (an execute sent earlier can
  lose its output to ZMQ's slow joiner). jupyter_client's own check always waits 0.2 s more for IOPub to go quiet.
- **Start failures surface.** A kernel that dies while starting fails fast with its exit code and the end of its
  stderr; a start that does not complete in ``startup_timeout`` is killed and retried once.
- **Shutdown off the critical path.** A finished task's kernel is asked to shut down in the background with a short
  grace period, then killed with its whole process group (child processes included).
- **Warm kernels.** :class:`KernelPool` keeps up to ``size`` kernels started before the tasks that will use them;
  each is handed out once. The task learns its identity and folder in :mod:`jupyter_taskvalues.ipython.bootstrap`.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from ...context import ENV_PREFIX

__all__ = [
    "WARM_UP",
    "Kernel",
    "KernelPool",
    "KernelSpec",
    "KernelStartError",
    "find_kernelspec",
    "shell_reply",
    "start_kernel",
]

log = logging.getLogger(__name__)

#: What a warm kernel runs while it waits for a task: the imports the task's bootstrap would otherwise pay for.
#: If it fails (jupyter-taskvalues is not installed where the kernel runs), the task's bootstrap reports it.
WARM_UP = "import jupyter_taskvalues.ipython.bootstrap, jupyter_taskvalues.ipython.extension, jupyter_taskvalues.ipython.magics\n"

_PYTHON_NAMES = frozenset(
    {"python", f"python{sys.version_info[0]}", f"python{sys.version_info[0]}.{sys.version_info[1]}"}
)
_TEMPLATE = re.compile(r"\{([A-Za-z0-9_]+)\}")


class KernelStartError(RuntimeError):
    """A kernel could not be started (it died, or did not become ready in time)."""


# -- kernelspecs ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KernelSpec:
    """What starts a kernel: its command (``{connection_file}`` still in it), extra environment, interrupt mode."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    interrupt_mode: str = "signal"
    resource_dir: str = ""

    @property
    def is_own_ipykernel(self) -> bool:
        """Whether this is this Python's ipykernel, with nothing added: what the fork server can start."""
        return (
            self.argv == (sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}")
            and not self.env
            and self.interrupt_mode == "signal"
        )

    def command(self, connection_file: str) -> list[str]:
        """The command line for a kernel serving ``connection_file``."""
        names = {"connection_file": connection_file, "prefix": sys.prefix, "resource_dir": self.resource_dir}
        command = [_TEMPLATE.sub(lambda m: names.get(m.group(1), m.group()), arg) for arg in self.argv]
        return command + list(OWN_KERNEL_ARGUMENTS) if self.is_own_ipykernel else command


#: Seconds the fork server may take to answer a fork request (it answers in about a millisecond); after that it is
#: given up on and kernels are spawned.
FORK_TIMEOUT = 10.0

#: Options of this Python's own ipykernel when it runs a task, forked or spawned: no IPython history database (a
#: job's kernel is never browsed later; it spares each kernel an SQLite file opened, written and locked against
#: the other kernels of the run).
OWN_KERNEL_ARGUMENTS = ("--HistoryManager.enabled=False",)


def _kernel_dirs() -> list[str]:
    from jupyter_core.paths import jupyter_path

    ipython_dir = os.environ.get("IPYTHONDIR") or os.path.join(os.path.expanduser("~"), ".ipython")
    return [*jupyter_path("kernels"), os.path.join(ipython_dir, "kernels")]


def find_kernelspec(name: str) -> KernelSpec:
    """Return the kernelspec called ``name``, looked up as jupyter_client does, without importing it.

    The first folder of Jupyter's kernel path (then IPython's) holding ``<name>/kernel.json`` wins, names compared
    without case; ``python3`` is this Python's ipykernel when no folder has one. A command that starts with
    ``python`` runs this Python (as jupyter_client does).
    """
    wanted = name.lower()
    for directory in _kernel_dirs():
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for entry in entries:
            spec_file = os.path.join(directory, entry, "kernel.json")
            if entry.lower() != wanted or not os.path.isfile(spec_file):
                continue
            try:
                with open(spec_file, encoding="utf-8") as f:
                    data = json.load(f)
                argv = [str(a) for a in data["argv"]]
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise KernelStartError(
                    f"The kernelspec {spec_file} cannot be read: {e}. Fix or remove it."
                ) from e
            if argv and argv[0] in _PYTHON_NAMES:
                argv[0] = sys.executable
            return KernelSpec(
                name,
                tuple(argv),
                {str(k): str(v) for k, v in (data.get("env") or {}).items()},
                str(data.get("interrupt_mode") or "signal"),
                os.path.join(directory, entry),
            )
    if wanted == "python3":
        return KernelSpec(name, (sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"))
    raise KernelStartError(
        f"No kernel named {name!r}: no kernelspec of that name in {', '.join(_kernel_dirs())}. "
        "`jupyter kernelspec list` shows the installed ones; install it or name another."
    )


# -- processes ------------------------------------------------------------------------------------------------


class KernelProcess(abc.ABC):
    """A kernel's process, leader of its own process group (a spawned one, or a fork of the fork server)."""

    pid: int

    @abc.abstractmethod
    def poll(self) -> int | None:
        """Its exit code, or ``None`` while it runs."""

    def signal(self, number: int, *, group: bool = False) -> None:
        """Send a signal to the kernel (``group``: to its whole process group) unless it is gone."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group and hasattr(os, "killpg"):
                os.killpg(self.pid, number)
            elif self.poll() is None:
                os.kill(self.pid, number)

    @abc.abstractmethod
    async def reap(self) -> None:
        """Collect the exit status of a process that was killed."""


class _SpawnedProcess(KernelProcess):
    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen
        self.pid = popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    async def reap(self) -> None:
        for _ in range(200):
            if self.popen.poll() is not None:
                return
            await asyncio.sleep(0.01)


class _ForkedProcess(KernelProcess):
    def __init__(self, pid: int, server: Any) -> None:
        self.pid = pid
        self.server = server

    def poll(self) -> int | None:
        code: int | None = self.server.poll(self.pid)
        return code

    async def reap(self) -> None:
        """Nothing to do: the fork server, its parent, reaps it and reports its exit code."""


def _connection_info(folder: str, kernel_name: str) -> dict[str, Any]:
    """Connection info for a new kernel: ipc sockets in ``folder`` (POSIX), else TCP ports on loopback.

    ipc needs no port: nothing to pick, release and lose to another process starting at the same moment. A Unix
    socket path is limited to about 100 bytes, so a long temporary folder falls back to TCP.
    """
    info: dict[str, Any] = {
        "key": secrets.token_hex(32),
        "signature_scheme": "hmac-sha256",
        "kernel_name": kernel_name,
    }
    names = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
    if os.name == "posix" and len(folder) < 80:
        info.update(transport="ipc", ip=os.path.join(folder, "kernel"))
        info.update({name: number for number, name in enumerate(names, 1)})
        return info
    sockets = []
    try:
        for name in names:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
            info[name] = sock.getsockname()[1]
    finally:
        for sock in sockets:
            sock.close()
    info.update(transport="tcp", ip="127.0.0.1")
    return info


@functools.lru_cache(maxsize=1)
def _client_class() -> Any:
    """An async kernel client that knows the kernel's process, so that it can tell when the kernel died."""
    from jupyter_client.asynchronous.client import AsyncKernelClient

    class TaskKernelClient(AsyncKernelClient):  # type: ignore[misc]
        kernel_process: KernelProcess | None = None

        async def is_alive(self) -> bool:  # nbclient asks this when a reply is slow to come
            return self.kernel_process is not None and self.kernel_process.poll() is None

    return TaskKernelClient


_contexts: dict[int, Any] = {}


def _zmq_context() -> Any:
    """One zmq context per process for every client (a context per kernel would start an I/O thread each)."""
    context = _contexts.get(os.getpid())
    if context is None:
        import zmq.asyncio

        context = _contexts[os.getpid()] = zmq.asyncio.Context()
    return context


# -- kernels --------------------------------------------------------------------------------------------------


@dataclass
class Kernel:
    """A started, ready kernel: its process and a connected client."""

    process: KernelProcess
    client: Any  # jupyter_client.AsyncKernelClient
    stderr: IO[bytes] | None = None
    started: float = field(default_factory=time.monotonic)
    ready_seconds: float = 0.0
    folder: str | None = None  # the private folder of its connection file and ipc sockets
    interrupt_mode: str = "signal"
    forked: bool = False
    #: The warm-up imported the task bootstrap: the first cell can be sent without waiting for the bootstrap.
    warmed: bool = False

    async def interrupt(self) -> None:
        """Interrupt what the kernel is running (SIGINT to its process group, or a message if it asks for that)."""
        if self.interrupt_mode == "message":
            with contextlib.suppress(Exception):
                self.client.control_channel.send(self.client.session.msg("interrupt_request", {}))
        else:
            self.process.signal(signal.SIGINT, group=True)

    async def stop(self, grace: float = 1.0) -> None:
        """Ask the kernel to shut down; if it has not exited within ``grace`` seconds, terminate then kill it.

        Half the grace goes to the shutdown request, half to SIGTERM; then SIGKILL goes to the kernel's process
        group (its child processes too). A kernel usually exits in 0.1-0.3 s (it flushes files and runs atexit
        handlers), but about one graceful shutdown in ten stalls in the kernel after it replied (jupyter_client
        would wait 2.5 s): that is what the grace bounds, and why no task ever waits for this.
        """
        began = time.monotonic()
        # A graceful exit costs the kernel CPU: it gets what the kernels being started and the tasks running
        # leave over.
        if hasattr(os, "setpriority"):
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, self.process.pid, 10)
        with contextlib.suppress(Exception):  # a closed or half-dead channel must not stop the shutdown
            self.client.control_channel.send(self.client.session.msg("shutdown_request", {"restart": False}))
        exited = await self._wait_for_exit(grace / 2)
        if not exited:
            self.process.signal(signal.SIGTERM)
            await self._wait_for_exit(grace / 2)
        # A kernel that exited gracefully leaves the processes its task started (a `Popen`, a shell's `&`)
        # behind in its process group: they end with the task.
        self.process.signal(signal.SIGKILL, group=True)
        await self.process.reap()
        self._close()
        seconds = time.monotonic() - began
        log.debug(
            "kernel stopped in %.3f s",
            seconds,
            extra={"timing": {"event": "kernel_stop", "seconds": seconds, "stalled": seconds >= grace / 2}},
        )

    async def _wait_for_exit(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self.process.poll() is None:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def kill(self) -> None:
        """Kill the kernel and its process group at once."""
        self.process.signal(signal.SIGKILL, group=True)
        self.process.signal(signal.SIGKILL)
        await self.process.reap()
        self._close()

    def _close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.stop_channels()
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


# Settings of the notebook runtime, not of a task: secrets (SECRET_*, SECRETS_FILE), DBFS_ROOT, FS_ROOTS.
_RUNTIME_ENV = tuple(ENV_PREFIX + suffix for suffix in ("SECRET", "DBFS_ROOT", "FS_ROOTS"))


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


async def start_kernel(
    kernel_name: str | KernelSpec = "python3",
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    startup_timeout: float = 60.0,
    retries: int = 1,
    warm_up: str | None = None,
    fork_server: Any = None,
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
    fork_server
        A ready :class:`~.forkserver.ForkServer` to fork the kernel from (``env`` and ``cwd`` are then the
        server's), used when the kernelspec is this Python's ipykernel.
    """
    spec = kernel_name if isinstance(kernel_name, KernelSpec) else find_kernelspec(kernel_name)
    last_error: KernelStartError | None = None
    for attempt in range(retries + 1):
        try:
            return await _start_once(
                spec,
                env=env,
                cwd=cwd,
                startup_timeout=startup_timeout,
                warm_up=warm_up,
                fork_server=fork_server if spec.is_own_ipykernel else None,
            )
        except KernelStartError as e:
            last_error = e
            if attempt < retries:
                log.warning("%s Starting another one.", e)
    assert last_error is not None
    raise last_error


async def _launch(
    spec: KernelSpec, folder: str, env: Mapping[str, str] | None, cwd: str | None, fork_server: Any
) -> tuple[KernelProcess, IO[bytes], dict[str, Any]]:
    """Write the connection file and start the kernel's process; return it, its stderr file and its info."""
    info = _connection_info(folder, spec.name)
    connection_file = os.path.join(folder, "kernel.json")
    fd = os.open(connection_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "w", encoding="utf-8") as f:
        json.dump(info, f)
    stderr_path = os.path.join(folder, "stderr")
    stderr = open(stderr_path, "w+b")  # kept open for the kernel's life, closed by Kernel
    process: KernelProcess
    try:
        if fork_server is not None and fork_server.ready:
            try:
                fork = fork_server.fork(connection_file, stderr_path, OWN_KERNEL_ARGUMENTS)
                pid = await asyncio.wait_for(fork, FORK_TIMEOUT)
                process = _ForkedProcess(pid, fork_server)
                return process, stderr, info
            except asyncio.TimeoutError:  # a server that stopped answering is not asked again
                fork_server.abandon(f"it did not answer a fork request within {FORK_TIMEOUT:g} s")
                log.warning("The kernel fork server stopped answering; spawning kernels instead.")
            except RuntimeError as e:  # the server broke: spawn, as if there were none
                log.warning("The kernel fork server cannot be used (%s); spawning kernels instead.", e)
        kernel_env = dict(env if env is not None else kernel_environment())
        kernel_env.update(spec.env)
        kernel_env["JPY_PARENT_PID"] = str(os.getpid())  # the kernel exits on its own if the runner dies
        popen = subprocess.Popen(
            spec.command(connection_file),
            env=kernel_env,
            cwd=cwd or os.getcwd(),
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            start_new_session=True,  # its own process group: the runner kills the group, children included
        )
        return _SpawnedProcess(popen), stderr, info
    except BaseException:
        stderr.close()
        raise


async def _start_once(
    spec: KernelSpec,
    *,
    env: Mapping[str, str] | None,
    cwd: str | None,
    startup_timeout: float,
    warm_up: str | None,
    fork_server: Any,
) -> Kernel:
    began = time.monotonic()
    folder = tempfile.mkdtemp(prefix="jtv-kernel-")
    try:
        process, stderr, info = await _launch(spec, folder, env, cwd, fork_server)
    except OSError as e:
        shutil.rmtree(folder, ignore_errors=True)
        raise KernelStartError(f"Cannot start a {spec.name!r} kernel: {e}") from e
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    launched = time.monotonic()
    log.debug(
        "kernel launched",
        extra={"timing": {"event": "kernel_launch", "at": launched, "cpu": time.process_time()}},
    )
    client = None
    kernel = Kernel(
        process,
        None,
        stderr,
        folder=folder,
        interrupt_mode=spec.interrupt_mode,
        forked=isinstance(process, _ForkedProcess),
    )
    try:
        client = _client_class()(context=_zmq_context())
        client.load_connection_info(info)
        client.kernel_process = process
        client.start_channels(hb=False)
        kernel.client = client
        await asyncio.wait_for(_wait_until_ready(kernel), startup_timeout)
        if warm_up:
            msg_id = kernel.client.execute(warm_up, silent=True, store_history=False)
            reply = await asyncio.wait_for(shell_reply(kernel, msg_id), startup_timeout)
            kernel.warmed = reply["content"].get("status") == "ok"
    except asyncio.TimeoutError:
        await kernel.kill()
        raise KernelStartError(
            f"The {spec.name!r} kernel did not become ready within {startup_timeout:.0f} s."
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
            if kernel.process.poll() is not None:
                raise KernelStartError(_death_message(kernel)) from None
            continue
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def _death_message(kernel: Kernel) -> str:
    code = kernel.process.poll()
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
    fork
        Start kernels from a :mod:`fork server <.forkserver>` when the kernel is this Python's ipykernel (on
        Linux, once more kernels are expected than are being started): most of a kernel's start-up CPU is
        then paid once per run instead of once per task. The first kernels are spawned while it starts.
    """

    def __init__(
        self,
        size: int,
        kernel_name: str = "python3",
        *,
        startup_timeout: float = 60.0,
        max_starting: int | None = None,
        fork: bool = True,
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
        self.fork = fork and sys.platform.startswith("linux")
        self._spec: KernelSpec | None = None
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
        if self._server is not None or self._closed:
            return
        try:
            if self._spec is None:
                self._spec = find_kernelspec(self.kernel_name)
            if not self._spec.is_own_ipykernel:
                self.fork = False
                return
            from .forkserver import ForkServer

            self._server = ForkServer(self._env, self._cwd)
        except (KernelStartError, OSError) as e:
            self.fork = False
            log.warning("Cannot start the kernel fork server (%s); spawning every kernel.", e)

    async def _start(self) -> Kernel:
        if self._server is not None and self._server.ready:
            # A fork costs a fifth of a spawn's CPU and waits on messages most of its start: no queue.
            return await self._start_now()
        async with self._launching:
            return await self._start_now()

    async def _start_now(self) -> Kernel:
        if self._spec is None:
            self._spec = find_kernelspec(self.kernel_name)
        return await start_kernel(
            self._spec,
            env=self._env,
            cwd=self._cwd,
            startup_timeout=self.startup_timeout,
            warm_up=WARM_UP,
            fork_server=self._server,
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
