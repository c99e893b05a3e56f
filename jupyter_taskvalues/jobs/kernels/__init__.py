"""The kernels that run tasks, all started by jupyter_client's kernel manager.

- :mod:`.launch`: start one kernel, wait until it is ready, stop it (:func:`start_kernel`, :class:`Kernel`).
- :mod:`.pool`: :class:`KernelPool`, kernels started ahead of the tasks that need them, each handed out once.
- :mod:`.provisioner`: :class:`~.provisioner.ForkProvisioner`, the ``taskvalues-fork-provisioner`` kernel
  provisioner that forks this Python's ipykernel from the fork server.
- :mod:`.forkserver`: the fork server itself (a process that imports ipykernel once and forks kernels).
"""

from __future__ import annotations

from .launch import Kernel, KernelStartError, shell_reply, start_kernel
from .pool import KernelPool

__all__ = ["Kernel", "KernelPool", "KernelStartError", "shell_reply", "start_kernel"]
