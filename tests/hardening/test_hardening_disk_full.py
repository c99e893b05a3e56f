"""A full disk during a value write: the set fails loudly in the notebook, earlier values stay, the task fails.

The runs directory is a small tmpfs mounted for the test (we run as root in CI and in the dev container; the
test is skipped only when the kernel refuses the mount with ``EPERM``, as in an unprivileged container). The
notebook fills the disk with a file of its own, sets a value, and frees the file whatever happens, so that the
runner can record the task's end: the disk is full exactly during the value write. The same holds on an object
store: an fsspec memory file system with a quota (a subclass here) refuses the write with ``ENOSPC``.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from jupyter_taskvalues import context, dbutils, run_job
from jupyter_taskvalues.exceptions import StoreError
from jupyter_taskvalues.store import RunStore
from tests.jobhelpers import job, nb_task, notebook


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 4 MiB tmpfs at ``tmp_path / "disk"``, unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        message = done.stderr.strip()
        if "permission denied" in message.lower() or "operation not permitted" in message.lower():
            pytest.skip(
                f"mounting a tmpfs is refused here (EPERM: {message}); it needs root or CAP_SYS_ADMIN"
            )
        raise AssertionError(f"mount -t tmpfs failed: {message}")
    monkeypatch.setenv(context.RUNS_DIR_ENV, str(mount_point / "runs"))
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


FILL_AND_SET = """
import os
filler = {filler!r}
try:
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"x" * 65536)
                f.flush()
        except OSError:
            pass  # the disk is full: that is the point
    # more than the log's last page has free
    dbutils.jobs.taskValues.set("metrics", {{"pad": "x" * 40000}})
finally:
    os.remove(filler)
"""


def test_a_value_set_on_a_full_disk_raises_naming_the_key_and_keeps_earlier_values(
    small_disk: Path, tmp_path: Path
) -> None:
    runs_dir = small_disk / "runs"
    filler = small_disk / "filler"
    notebook(
        tmp_path / "job" / "write.ipynb",
        "dbutils.jobs.taskValues.set('first', 1)\ndbutils.jobs.taskValues.set('table', 'income_clean')",
        FILL_AND_SET.format(filler=str(filler)),
        "dbutils.jobs.taskValues.set('after', 'never')",
    )
    notebook(tmp_path / "job" / "next.ipynb", "dbutils.jobs.taskValues.set('ran', True)")
    path = job(
        tmp_path / "job" / "job.json",
        [nb_task("write", "write"), nb_task("next", "next", depends_on=["write"])],
    )
    run = run_job(path, runs_dir=runs_dir)
    task = run["tasks"]["write"]
    assert run["state"] == "FAILED"
    assert task["state"] == "FAILED"
    assert run["tasks"]["next"]["state"] == "UPSTREAM_FAILED"
    error = task["error"]
    assert "'metrics'" in error and os.strerror(errno.ENOSPC) in error, error
    # Earlier values are intact, the failed one and anything after it were not stored, and a fresh reader agrees.
    assert task["values"] == {"first": 1, "table": "income_clean"}
    store = RunStore(runs_dir)
    assert {key: record.value for key, record in store.all_values(run["run_id"])["write"].items()} == {
        "first": 1,
        "table": "income_clean",
    }
    assert not filler.exists()


class QuotaMemoryFileSystem(MemoryFileSystem):
    """An fsspec memory file system that refuses a write past :attr:`quota` bytes with ``ENOSPC``."""

    protocol = "quotamem"
    store: ClassVar[dict[str, Any]] = {}  # its own files, not memory://'s
    pseudo_dirs: ClassVar[list[str]] = [""]
    quota = 1 << 30

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        used = sum(len(f.getbuffer()) for name, f in self.store.items() if name != self._strip_protocol(path))
        if used + len(value) > self.quota:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        super().pipe_file(path, value, mode=mode, **kwargs)


def test_a_value_set_past_an_object_store_quota_raises_naming_the_key_and_keeps_earlier_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fsspec.register_implementation("quotamem", QuotaMemoryFileSystem, clobber=True)
    QuotaMemoryFileSystem.store.clear()
    QuotaMemoryFileSystem.quota = 1 << 30
    root = "quotamem://runs"
    store = RunStore(root)
    run_id = store.create_run(job_name="quota", tasks={"write": {"type": "notebook", "depends_on": []}})
    for name, value in context.environment_for(context.TaskContext(run_id, "write", root)).items():
        monkeypatch.setenv(name, value)
    dbutils.jobs.taskValues.set("first", 1)
    dbutils.jobs.taskValues.set("table", "income_clean")
    QuotaMemoryFileSystem.quota = sum(len(f.getbuffer()) for f in QuotaMemoryFileSystem.store.values()) + 100
    with pytest.raises(
        StoreError, match=r"Task value 'metrics' of task 'write' was not stored: .*No space left"
    ):
        dbutils.jobs.taskValues.set("metrics", {"pad": "x" * 40000})
    fresh = RunStore(root)
    assert {key: r.value for key, r in fresh.all_values(run_id)["write"].items()} == {
        "first": 1,
        "table": "income_clean",
    }
