"""No process outlives its task: descendants that leave the kernel's process group are ended with it."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest

from jupyter_taskvalues.jobs.kernels import Kernel, KernelPool
from tests.jobhelpers import run_code, user_expression

# Each starts `sleep 600` in a way that leaves the kernel's process group, and prints nothing.
ESCAPES = {
    "setsid daemon": "subprocess.Popen(['setsid', 'sleep', '600'], stdout=subprocess.DEVNULL)",
    "double fork": "subprocess.run(['sh', '-c', '(setsid sleep 600 &) &'], check=True)",
    "nohup": "subprocess.Popen(['setsid', 'nohup', 'sleep', '600'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)",
}


def _sleepers(tag: str) -> list[int]:
    """Live (not zombie) `sleep 600` processes whose environment holds ``tag``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and cmdline.startswith(b"sleep\x00600") and tag.encode() in environ:
            found.append(int(pid))
    return found


async def _wait_for(check: object, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


async def _escaped(kernel: Kernel, how: str, tag: str) -> None:
    """Start the escape in the kernel and check that it left the kernel's process group."""
    reply = await run_code(
        kernel, f"import os, subprocess; os.environ['ESCAPE_TAG'] = {tag!r}; {ESCAPES[how]}"
    )
    assert reply["content"]["status"] == "ok", reply["content"]
    assert await _wait_for(lambda: len(_sleepers(tag)) == 1), "the escape did not start"
    (pid,) = _sleepers(tag)
    kernel_group = int(await user_expression(kernel, "__import__('os').getpgid(0)"))
    assert os.getpgid(pid) != kernel_group  # killing the group alone would leave it


@pytest.mark.parametrize("how", sorted(ESCAPES))
def test_process_that_left_the_kernels_group_ends_when_the_task_ends(how: str) -> None:
    tag = f"escape-{uuid.uuid4().hex}"

    async def scenario() -> list[int]:
        pool = KernelPool(1)
        pool.expect(1)
        try:
            kernel = await pool.acquire()
            await _escaped(kernel, how, tag)
            pool.release(kernel)  # the task's end: a graceful shutdown in the background
        finally:
            await pool.close()
        return _sleepers(tag)

    assert asyncio.run(scenario()) == []


@pytest.mark.parametrize("how", sorted(ESCAPES))
def test_process_that_left_the_kernels_group_ends_when_the_task_is_killed(how: str) -> None:
    # A cancel or a timeout whose interrupt did not stop the cell ends in Kernel.kill().
    tag = f"escape-{uuid.uuid4().hex}"

    async def scenario() -> list[int]:
        pool = KernelPool(1)
        pool.expect(1)
        try:
            kernel = await pool.acquire()
            await _escaped(kernel, how, tag)
            await kernel.kill()
            return _sleepers(tag)
        finally:
            await pool.close()

    assert asyncio.run(scenario()) == []


def test_forked_kernel_passes_its_mark_to_what_it_starts() -> None:
    # Forks get their environment from the fork server: the mark must still reach their children.
    from jupyter_taskvalues.jobs.kernels.cleanup import TOKEN_ENV

    tag = f"escape-{uuid.uuid4().hex}"

    async def scenario() -> tuple[bool, list[int]]:
        pool = KernelPool(1)
        pool.expect(20)
        kernels = []
        try:
            for _ in range(20):
                kernel = await pool.acquire()
                kernels.append(kernel)
                if kernel.forked:
                    break
                await asyncio.sleep(0.5)
            kernel = kernels.pop()
            for other in kernels:
                pool.release(other)
            mark = await user_expression(kernel, f"__import__('os').environ[{TOKEN_ENV!r}]")
            assert mark.strip("'") == kernel.token
            await _escaped(kernel, "setsid daemon", tag)
            forked = kernel.forked
            pool.release(kernel)
        finally:
            await pool.close()
        return forked, _sleepers(tag)

    assert asyncio.run(scenario()) == (True, [])
