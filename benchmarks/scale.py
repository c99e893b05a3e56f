"""The rows of the table for jobs at scale (issue 18): output floods, throughput, wide fan-outs, Dask's cost.

- ``outputs``: the runner's peak RSS while one task prints 100 MiB, above a task printing nothing
  (:func:`outputs.measure`, each in a child process of its own). Bar: 64 MiB.
- ``throughput``: 200 trivial notebook tasks at ``--max-parallel 2``, in tasks/s (``workloads.throughput``,
  timed by ``run.py`` like the other workloads). Target: 12 tasks/s.
- ``fanout64``: 1 → 64 → 1, branches sleeping 0.5 s, at ``--max-parallel 2``, against ``xargs -P2 papermill``
  (``workloads.wide_fanout``). Target: 2×.
- ``dask``: the Dask executor's per-task cost against the local executor's, one job of 20 one-cell notebooks 2
  at a time on this machine (:func:`cluster.dask_vs_local`), with the workers' kernels kept warm across runs
  (the default) and started per run (``keep_warm=0``). Target: at most 2×, both ways.
"""

from __future__ import annotations

import shutil
import statistics
from pathlib import Path
from typing import Any

from table import Row, ms, secs

__all__ = ["dask_row", "fanout64_row", "outputs_row", "throughput_row"]


def throughput_row(tasks: int, wall: float, cpu: float, runner_cpu: float) -> Row:
    """200 trivial tasks at ``--max-parallel 2``: ``wall`` and ``cpu`` are the run's medians (seconds)."""
    rate = tasks / wall
    return Row(
        f"{tasks} trivial notebook tasks at --max-parallel 2",
        f"{secs(wall)} = {rate:.1f} tasks/s",
        "",
        f"{cpu / tasks:.3f} CPU-s per task, runner {runner_cpu / tasks:.3f}",
        "≥ 12 tasks/s",
        rate >= 12,
    )


def fanout64_row(ours: float, peer: float) -> Row:
    """1 → 64 → 1 against ``xargs -P2 papermill``: wall-time medians (seconds)."""
    return Row(
        "fan-out 1→64→1 (0.5 s sleep) at --max-parallel 2 vs xargs -P2 papermill",
        secs(ours),
        secs(peer),
        f"{peer / ours:.1f}×",
        "≥ 2×",
        peer / ours >= 2,
    )


def outputs_row(tmp: Path) -> tuple[Row, dict[str, Any]]:
    """The runner's peak RSS while a task prints 100 MiB, against a task that prints nothing."""
    import outputs  # the folder is on the path (run.py puts it there)

    folder = tmp / "outputs"
    folder.mkdir()
    try:
        got = outputs.measure(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    above = got["above_idle_mib"]
    row = Row(
        "runner peak RSS while a task prints 100 MiB, above idle",
        f"{above:.0f} MiB ({got['flood']['peak_mib']:.0f} MiB peak)",
        f"{got['idle']['peak_mib']:.0f} MiB (a task printing nothing)",
        f"kept notebook {got['notebook_mib']:.2f} MiB, output log {got['log_mib']:.0f} MiB; "
        f"{secs(got['flood']['seconds'])} against {secs(got['idle']['seconds'])}",
        "≤ 64 MiB",
        above <= 64,
    )
    return row, got


def dask_row(tmp: Path, repeat: int, tasks: int = 20) -> tuple[Row, dict[str, Any]]:
    """The Dask executor's per-task cost against the local executor's (the same job, machine and runs dir)."""
    import cluster

    got = cluster.dask_vs_local(tmp / "dask", tasks, repeat)
    per_task = {name: statistics.median(walls) / tasks for name, walls in got["walls"].items()}
    local, dask, per_run = per_task["local"], per_task["dask"], per_task["dask-per-run"]
    first = {name: wall / tasks for name, wall in got["first"].items()}
    row = Row(
        f"Dask executor per task vs local executor ({tasks} one-cell tasks, 2 at a time)",
        f"{ms(dask)} per task (Dask, LocalCluster 2×1)",
        f"{ms(local)} per task (local)",
        f"{dask / local:.2f}×; kernels per run (keep_warm=0) {ms(per_run)} = {per_run / local:.2f}×; "
        f"first runs: Dask {ms(first['dask-per-run'])}, local {ms(first['local'])}; "
        f"floor: a Dask submit + result {ms(got['floor'])}",
        "≤ 2×",
        max(dask, per_run) / local <= 2,
    )
    return row, got
