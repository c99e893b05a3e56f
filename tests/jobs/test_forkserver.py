"""Kernels forked from the fork server: each is a new process and a kernel like a spawned one, never shared."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.jobs.kernels.pool import Kernel, KernelPool, start_kernel
from tests.jobhelpers import kernel_processes, run_code, user_expression

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server is Linux-only")

# What a kernel looks like from inside; a forked one must look the same as a spawned one.
_PORTRAIT = (
    "__import__('json').dumps({"
    "'pid': __import__('os').getpid(), 'pgid': __import__('os').getpgid(0), "
    "'sid': __import__('os').getsid(0), 'cwd': __import__('os').getcwd(), "
    "'path': __import__('sys').path, 'main': __import__('__main__').__name__, "
    "'shell': type(get_ipython()).__name__, 'marker': __import__('os').environ.get('KERNEL_TEST_MARKER'), "
    "'threads_ok': __import__('threading').main_thread().is_alive(), 'argv0': __import__('sys').argv[0]})"
)


@pytest.fixture
def marker(monkeypatch: pytest.MonkeyPatch) -> str:
    value = f"fork-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("KERNEL_TEST_MARKER", value)
    return value


@contextlib.asynccontextmanager
async def _forked_kernel() -> AsyncIterator[tuple[KernelPool, Kernel]]:
    """A pool whose fork server is ready, and the first kernel it forked; the pool is closed afterwards."""
    pool = KernelPool(1)
    pool.expect(20)
    try:
        kernel = await _first_forked(pool)
        assert kernel.forked
        yield pool, kernel
    finally:
        await pool.close()


async def _first_forked(pool: KernelPool) -> Kernel:
    """The first forked kernel the pool hands out; the spawned ones before it are released."""
    *spawned, forked = await _forked_and_spawned(pool, 20)
    for kernel in spawned:
        pool.release(kernel)
    return forked


async def _forked_and_spawned(pool: KernelPool, count: int) -> list[Kernel]:
    """Acquire kernels one after the other (the fork server gets ready meanwhile) until one is forked."""
    kernels = []
    for _ in range(count):
        kernel = await pool.acquire()
        kernels.append(kernel)
        if kernel.forked:
            break
        await asyncio.sleep(0.5)
    return kernels


def test_pool_forks_kernels_that_look_like_spawned_ones_from_inside(marker: str) -> None:
    async def scenario() -> tuple[list[bool], list[dict[str, Any]]]:
        pool = KernelPool(1)
        pool.expect(20)
        try:
            kernels = await _forked_and_spawned(pool, 20)
            portraits = [json.loads(eval(await user_expression(k, _PORTRAIT))) for k in kernels]
            for kernel in kernels:
                pool.release(kernel)
            return [k.forked for k in kernels], portraits
        finally:
            await pool.close()

    forked, portraits = asyncio.run(scenario())
    assert forked[0] is False and forked[-1] is True  # the first kernel never waits for the server
    spawned, fork = portraits[0], portraits[-1]
    assert fork["pid"] != spawned["pid"]
    for portrait in (spawned, fork):
        # Its own session and process group: killing the group takes the task's children, not the server.
        assert portrait["pgid"] == portrait["pid"] == portrait["sid"]
        assert portrait["marker"] == marker
    for name in ("cwd", "path", "main", "shell", "threads_ok", "argv0"):
        assert fork[name] == spawned[name], name
    assert kernel_processes(marker) == []


def test_forked_kernels_share_no_state(marker: str) -> None:
    async def scenario() -> list[str]:
        pool = KernelPool(2)
        pool.expect(20)
        try:
            first = await _first_forked(pool)
            await run_code(first, "secret = 42; import random; drawn = random.random()")
            # A kernel spawned while the fork server was starting may still be handed out after the first
            # fork (on a loaded machine it gets ready later): the second fork is the one that must share nothing.
            second = await _first_forked(pool)
            assert first.forked and second.forked
            seen = [
                await user_expression(second, "'secret' in globals()"),
                await user_expression(second, "__import__('random').random() != 0"),
                await user_expression(first, "drawn"),
                await user_expression(second, "__import__('random').random()"),
            ]
            pool.release(first)
            pool.release(second)
            return seen
        finally:
            await pool.close()

    absent, _, drawn_first, drawn_second = asyncio.run(scenario())
    assert absent == "False"
    assert drawn_first != drawn_second  # each fork's random generator is seeded anew


def test_a_forked_kernel_that_dies_reports_its_exit_code(marker: str) -> None:
    async def scenario() -> int | None:
        async with _forked_kernel() as (pool, kernel):
            kernel.client.execute("import os; os._exit(7)")
            for _ in range(500):
                if kernel.process.poll() is not None:
                    break
                await asyncio.sleep(0.01)
            code = kernel.process.poll()
            assert not await kernel.client.is_alive()  # what nbclient asks to tell a dead kernel
            pool.release(kernel)
            return code

    assert asyncio.run(scenario()) == 7
    assert kernel_processes(marker) == []


def test_children_of_a_forked_kernel_are_killed_with_it(marker: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"

    async def scenario() -> None:
        async with _forked_kernel() as (_pool, kernel):
            await run_code(
                kernel,
                "import subprocess; child = subprocess.Popen(['sleep', '600']); "
                f"open({str(pid_file)!r}, 'w').write(str(child.pid))",
            )
            await kernel.stop()

    asyncio.run(scenario())
    assert not _running(int(pid_file.read_text()))


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie nobody reaped yet is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_pool_spawns_kernels_when_the_fork_server_dies(marker: str) -> None:
    async def scenario() -> list[bool]:
        async with _forked_kernel() as (pool, kernel):
            pool.release(kernel)
            server = pool._server
            os.kill(server.process.pid, signal.SIGKILL)
            for _ in range(200):
                if server.broken:
                    break
                await asyncio.sleep(0.01)
            later = [await pool.acquire() for _ in range(3)]
            answers = [await user_expression(k, "6 * 7") for k in later]
            assert answers == ["42"] * 3
            for k in later:
                pool.release(k)
            return [k.forked for k in later]

    assert asyncio.run(scenario()) == [False, False, False]
    assert kernel_processes(marker) == []


def test_another_kernelspec_is_always_spawned(
    marker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "jupyter" / "kernels" / "other"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "other",
                "language": "python",
                "env": {"OTHER_KERNEL": "yes"},
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))

    async def scenario() -> list[tuple[bool, str]]:
        pool = KernelPool(1, "other")
        pool.expect(4)
        try:
            seen = []
            for _ in range(4):
                kernel = await pool.acquire()
                seen.append(
                    (kernel.forked, await user_expression(kernel, "__import__('os').environ['OTHER_KERNEL']"))
                )
                pool.release(kernel)
            return seen
        finally:
            await pool.close()

    assert asyncio.run(scenario()) == [(False, "'yes'")] * 4


def test_start_kernel_without_a_pool_spawns(marker: str) -> None:
    async def scenario() -> bool:
        kernel = await start_kernel()
        try:
            return kernel.forked
        finally:
            await kernel.kill()

    assert asyncio.run(scenario()) is False


def test_a_kernel_whose_bootstrap_failed_refuses_every_later_cell(marker: str, tmp_path: Path) -> None:
    from jupyter_taskvalues.context import TaskContext
    from jupyter_taskvalues.ipython.bootstrap import bootstrap_code

    task = TaskContext(run_id="r", task_key="t", runs_dir=str(tmp_path), parameters={})

    async def scenario() -> list[dict[str, Any]]:
        pool = KernelPool(1)
        pool.expect(1)
        try:
            kernel = await pool.acquire()
            assert kernel.warmed
            # Sent without waiting, as the executor does; the folder is gone, so entering the task fails.
            kernel.client.execute(
                bootstrap_code(task, str(tmp_path / "gone")), silent=True, store_history=False
            )
            replies = [await run_code(kernel, "print('ran outside its task')") for _ in range(2)]
            pool.release(kernel)
            return [r["content"] for r in replies]
        finally:
            await pool.close()

    for content in asyncio.run(scenario()):
        # Aborted behind the failed bootstrap, or refused with the reason: never run without its task.
        assert content["status"] in ("aborted", "error")
        if content["status"] == "error":
            assert content["ename"] == "RuntimeError"
            assert "could not become its task" in content["evalue"]
            assert "FileNotFoundError" in content["evalue"]


def test_a_forked_kernel_runs_its_atexit_handlers_and_exits_at_once_when_asked(
    marker: str, tmp_path: Path
) -> None:
    flag = tmp_path / "atexit-ran"

    async def scenario() -> float:
        async with _forked_kernel() as (_pool, kernel):
            await run_code(kernel, f"import atexit; atexit.register(open({str(flag)!r}, 'w').close)")
            kernel.client.control_channel.send(
                kernel.client.session.msg("shutdown_request", {"restart": False})
            )
            exited = await kernel._wait_for_exit(5.0)
            assert exited
            code = kernel.process.poll()
            await kernel.kill()
            return float(code if code is not None else -1)

    assert asyncio.run(scenario()) == 0
    assert flag.exists()


def test_a_fork_server_that_stops_answering_is_given_up_and_the_kernel_spawned(
    marker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_taskvalues.jobs.kernels import provisioner as kernels

    class Silent:
        """A server that says it is ready and then never answers a fork request."""

        ready = True
        abandoned = ""

        async def fork(self, *args: Any) -> int:
            await asyncio.sleep(3600)
            return 0

        def abandon(self, reason: str) -> None:
            self.abandoned = reason
            self.ready = False

    monkeypatch.setattr(kernels, "FORK_TIMEOUT", 0.2)
    server = Silent()

    async def scenario() -> tuple[bool, str]:
        kernel = await start_kernel(fork_server=server)
        try:
            return kernel.forked, str(await user_expression(kernel, "6 * 7"))
        finally:
            await kernel.kill()

    assert asyncio.run(scenario()) == (False, "42")
    assert "did not answer a fork request" in server.abandoned
    assert kernel_processes(marker) == []


def test_a_forked_kernel_starts_with_the_task_runtime_and_the_store_imported(marker: str) -> None:
    from jupyter_taskvalues.jobs.kernels.forkserver import PRELOAD

    async def scenario() -> str:
        async with _forked_kernel() as (pool, kernel):
            missing = await user_expression(
                kernel, f"[m for m in {PRELOAD!r} if m not in __import__('sys').modules]"
            )
            pool.release(kernel)
            return missing

    # Imported once in the server, not again by each task's kernel (its first set opens the store).
    assert "jupyter_taskvalues.store._local" in PRELOAD and "jupyter_taskvalues.runtime.guard" in PRELOAD
    assert asyncio.run(scenario()) == "[]"
