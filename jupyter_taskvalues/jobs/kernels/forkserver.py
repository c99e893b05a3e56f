"""A fork server for kernels: one process imports ipykernel once, and every kernel after it is a fork of it.

A fresh ipykernel spends most of its start importing (ipykernel, IPython, jupyter_client, zmq, debugpy): about
0.3-0.6 s of CPU, paid again by every task. The fork server pays it once per run. It is started by
:class:`~jupyter_taskvalues.jobs.kernels.pool.KernelPool` when the kernel is this Python's own ipykernel, imports what
a kernel imports, and then forks one child per kernel asked for. Each child is a kernel like any other: a new
process, in its own session and process group, with its own connection file, sockets and stderr file; no state
is shared with another task (nothing but imported modules exists in the server when it forks, and it has no
thread). Only the import is saved, never the isolation.

Protocol, one JSON object per line: the runner writes ``{"id", "connection_file", "stderr", "arguments",
"env"}`` on the server's stdin; the server answers ``{"ready": true}`` once, when its imports are done, then
``{"id", "pid"}`` for each fork and ``{"exit": pid, "code": n}`` when a kernel it forked exits (the server
reaps them: only it can). The server exits when its stdin closes.

Run as ``python -m jupyter_taskvalues.jobs.kernels.forkserver``; Linux only (``KernelPool`` checks).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import select
import signal
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

__all__ = ["PRELOAD", "ForkServer", "main"]

#: Modules a kernel imports while it starts (``IPKernelApp.initialize``) and while the task bootstraps:
#: imported once in the server. Missing ones are skipped.
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "sqlite3",
    "tornado.gen",
    "tornado.locks",
    "tornado.queues",
    "tornado.platform.asyncio",
    "jupyter_taskvalues.ipython.bootstrap",
    "jupyter_taskvalues.ipython.extension",
    "jupyter_taskvalues.ipython.magics",
    # Imported by every kernel after it was forked, until these were preloaded: its command line parsing
    # (argcomplete), faulthandler, the runtime the bootstrap installs, the end-of-task guard and the store
    # the first ``taskValues.set`` opens. About 30 modules, 10-20 ms of CPU a task.
    "traitlets.config.argcomplete_config",
    "faulthandler",
    "IPython.core.logger",
    "importlib.resources.readers",
    "jupyter_taskvalues.ipython.outflow",
    "jupyter_taskvalues.runtime.display",
    "jupyter_taskvalues.runtime.guard",
    "jupyter_taskvalues.runtime.secrets",
    "jupyter_taskvalues.runtime.spark",
    "jupyter_taskvalues.store._local",
)


def _preload() -> None:
    import importlib
    import importlib.util

    global _LAUNCHER
    for name in PRELOAD:
        with contextlib.suppress(Exception):  # a speed-up only: the kernel reports it
            importlib.import_module(name)
    with contextlib.suppress(Exception):  # no launcher spec: keep the default
        _LAUNCHER = importlib.util.find_spec("ipykernel_launcher").origin or _LAUNCHER  # type: ignore[union-attr]


#: What a kernel's ``sys.argv[0]`` is when it was spawned (``python -m ipykernel_launcher``); forks say the same.
_LAUNCHER = "ipykernel_launcher"


def _send(message: dict[str, Any]) -> None:
    os.write(1, (json.dumps(message) + "\n").encode())


def _become_kernel(request: dict[str, Any], wakeup: tuple[int, int]) -> NoReturn:
    """In the child: become a kernel that serves ``request["connection_file"]``; never returns."""
    code = 1
    try:
        os.setsid()  # its own session and process group: the runner kills the group, children included
        signal.set_wakeup_fd(-1)
        for number in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        for fd in wakeup:
            os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_APPEND)
        os.dup2(null, 0)
        os.dup2(err, 1)
        os.dup2(err, 2)
        os.close(null)
        os.close(err)
        os.environ.update(request.get("env") or {})
        from ipykernel.kernelapp import IPKernelApp
        from ipykernel.kernelbase import Kernel

        _exit_at_shutdown(Kernel)

        # The kernel exits on its own when its parent, this server, is gone (as the server does with the runner).
        argv = [
            "-f",
            request["connection_file"],
            f"--IPKernelApp.parent_handle={os.getppid()}",
            *request.get("arguments", []),
        ]
        sys.argv = [_LAUNCHER, *argv]
        code = 0
        IPKernelApp.launch_instance(argv=argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported on the kernel's stderr, which the runner reads
        traceback.print_exc()
        code = 1
    _finish(code)


def _finish(code: int) -> NoReturn:
    """End the kernel process: what a normal exit does that matters (atexit handlers, buffered output), without
    tearing down every module object by object, which costs a kernel as much CPU as a third of its start."""
    with contextlib.suppress(BaseException):  # the process ends next whatever a handler raised
        atexit._run_exitfuncs()
    for stream in (sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(BaseException):  # a closed or broken stream: nothing to flush
            if stream is not None:
                stream.flush()
    os._exit(code)


def _exit_at_shutdown(kernel_class: Any) -> None:
    """Make a kernel end its process as soon as it has answered a shutdown request (its cells have all ended).

    After the reply, ipykernel looks for the kernel's child processes to terminate them, broadcasts the shutdown
    and flushes its control stream; about one time in five here that never ends, and the runner has to wait
    half a second and terminate it. A fork skips it: the runner kills the kernel's process group anyway (its
    children with it), and nobody listens for the broadcast. atexit handlers still run.
    """

    async def at_shutdown(self: Any) -> None:
        _finish(0)

    kernel_class._at_shutdown = at_shutdown


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send({"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def main() -> int:
    """Serve fork requests from stdin until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides when kernels stop, not a Ctrl-C
    if sys.path and sys.path[0] in ("", os.getcwd()):  # as ipykernel_launcher: kernels get it back later
        del sys.path[0]
    _preload()
    # What the server imported is shared with every fork until written to; a collection in a kernel would walk
    # (and so copy) all of it. Frozen objects are left out of collections.
    gc.collect()
    gc.freeze()
    wakeup = os.pipe()
    for fd in wakeup:
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wakeup[1])
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that the wakeup fd hears of exits
    _send({"ready": True, "pid": os.getpid()})
    pending = b""
    while True:
        with contextlib.suppress(InterruptedError):
            readable, _, _ = select.select([0, wakeup[0]], [], [])
        if wakeup[0] in readable:
            with contextlib.suppress(BlockingIOError):
                while os.read(wakeup[0], 512):
                    pass
        _reap()
        if 0 not in readable:
            continue
        data = os.read(0, 65536)
        if not data:
            return 0
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            request = json.loads(line)
            if threading.active_count() != 1:  # pragma: no cover - a preloaded module started a thread
                _send({"id": request.get("id"), "error": "the fork server has threads; it cannot fork"})
                continue
            pid = os.fork()
            if pid == 0:
                _become_kernel(request, wakeup)
            _send({"id": request.get("id"), "pid": pid})


