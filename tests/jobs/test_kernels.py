"""Kernels for tasks: start failures are surfaced and retried, the pool hands each kernel out once, none survive."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path

import pytest

from jupyter_taskvalues.jobs.kernels.pool import KernelPool, KernelStartError, start_kernel
from tests.jobhelpers import kernel_processes, run_code, user_expression


def _kernelspec(root: Path, name: str, argv: list[str]) -> str:
    """Install a kernelspec under ``root`` (put on JUPYTER_PATH by the caller) and return its name."""
    folder = root / "kernels" / name
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": name, "language": "python"})
    )
    return name


@pytest.fixture
def kernelspecs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "jupyter"
    monkeypatch.setenv("JUPYTER_PATH", str(root))
    return root


@pytest.fixture
def marker(monkeypatch: pytest.MonkeyPatch) -> str:
    """A value in the environment of every kernel started from now on, to find their processes."""
    value = f"kernel-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("KERNEL_TEST_MARKER", value)
    return value


def _processes_with(text: str) -> list[str]:
    """Command lines of live processes whose command line or environment mention ``text``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and (text.encode() in cmdline or text.encode() in environ):
            found.append(pid + ": " + cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def test_kernel_that_dies_while_starting_is_reported_with_its_exit_code_and_stderr(kernelspecs: Path) -> None:
    name = _kernelspec(
        kernelspecs,
        "dies",
        [sys.executable, "-c", "import sys; sys.stderr.write('no licence for this kernel'); sys.exit(3)"],
    )
    with pytest.raises(KernelStartError) as caught:
        asyncio.run(start_kernel(name, retries=0, startup_timeout=60))
    message = str(caught.value)
    assert "died while starting" in message
    assert "exit code 3" in message
    assert "no licence for this kernel" in message


def test_kernel_that_dies_on_its_first_start_is_started_again(
    kernelspecs: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tries = tmp_path / "tries"
    script = tmp_path / "flaky_kernel.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, sys
            tries = {str(tries)!r}
            count = int(open(tries).read()) if os.path.exists(tries) else 0
            open(tries, "w").write(str(count + 1))
            if count == 0:
                sys.stderr.write("address already in use")
                sys.exit(4)
            os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *sys.argv[1:]])
            """
        )
    )
    name = _kernelspec(kernelspecs, "flaky", [sys.executable, str(script), "-f", "{connection_file}"])

    async def start_and_use() -> str:
        kernel = await start_kernel(name, retries=1)
        try:
            return str(await user_expression(kernel, "6 * 7"))
        finally:
            await kernel.kill()

    with caplog.at_level(logging.WARNING, logger="jupyter_taskvalues.jobs.kernels.pool"):
        assert asyncio.run(start_and_use()) == "42"
    assert tries.read_text() == "2"
    assert any(
        "exit code 4" in r.getMessage() and "Starting another one" in r.getMessage() for r in caplog.records
    )


def test_kernel_that_never_becomes_ready_is_killed_after_the_startup_timeout(kernelspecs: Path) -> None:
    mark = f"never-ready-{uuid.uuid4().hex}"
    name = _kernelspec(
        kernelspecs, "silent", [sys.executable, "-c", f"import time; time.sleep(600)  # {mark}"]
    )
    with pytest.raises(KernelStartError, match="did not become ready within 1 s"):
        asyncio.run(start_kernel(name, retries=1, startup_timeout=1))
    assert _processes_with(mark) == []


def test_missing_kernelspec_is_a_start_error_that_names_it(kernelspecs: Path) -> None:
    with pytest.raises(KernelStartError, match="no-such-kernel"):
        asyncio.run(start_kernel("no-such-kernel", retries=0))


def test_pool_never_hands_out_the_same_kernel_twice(marker: str) -> None:
    async def scenario() -> list[int]:
        pool = KernelPool(2)
        pool.expect(5)
        try:
            kernels = await asyncio.gather(*(pool.acquire() for _ in range(5)))
            pids = [int(await user_expression(k, "__import__('os').getpid()")) for k in kernels]
            for kernel in kernels:
                pool.release(kernel)
            return pids
        finally:
            await pool.close()

    pids = asyncio.run(scenario())
    assert len(set(pids)) == 5


def test_no_kernel_process_survives_pool_close(marker: str) -> None:
    async def scenario() -> None:
        pool = KernelPool(3)
        pool.expect(6)
        used = await pool.acquire()
        # A child process of the task, in the kernel's process group: the kill must take it too.
        await run_code(used, "import subprocess; child = subprocess.Popen(['sleep', '600'])")
        pool.release(used)
        await asyncio.sleep(0)  # warm kernels are still starting, or ready and unused
        await pool.close()

    asyncio.run(scenario())
    assert kernel_processes(marker) == []
    assert _processes_with(marker) == []


def test_kernel_whose_exit_hangs_is_killed_after_the_grace_period(marker: str) -> None:
    async def scenario() -> None:
        kernel = await start_kernel()
        await run_code(kernel, "import atexit, time\natexit.register(time.sleep, 600)")
        await kernel.stop(grace=0.5)

    asyncio.run(scenario())
    assert _processes_with(marker) == []


def test_pool_starts_at_most_max_starting_kernels_at_once(
    marker: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        pool = KernelPool(4, max_starting=2)
        pool.expect(4)
        try:
            kernels = [await pool.acquire() for _ in range(4)]
            for kernel in kernels:
                pool.release(kernel)
        finally:
            await pool.close()

    with caplog.at_level(logging.DEBUG, logger="jupyter_taskvalues.jobs.kernels"):
        asyncio.run(scenario())
    events = [r.timing for r in caplog.records if hasattr(r, "timing")]  # type: ignore[attr-defined]
    starting, most = 0, 0
    for event in events:
        if event["event"] == "kernel_launch":
            starting += 1
            most = max(most, starting)
        elif event["event"] == "kernel_ready":
            starting -= 1
    assert [e["event"] for e in events].count("kernel_launch") == 4
    assert 1 <= most <= 2


def test_warm_kernel_has_the_task_bootstrap_imported_before_it_is_handed_out(marker: str) -> None:
    async def scenario() -> str:
        pool = KernelPool(1)
        pool.expect(1)
        try:
            kernel = await pool.acquire()
            loaded = await user_expression(
                kernel, "'jupyter_taskvalues.ipython.magics' in __import__('sys').modules"
            )
            context = await user_expression(
                kernel, "__import__('jupyter_taskvalues.context').context.current_context()"
            )
            pool.release(kernel)
            return f"{loaded} {context}"
        finally:
            await pool.close()

    # The modules are loaded; the kernel is not a task yet (it learns which one in its bootstrap).
    assert asyncio.run(scenario()) == "True None"


def test_closed_pool_refuses_to_start_kernels(marker: str) -> None:
    async def scenario() -> None:
        pool = KernelPool(1)
        await pool.close()
        await pool.acquire()

    with pytest.raises(KernelStartError, match="closed"):
        asyncio.run(scenario())


def test_runner_imports_nbformat_without_the_unused_jsonschema_format_grammar() -> None:
    code = textwrap.dedent(
        """
        import sys
        from jupyter_taskvalues.jobs.executors.notebook import import_nbformat
        nbformat = import_nbformat()
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
        nbformat.validate(nb)
        # Only the import that nbformat triggered was declined: no block is left behind for later imports.
        assert "rfc3987_syntax" not in sys.modules
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_cli_launches_its_kernels_through_jupyter_clients_kernel_manager(tmp_path: Path) -> None:
    # Every kernel is started by AsyncKernelManager: its provisioner launches the process, none is hand-made.
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "metadata": {},
                        "outputs": [],
                        "execution_count": None,
                        "source": "1",
                    }
                ],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )
    job = tmp_path / "job.json"
    job.write_text(
        json.dumps({"name": "j", "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "nb"}}]})
    )
    code = textwrap.dedent(
        f"""
        import subprocess, sys
        original = subprocess.Popen.__init__
        seen = []
        def spy(self, args, *rest, **kwargs):
            if "ipykernel_launcher" in " ".join(map(str, args)):
                import traceback
                files = [frame.filename for frame in traceback.extract_stack()]
                seen.append(any(f.endswith("jupyter_client/launcher.py") for f in files))
            original(self, args, *rest, **kwargs)
        subprocess.Popen.__init__ = spy
        from jupyter_taskvalues.cli import main
        code = main(["run", {str(job)!r}, "--runs-dir", {str(tmp_path / "runs")!r}, "--json"])
        print("launched by jupyter_client:", sorted(set(seen)), file=sys.stderr)
        sys.exit(code)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "launched by jupyter_client: [True]" in done.stderr
    assert json.loads(done.stdout)["state"] == "SUCCESS"


def test_kernel_starts_on_tcp_when_the_temporary_folder_is_too_long_for_unix_sockets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("x" * 90)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))

    async def scenario() -> tuple[str, str]:
        kernel = await start_kernel()
        try:
            return kernel.client.transport, str(await user_expression(kernel, "6 * 7"))
        finally:
            await kernel.kill()

    assert asyncio.run(scenario()) == ("tcp", "42")


def test_kernelspec_env_is_substituted_from_the_kernels_environment(
    kernelspecs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = kernelspecs / "kernels" / "templated"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(
        json.dumps(
            {
                "argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "templated",
                "language": "python",
                "env": {"GREETING": "hello ${WHO}", "UNKNOWN": "${NOT_SET_ANYWHERE}"},
            }
        )
    )
    monkeypatch.setenv("WHO", "world")

    async def scenario() -> tuple[str, str, bool]:
        pool = KernelPool(1, "templated")
        pool.expect(1)
        try:
            kernel = await pool.acquire()
            greeting = await user_expression(kernel, "__import__('os').environ['GREETING']")
            unknown = await user_expression(kernel, "__import__('os').environ['UNKNOWN']")
            pool.release(kernel)
            return greeting, unknown, kernel.forked
        finally:
            await pool.close()

    assert asyncio.run(scenario()) == ("'hello world'", "'${NOT_SET_ANYWHERE}'", False)


def test_kernelspec_that_names_its_own_provisioner_is_started_by_it(
    kernelspecs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A provisioner registered as an entry point, as a package would: a tiny dist-info on sys.path.
    site = tmp_path / "site"
    (site / "tv_test_provisioner-1.0.dist-info").mkdir(parents=True)
    (site / "tv_test_provisioner-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tv-test-provisioner\nVersion: 1.0\n"
    )
    (site / "tv_test_provisioner-1.0.dist-info" / "entry_points.txt").write_text(
        "[jupyter_client.kernel_provisioners]\ntv-test-provisioner = tv_test_provisioner:MarkingProvisioner\n"
    )
    (site / "tv_test_provisioner.py").write_text(
        textwrap.dedent(
            """
            from jupyter_client.provisioning.local_provisioner import LocalProvisioner

            class MarkingProvisioner(LocalProvisioner):
                async def pre_launch(self, **kwargs):
                    kwargs = await super().pre_launch(**kwargs)
                    kwargs["env"]["STARTED_BY"] = type(self).__name__
                    return kwargs
            """
        )
    )
    monkeypatch.syspath_prepend(str(site))
    folder = kernelspecs / "kernels" / "provisioned"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "provisioned",
                "language": "python",
                "metadata": {"kernel_provisioner": {"provisioner_name": "tv-test-provisioner"}},
            }
        )
    )

    async def scenario() -> tuple[str, str, bool]:
        kernel = await start_kernel("provisioned")
        try:
            started_by = await user_expression(kernel, "__import__('os').environ['STARTED_BY']")
            return type(kernel.manager.provisioner).__name__, started_by, kernel.forked
        finally:
            await kernel.kill()

    assert asyncio.run(scenario()) == ("MarkingProvisioner", "'MarkingProvisioner'", False)


def test_a_configured_kernelspec_manager_finds_kernels_outside_the_jupyter_path(tmp_path: Path) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    folder = tmp_path / "elsewhere" / "private"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "private",
                "language": "python",
                "env": {"PRIVATE_KERNEL": "1"},
            }
        )
    )
    manager = KernelSpecManager(kernel_dirs=[str(tmp_path / "elsewhere")])

    async def scenario() -> str:
        pool = KernelPool(1, "private", kernel_spec_manager=manager)
        pool.expect(1)
        try:
            kernel = await pool.acquire()
            value = str(await user_expression(kernel, "__import__('os').environ['PRIVATE_KERNEL']"))
            pool.release(kernel)
            return value
        finally:
            await pool.close()

    assert asyncio.run(scenario()) == "'1'"
    with pytest.raises(KernelStartError, match="No kernel named 'private'"):
        asyncio.run(start_kernel("private"))  # the default manager does not look there


def test_default_python_kernel_is_started_by_the_fork_provisioner_from_its_entry_point(marker: str) -> None:
    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    from jupyter_taskvalues.jobs.kernels.provisioner import PROVISIONER_NAME, ForkProvisioner

    assert KernelProvisionerFactory.instance()._check_availability(PROVISIONER_NAME)

    async def scenario() -> tuple[type, bool]:
        kernel = await start_kernel()
        try:
            return type(kernel.manager.provisioner), str(await user_expression(kernel, "6 * 7")) == "42"
        finally:
            await kernel.kill()

    assert asyncio.run(scenario()) == (ForkProvisioner, True)


def test_fork_server_is_not_started_when_forking_is_turned_off(
    marker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    from jupyter_taskvalues.jobs.kernels.provisioner import ForkProvisioner

    monkeypatch.setenv("JUPYTER_TASKVALUES_FORK_KERNELS", "0")

    async def scenario() -> list[tuple[bool, type]]:
        pool = KernelPool(1)
        pool.expect(6)
        try:
            seen = []
            for _ in range(6):
                kernel = await pool.acquire()
                seen.append((kernel.forked, type(kernel.manager.provisioner)))
                pool.release(kernel)
                await asyncio.sleep(0.2)
            assert pool._server is None
            return seen
        finally:
            await pool.close()

    kinds = asyncio.run(scenario())
    assert kinds == [(False, LocalProvisioner)] * 6
    assert ForkProvisioner not in {kind for _, kind in kinds}
    assert kernel_processes(marker) == []
