"""A kernel provisioner that forks this Python's ipykernel from a :mod:`fork server <.forkserver>`.

:class:`ForkProvisioner` is jupyter_client's :class:`~jupyter_client.provisioning.LocalProvisioner` with one
difference: when its kernel manager carries a ready fork server (the ``fork_server`` attribute that
:func:`~.launch.start_kernel` sets) and the command is this Python's ipykernel, the kernel process is a fork of
that server instead of a new interpreter. Everything else (connection file, ports or ipc sockets, environment
substitution, interrupt, the signals to the kernel's process group) is the local provisioner's. Without a fork
server, or when the server cannot fork, it launches the kernel exactly as the local provisioner does.

It is registered as the ``taskvalues-fork-provisioner`` entry point of ``jupyter_client.kernel_provisioners``;
:func:`~.launch.start_kernel` names it for the default Python kernelspec unless forking is turned off (or the
kernelspec names a provisioner of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from .cleanup import TOKEN_ENV

__all__ = ["FORK_TIMEOUT", "PROVISIONER_NAME", "ForkProvisioner", "ForkedProcess", "is_own_ipykernel"]

log = logging.getLogger(__name__)

#: The entry-point name of :class:`ForkProvisioner` (``metadata.kernel_provisioner.provisioner_name``).
PROVISIONER_NAME = "taskvalues-fork-provisioner"

#: Seconds the fork server may take to answer a fork request (it answers in about a millisecond); after that it is
#: given up on and the kernel is spawned.
FORK_TIMEOUT = 10.0

_PYTHON_NAMES = frozenset(
    {
        "python",
        f"python{sys.version_info[0]}",
        f"python{sys.version_info[0]}.{sys.version_info[1]}",
        sys.executable,
    }
)


def is_own_ipykernel(argv: list[str], env: dict[str, str], interrupt_mode: str = "signal") -> bool:
    """Whether a kernelspec (its ``argv``, ``env``, ``interrupt_mode``) is this Python's ipykernel, unchanged.

    That is what a fork of the fork server can stand in for; anything added (an environment, other options)
    needs a kernel of its own.
    """
    return (
        len(argv) == 5
        and argv[0] in _PYTHON_NAMES
        and argv[1:] == ["-m", "ipykernel_launcher", "-f", "{connection_file}"]
        and not env
        and interrupt_mode == "signal"
    )


class ForkedProcess:
    """The part of :class:`subprocess.Popen` the local provisioner uses, for a kernel forked by the server.

    The fork server, its parent, reaps it and reports its exit code; the kernel leads its own process group.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int, server: Any) -> None:
        self.pid = pid
        self.server = server

    def poll(self) -> int | None:
        """Its exit code, or ``None`` while it runs."""
        code: int | None = self.server.poll(self.pid)
        return code

    def wait(self, timeout: float | None = None) -> int | None:
        """Its exit code (the provisioner calls this only once :meth:`poll` said it exited)."""
        return self.poll()

    def send_signal(self, number: int) -> None:
        """Send ``number`` to the kernel unless it is gone."""
        with contextlib.suppress(ProcessLookupError, PermissionError):  # it exited meanwhile
            if self.poll() is None:
                os.kill(self.pid, number)

    def terminate(self) -> None:
        """Send SIGTERM."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """Send SIGKILL."""
        self.send_signal(signal.SIGKILL)


class ForkProvisioner(LocalProvisioner):  # type: ignore[misc]
    """The local provisioner, forking this Python's ipykernel from the manager's fork server when it has one."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        """Fork the kernel from the manager's ready fork server, else launch it as the local provisioner does."""
        server = getattr(self.parent, "fork_server", None)
        stderr = kwargs.get("stderr")
        path = getattr(stderr, "name", None)
        if (
            server is not None
            and server.ready
            and isinstance(path, str)
            and len(cmd) >= 5
            and cmd[1:4] == ["-m", "ipykernel_launcher", "-f"]
        ):
            # The kernel's own mark (see .cleanup) goes into the fork's os.environ, hence to what it starts.
            marks = {k: v for k, v in (kwargs.get("env") or {}).items() if k == TOKEN_ENV}
            fork = asyncio.ensure_future(server.fork(cmd[4], path, cmd[5:], marks))
            try:
                pid = await asyncio.wait_for(asyncio.shield(fork), FORK_TIMEOUT)
            except asyncio.TimeoutError:  # a server that stopped answering is not asked again
                fork.add_done_callback(_kill_late_fork)
                server.abandon(f"it did not answer a fork request within {FORK_TIMEOUT:g} s")
                log.warning("The kernel fork server stopped answering; spawning kernels instead.")
            except asyncio.CancelledError:  # the start was cancelled: a fork that comes later is killed
                fork.add_done_callback(_kill_late_fork)
                raise
            except RuntimeError as e:  # the server broke: spawn, as if there were none
                log.warning("The kernel fork server cannot be used (%s); spawning kernels instead.", e)
            else:
                self.process = ForkedProcess(pid, server)  # type: ignore[assignment]
                self.pid = self.pgid = pid  # a fork calls setsid(): it leads its own process group
                self.cwd = kwargs.get("cwd")
                info: KernelConnectionInfo = self.connection_info
                return info
        info = await super().launch_kernel(cmd, **kwargs)
        return info


def _kill_late_fork(fork: asyncio.Future[int]) -> None:
    """Kill (with its process group) a kernel forked for a start that was given up or cancelled meanwhile."""
    if fork.cancelled() or fork.exception() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):  # it is gone already
        os.killpg(fork.result(), signal.SIGKILL)