class ForkServer:
    """The runner's side of a fork server: start it, ask it for kernels, learn when they exit.

    Lines from the server are read by the event loop (``add_reader``), so this works in whichever thread runs
    the loop. Every method must be called from that loop.

    Parameters
    ----------
    env, cwd
        The environment and folder of the server, hence of every kernel it forks.
    """

    def __init__(self, env: dict[str, str], cwd: str) -> None:
        import asyncio
        import subprocess
        import tempfile

        self.loop = asyncio.get_running_loop()
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_taskvalues.jobs.kernels.forkserver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            cwd=cwd,
            start_new_session=True,  # a Ctrl-C reaches the runner, which stops the kernels itself
        )
        assert self.process.stdout is not None
        self._out = self.process.stdout.fileno()
        os.set_blocking(self._out, False)
        self._buffer = b""
        self.ready = False
        self.broken: str | None = None
        self.exit_codes: dict[int, int] = {}
        self._waiting: dict[int, asyncio.Future[int]] = {}
        self._next_id = 0
        self.loop.add_reader(self._out, self._on_output)

    def _on_output(self) -> None:
        try:
            data = os.read(self._out, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._fail("the fork server exited")
            return
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            with contextlib.suppress(ValueError):
                self._handle(json.loads(line))

    def _handle(self, message: dict[str, Any]) -> None:
        if message.get("ready"):
            self.ready = True
        elif "exit" in message:
            self.exit_codes[int(message["exit"])] = int(message["code"])
        elif "id" in message:
            future = self._waiting.pop(message["id"], None)
            if future is not None and not future.done():
                if "pid" in message:
                    future.set_result(int(message["pid"]))
                else:
                    future.set_exception(RuntimeError(str(message.get("error"))))

    def _fail(self, reason: str) -> None:
        if self.broken is None:
            self.stderr.seek(0)
            tail = self.stderr.read()[-2000:].decode("utf-8", "replace").strip()
            self.broken = reason + (f": {tail}" if tail else "")
        self.ready = False
        with contextlib.suppress(Exception):  # loop closed or pipe gone: reader is dead
            self.loop.remove_reader(self._out)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(RuntimeError(self.broken))
        self._waiting.clear()

    async def fork(
        self,
        connection_file: str,
        stderr: str,
        arguments: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> int:
        """Ask for a kernel serving ``connection_file`` with its output in ``stderr``; return its pid.

        ``arguments`` are added to the kernel's command line (traitlets options such as ``--Class.trait=value``);
        ``env`` to its ``os.environ`` (so to every process it starts).
        """
        if self.broken is not None or not self.ready:
            raise RuntimeError(self.broken or "the fork server is not ready")
        self._next_id += 1
        future: Any = self.loop.create_future()
        self._waiting[self._next_id] = future
        request = {
            "id": self._next_id,
            "connection_file": connection_file,
            "stderr": stderr,
            "arguments": list(arguments),
            "env": dict(env or {}),
        }
        assert self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
        except OSError as e:
            self._fail(f"cannot write to the fork server ({e})")
        pid: int = await future
        return pid

    def abandon(self, reason: str) -> None:
        """Give up on the server (it stopped answering): it is asked for no more kernels; :meth:`close` ends it."""
        self._fail(reason)

    def poll(self, pid: int) -> int | None:
        """The exit code of a kernel this server forked, or ``None`` while it runs."""
        code = self.exit_codes.get(pid)
        if code is None and self.broken is not None:  # nobody reports its exit any more: look
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return -signal.SIGKILL
            except PermissionError:
                return None
        return code

    async def close(self) -> None:
        """Stop the server (its kernels are stopped by their owners first) and wait until it is gone."""
        import asyncio

        if self.broken is None:
            self._fail("the fork server was closed")
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()
        try:
            await asyncio.to_thread(self.process.wait, 2.0)
        except Exception:  # noqa: BLE001 - it must go whatever happened
            self.process.kill()
            with contextlib.suppress(Exception):  # killed already: a timeout or error here changes nothing
                await asyncio.to_thread(self.process.wait, 2.0)
        self.stderr.close()


if __name__ == "__main__":
    sys.exit(main())
