"""Runner peak memory while a task prints a flood of output (issue 18 point 1, "Outputs streamed").

Usage::

    python benchmarks/outputs.py [--mib N] [--line-kib K] [--keep]

``benchmarks/run.py --only outputs`` runs it as a row of the table (:func:`measure`).

Two one-task jobs run, each in a child process of its own that reports its own peak resident set size
(``ru_maxrss``: the runner's, not this script's nor the kernel's): ``idle``, a task that sleeps a second and
prints nothing (the runner with a kernel client and nbclient loaded), and ``flood``, a task printing ``N`` MiB
in lines of ``K`` KiB. The figure is flood minus idle; the bar is 64 MiB for 100 MiB printed. It also reports the
size of the executed notebook (capped) and of the task's output log (everything), and the time each run took.

The standard library only (plus the package); nothing is asserted, only reported.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

RUNNER = r"""
import json, resource, sys, time
from jupyter_taskvalues import run_job
from jupyter_taskvalues.jobs.scheduler import RunOptions

began = time.perf_counter()
run = run_job(sys.argv[1], runs_dir=sys.argv[2], options=RunOptions(max_parallel=1))
seconds = time.perf_counter() - began
task = next(iter(run["tasks"].values()))
print(json.dumps({
    "state": run["state"],
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "seconds": seconds,
    "notebook": task.get("output_notebook"),
}))
"""


def _notebook(path: Path, source: str) -> None:
    cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}
    nb = {
        "cells": [cell],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))


def _job(root: Path, name: str, source: str) -> Path:
    _notebook(root / f"{name}.ipynb", source)
    path = root / f"{name}.job.json"
    task = {"task_key": name, "notebook_task": {"notebook_path": name}}
    path.write_text(json.dumps({"name": name, "tasks": [task]}))
    return path


def _measure(job: Path, runs_dir: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(job), str(runs_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{job.name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(root: Path, mib: int = 100, line_kib: int = 1024) -> dict[str, Any]:
    """Run the idle and the flood job in ``root``; return both results and the kept files' sizes (MiB)."""
    line = line_kib * 1024
    lines = mib * 1024 * 1024 // line
    idle = _measure(_job(root, "idle", "import time\ntime.sleep(1)"), root / "runs")
    flood_source = f"line = 'x' * ({line} - 1)\nfor _ in range({lines}):\n    print(line)"
    flood = _measure(_job(root, "flood", flood_source), root / "runs")
    kept = Path(flood["notebook"])
    log = kept.with_name(kept.stem + ".output.log")
    return {
        "mib": mib,
        "lines": lines,
        "idle": idle,
        "flood": flood,
        "above_idle_mib": flood["peak_mib"] - idle["peak_mib"],
        "notebook_mib": kept.stat().st_size / 2**20,
        "log_mib": log.stat().st_size / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=100, help="MiB the flood task prints (default 100)")
    parser.add_argument("--line-kib", type=int, default=1024, help="KiB per printed line (default 1024)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="jtv-outputs-"))
    try:
        got = measure(root, args.mib, args.line_kib)
        rows = [
            ("idle task (prints nothing)", got["idle"]),
            (f"flood task ({args.mib} MiB in {got['lines']} lines)", got["flood"]),
        ]
        print(f"{'workload':<40} {'state':<8} {'runner peak':>12} {'time':>8}")
        for label, result in rows:
            print(
                f"{label:<40} {result['state']:<8} {result['peak_mib']:>8.0f} MiB {result['seconds']:>7.2f}s"
            )
        above = got["above_idle_mib"]
        print(f"\nrunner peak above idle while {args.mib} MiB were printed: {above:.0f} MiB (bar: <= 64 MiB)")
        print(f"kept notebook: {got['notebook_mib']:.2f} MiB; output log: {got['log_mib']:.0f} MiB")
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
