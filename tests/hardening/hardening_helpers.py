"""Helpers of the hardening suite: task processes, self-checking payloads and file-system snapshots."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from jupyter_taskvalues import context
from jupyter_taskvalues.context import TaskContext

#: Functions shared by the worker scripts: a payload that carries its own check.
PAYLOAD_CODE = r'''
def payload(writer, seq, size):
    """A value whose padding length and fill character are tied to its writer and sequence number."""
    return {"writer": writer, "seq": seq, "size": size, "pad": chr(ord("a") + seq % 26) * size}


def intact(value, writer=None):
    """Whether ``value`` is a whole payload (of ``writer``, when given)."""
    return (
        isinstance(value, dict)
        and set(value) == {"writer", "seq", "size", "pad"}
        and (writer is None or value["writer"] == writer)
        and len(value["pad"]) == value["size"]
        and value["pad"] == chr(ord("a") + value["seq"] % 26) * value["size"]
    )
'''

_namespace: dict[str, Any] = {}
exec(PAYLOAD_CODE, _namespace)
payload: Callable[[str, int, int], dict[str, Any]] = _namespace["payload"]
intact: Callable[..., bool] = _namespace["intact"]


def task_env(runs_dir: Path, run_id: str, task_key: str, **fields: Any) -> dict[str, str]:
    """The environment of a process that is task ``task_key`` of ``run_id`` (as the executor sets it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(context.ENV_PREFIX)}
    env.update(
        context.environment_for(
            TaskContext(run_id=run_id, task_key=task_key, runs_dir=str(runs_dir), **fields)
        )
    )
    return env


def start_python(script: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``python script args...`` with its stdout captured as text."""
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, interval: float = 0.01) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` (relative) with, for files, its size and modification time: a before/after
    snapshot. Directories count by their presence only (a new entry inside one changes its time)."""
    snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            snapshot[str((Path(dirpath) / name).relative_to(root)) + "/"] = (0, 0)
        for name in filenames:
            path = Path(dirpath) / name
            stat = path.lstat()
            snapshot[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return snapshot


def changed_outside(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]], inside: Iterable[str]
) -> list[str]:
    """Paths that appeared, disappeared or changed and are not under one of the ``inside`` prefixes."""
    allowed = [p.rstrip("/") for p in inside]
    prefixes = tuple(p + "/" for p in allowed)
    differ = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    return sorted(p for p in differ if not (p in allowed or p.startswith(prefixes)))


#: Names that try to leave a directory, hide, spoof or overflow. Keys, task keys, run ids and parameter
#: names are all tried with each of them.
HOSTILE_NAMES: tuple[str, ...] = (
    "../x",
    "../../../../etc/passwd",
    "..",
    ".",
    "./x",
    "x/../../y",
    "/etc/passwd",
    "/tmp/escape",
    "C:\\Windows\\system32",
    "..\\..\\x",
    "\\\\server\\share",
    "~",
    "~root/.ssh",
    "a\x00b",
    "\x00",
    "a\nb",
    "a\rb",
    "\x1b[31mred\x1b[0m",
    "tab\there",
    "del\x7f",
    "\u202eexe.txt",  # right-to-left override
    "\u200b",  # zero-width space alone
    "a\u200bb",  # zero-width space inside
    "\ufeffbom",
    "\u0430dmin",  # Cyrillic a: a homoglyph of "admin"
    "admin",
    "caf\u00e9",  # NFC
    "cafe\u0301",  # NFD: the same text, other code points
    "\U0001d41d\U0001d41b\U0001d42e\U0001d42d\U0001d422\U0001d425\U0001d42c",  # bold "dbutils" (NFKC: dbutils)
    "ﬁle",  # a ligature (NFKC: file)
    "\ud800",  # a lone surrogate
    "CON",
    "nul",
    "AUX.json",
    ".count",
    ".lock",
    ".tmp-1-abc",
    "@0",
    "~0123456789abcdef0123456789abcdef01234567",
    "run.json",
    "task.json",
    "x" * 100,
    "x" * 101,
    "x" * 256,
    "x" * 257,
    "é" * 128,
    "é" * 129,
    "x" * 100_000,
    " ",
    " leading",
    "trailing ",
    "{{job.id}}",
    "`",
    "%2e%2e%2f",
    "$(touch pwned)",
    "'; import os; os.system('touch pwned'); '",
)
