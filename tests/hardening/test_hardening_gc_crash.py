"""``jupyter-taskvalues gc`` killed with SIGKILL half-way through removing a run: no half-removed run is left.

The kill is placed exactly: the gc process runs with ``shutil.rmtree`` replaced by one that removes a few files
of the run, then kills its own process with SIGKILL (what a kill at that instant would leave). Afterwards every
run is either whole or not listed at all, the runs kept are untouched, and the next ``gc`` removes the debris.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from jupyter_taskvalues.store import RunStore

KILLED_GC = r"""
import os, shutil, signal, sys

def rmtree(path, *args, **kwargs):
    removed = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in sorted(files):
            os.unlink(os.path.join(dirpath, name))
            removed += 1
            if removed == 3:
                os.kill(os.getpid(), signal.SIGKILL)

shutil.rmtree = rmtree
from jupyter_taskvalues.cli import main
sys.exit(main(["gc", "--keep", "1", "--runs-dir", sys.argv[1]]))
"""


def finished_run(store: RunStore, run_id: str) -> str:
    store.create_run(job_name="gc", run_id=run_id, tasks={"a": {"type": "notebook", "depends_on": []}})
    for n in range(5):
        store.set_value(run_id, "a", f"k{n}", n)
    store.write_task(run_id, "a", {"state": "SUCCESS", "attempts": [{"attempt": 1, "state": "SUCCESS"}]})
    store.update_run(run_id, state="SUCCESS", end_time="2026-12-01T10:00:00.000Z")
    return run_id


def test_a_gc_killed_mid_removal_leaves_whole_runs_or_none_and_the_next_gc_finishes(
    runs_dir: Path, store: RunStore
) -> None:
    old = finished_run(store, "20261201-100000-000-000001")
    new = finished_run(store, "20261201-100100-000-000002")
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_GC, str(runs_dir)], capture_output=True, text=True, check=False
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # The half-removed run is not listed as a run, and does not break listing or reading the others.
    assert store.run_ids() == [new]
    assert [run["run_id"] for run in store.list_runs()] == [new]
    assert {key: r.value for key, r in store.all_values(new)["a"].items()} == {f"k{n}": n for n in range(5)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_taskvalues.cli",
            "gc",
            "--keep",
            "1",
            "--json",
            "--runs-dir",
            str(runs_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kept"] == 1
    assert sorted(os.listdir(runs_dir)) == [new]  # the debris is gone, nothing else was touched
    assert not (runs_dir / old).exists()
    assert store.read_run(new)["state"] == "SUCCESS"
