"""Helpers to write job files and notebooks for runner tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat

from jupyter_taskvalues.jobs.kernels.launch import Kernel, shell_reply


def notebook(path: Path, *cells: str, parameters: str | None = None) -> Path:
    """Write an .ipynb with one code cell per source (and a ``parameters``-tagged cell first, if given)."""
    nb = nbformat.v4.new_notebook()
    if parameters is not None:
        nb.cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def databricks_source(path: Path, *cells: str) -> Path:
    """Write a Databricks source-format .py notebook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n\n# COMMAND ----------\n\n".join(cells)
    path.write_text("# Databricks notebook source\n" + body + "\n")
    return path


def job(path: Path, tasks: list[dict[str, Any]], **settings: Any) -> Path:
    """Write a Jobs API JSON job file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": settings.pop("name", "test-job"), "tasks": tasks, **settings}))
    return path


def nb_task(
    key: str, notebook_path: str, *, depends_on: list[str] | None = None, **fields: Any
) -> dict[str, Any]:
    """A notebook task entry."""
    task: dict[str, Any] = {"task_key": key, "notebook_task": {"notebook_path": notebook_path}}
    if "base_parameters" in fields:
        task["notebook_task"]["base_parameters"] = fields.pop("base_parameters")
    if depends_on:
        task["depends_on"] = [{"task_key": d} for d in depends_on]
    task.update(fields)
    return task


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "jupyter_taskvalues.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def start_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[str]:
    """Start the CLI in a subprocess that keeps running (stdout and stderr piped), as another terminal would."""
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter_taskvalues.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def interrupt(process: subprocess.Popen[str]) -> None:
    """End a CLI run still going as Ctrl-C does (its run is canceled, its kernels shut down); kill it if stuck."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
    process.communicate(timeout=30)


def kernel_processes(marker: str) -> list[str]:
    """Return the command lines of live kernel processes whose environment or args mention ``marker``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if ("ipykernel" in cmdline or "forkserver" in cmdline) and marker.encode() in environ:
            found.append(f"{pid}: {cmdline}")
    return found


async def run_code(kernel: Kernel, code: str) -> dict[str, Any]:
    """Execute ``code`` in a started kernel and return the shell reply (within 60 s)."""
    msg_id = kernel.client.execute(code, store_history=False)
    reply: dict[str, Any] = await asyncio.wait_for(shell_reply(kernel, msg_id), 60)
    return reply


async def user_expression(kernel: Kernel, expression: str) -> Any:
    """Evaluate ``expression`` in a started kernel and return its ``text/plain`` repr (within 60 s)."""
    msg_id = kernel.client.execute("", silent=True, user_expressions={"x": expression})
    reply = await asyncio.wait_for(shell_reply(kernel, msg_id), 60)
    data = reply["content"]["user_expressions"]["x"]
    assert data["status"] == "ok", data
    return data["data"]["text/plain"]
