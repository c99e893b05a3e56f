"""Run every performance benchmark with its peer side by side and print medians, ratios and PASS/MISS.

Usage::

    python benchmarks/run.py [--quick] [--repeat N] [--cpu-work] [--max-parallel N] [--warm-kernels N]
                             [--only NAME ...] [--json FILE] [--keep]

Each repetition runs a workload with jupyter-taskvalues and with its peers (a sequential ``papermill`` shell loop,
``xargs -P2 papermill``), in alternating order, from one process tree, so machine noise hits both alike; the
table shows medians and the ratio of the medians. The micro-benchmarks (``set``/``get`` in a task, listing a run
of 10,000 values, ``%load_ext`` in a kernel) time the operation and a plain-file peer in the same process. The
rows of jobs at scale (a 100 MiB output flood, 200 tasks at ``--max-parallel 2``, a 1 → 64 → 1 fan-out, the Dask
executor against the local one) are in ``scale.py``.

Runner-side figures (overhead per task, shutdown stalls, start-up until the first kernel) come from the runner's
own timing records (``benchmarks/timed_cli.py``). The standard library only; nothing is asserted, only reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scale  # noqa: E402 - the folder is put on the path just above
import store_scale  # noqa: E402
import workloads  # noqa: E402
from rest_server import jupyter_server  # noqa: E402
from table import Row, load_average, markdown_table, ms, print_table, secs  # noqa: E402

PYTHON = sys.executable
#: What ``--only`` takes: the workloads run by the CLI, then the rows measured in this process.
ALL = ("chain", "fanout", "independent", "throughput", "fanout64", "micro", "outputs", "dask", "store")


# -- measuring ----------------------------------------------------------------------------------------------


@dataclass
class Sample:
    """One timed execution of a command."""

    wall: float
    cpu: float  # user + system seconds of the whole process tree (children that were waited for)
    timings: list[dict[str, Any]] = field(default_factory=list)
    spawned: float = 0.0  # time.monotonic() just before the process was spawned


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_command(
    args: list[str], *, log: Path, timings: Path | None = None, env: dict[str, str] | None = None
) -> Sample:
    """Run ``args``, raise if it fails, and return its wall and CPU time (and the runner's timing records)."""
    if timings is not None:
        timings.unlink(missing_ok=True)
    cpu = _children_cpu()
    with open(log, "ab") as out:
        spawned = time.monotonic()
        done = subprocess.run(args, stdout=out, stderr=out, env=env, check=False)
        wall = time.monotonic() - spawned
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)[:200]} failed with exit code {done.returncode}; see {log}")
    records = []
    if timings is not None and timings.exists():
        records = [json.loads(line) for line in timings.read_text().splitlines() if line.strip()]
    return Sample(wall, _children_cpu() - cpu, records, spawned)


def ours(workload: workloads.Workload, tmp: Path, extra: list[str]) -> Sample:
    """Run the workload's job with ``jupyter-taskvalues run`` and check the value it must end with."""
    timings = tmp / f"{workload.name}.timings.jsonl"
    timings.unlink(missing_ok=True)
    output = tmp / f"{workload.name}.json"
    runs = tmp / "runs"
    args = [
        PYTHON,
        str(HERE / "timed_cli.py"),
        str(timings),
        "run",
        str(workload.job_file),
        "--runs-dir",
        str(runs),
    ]
    with open(output, "wb") as out:
        cpu = _children_cpu()
        spawned = time.monotonic()
        done = subprocess.run(
            [*args, *extra, *workload.args, "--json"], stdout=out, stderr=subprocess.PIPE, check=False
        )
        wall = time.monotonic() - spawned
        cpu = _children_cpu() - cpu
    document = json.loads(output.read_text() or "{}")
    if done.returncode != 0 or document.get("state") != "SUCCESS":
        errors = {k: t.get("error") for k, t in document.get("tasks", {}).items() if t.get("error")}
        raise RuntimeError(f"{workload.name}: the run failed: {errors or done.stderr.decode()[-2000:]}")
    if workload.check:
        where, expected = workload.check.split("=")
        task, key = where.split(".")
        got = document["tasks"][task]["values"].get(key)
        if json.dumps(got) != expected:
            raise RuntimeError(f"{workload.name}: task {task} ended with {key}={got!r}, expected {expected}")
    records = [json.loads(line) for line in timings.read_text().splitlines() if line.strip()]
    sample = Sample(wall, cpu, records, spawned)
    sample.timings.append({"event": "document", "document": document})
    return sample


def peer(command: str, tmp: Path, name: str) -> Sample:
    return run_command(["bash", "-c", command], log=tmp / f"{name}.log")


# -- statistics -----------------------------------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    data = list(values)
    return statistics.median(data) if data else float("nan")


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolated between the closest ranks."""
    data = sorted(values)
    if not data:
        return float("nan")
    if len(data) == 1:
        return data[0]
    position = (len(data) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (position - low)


def task_records(sample: Sample) -> dict[str, dict[str, Any]]:
    return {t["task_key"]: t for t in sample.timings if t.get("event") == "task"}


def overheads(sample: Sample, predecessors: dict[str, list[str]]) -> list[dict[str, float]]:
    """Runner time on the critical path of each task that has predecessors, beyond waiting for a kernel.

    From the moment its last predecessor's kernel work ended to the moment its own ended, minus the time it
    waited for a kernel to become ready and minus the time the kernel reported running the cells.
    """
    tasks = task_records(sample)
    result = []
    for key, before in predecessors.items():
        if key not in tasks or not before:
            continue
        task = tasks[key]
        previous = max(tasks[b]["ended"] for b in before)
        span = task["ended"] - previous
        result.append(
            {
                "overhead": span - task["kernel_wait"] - task["user"],
                "gap": task["began"] - previous,  # the scheduler: record the predecessor, start this one
                "read": task["read"],
                "bootstrap": task["bootstrap"],
                "messaging": task["cells"] - task["user"],
                "keep": task["keep"],
                "release": task["release"],
                "kernel_wait": task["kernel_wait"],
            }
        )
    return result


# -- micro-benchmarks -----------------------------------------------------------------------------------------


async def _run_code(kernel: Any, code: str) -> str:
    """Execute ``code`` in ``kernel`` and return what it printed."""
    msg_id = kernel.client.execute(code, store_history=False)
    printed = []
    while True:
        msg = await kernel.client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            raise RuntimeError("\n".join(msg["content"]["traceback"]))
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(printed)


# IPython loads its own %load_ext command on its first use (about 1.4 ms, the same whatever the extension): that
# is paid before either extension is timed, so that neither carries it.
_LOAD_EXT = """\
import time as _t
_ip = get_ipython()
_ip.find_line_magic("load_ext")
_order = {order!r}
_took = {{}}
for _name in _order:
    _a = _t.perf_counter()
    _ip.run_line_magic("load_ext", _name)
    _took[_name] = _t.perf_counter() - _a
print(_took["jupyter_taskvalues"], _took["autoreload"])
"""


async def _load_ext_samples(count: int) -> list[tuple[float, float]]:
    from jupyter_taskvalues.jobs.kernels import start_kernel

    samples = []
    for i in range(count):
        kernel = await start_kernel()
        try:
            order = ["jupyter_taskvalues", "autoreload"][:: 1 if i % 2 == 0 else -1]
            printed = await _run_code(kernel, _LOAD_EXT.format(order=order))
            ours_s, peer_s = (float(x) for x in printed.split())
            samples.append((ours_s, peer_s))
        finally:
            await kernel.kill()
    return samples


def load_ext(count: int) -> tuple[list[float], list[float]]:
    """``%load_ext jupyter_taskvalues`` in fresh kernels, and ``%load_ext autoreload`` (IPython's own)."""
    pairs = asyncio.run(_load_ext_samples(count))
    return [p[0] for p in pairs], [p[1] for p in pairs]


def large_run(tmp: Path, tasks: int = 100, per_task: int = 100, repeat: int = 5) -> dict[str, float]:
    """Time reading every value of a run that holds ``tasks * per_task`` values, against plain-file peers."""
    from jupyter_taskvalues.document import run_document
    from jupyter_taskvalues.store import RunStore

    total = tasks * per_task
    store = RunStore(tmp / "large-runs", max_values=total)
    keys = [f"t{i}" for i in range(tasks)]
    run_id = store.create_run(
        job_name="bench-large", tasks={k: {"type": "notebook"} for k in keys}, max_values=total
    )
    small = {"model": "gbt", "auc": 0.9132, "rows": 1204, "table": "main.income.features_v2"}
    lines = []
    plain = tmp / "large-plain"  # the peer: one file per value, as a store of per-key files keeps them
    for key in keys:
        store.write_task(run_id, key, {"state": "SUCCESS", "attempts": [{"attempt": 1, "state": "SUCCESS"}]})
        (plain / key).mkdir(parents=True)
        for j in range(per_task):
            record = store.set_value(run_id, key, f"k{j}", small)
            lines.append(json.dumps(record.to_json() | {"task_key": key}))
            (plain / key / f"k{j}.json").write_text(lines[-1])
    log = tmp / "values.jsonl"
    log.write_text("\n".join(lines) + "\n")
    assert store.count_values(run_id) == total

    def plain_files() -> int:
        count = 0
        for dirpath, _dirs, files in os.walk(plain):
            for name in files:
                if name.endswith(".json"):
                    with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                        json.loads(f.read())
                    count += 1
        return count

    def json_lines() -> int:
        with open(log, encoding="utf-8") as f:
            return sum(1 for line in f if json.loads(line))

    def timed(action: Callable[[], Any]) -> float:
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            action()
            times.append(time.perf_counter() - began)
        return median(times)

    document = run_document(store, run_id)
    assert sum(len(t["values"]) for t in document["tasks"].values()) == total
    figures = {
        "run_document": timed(lambda: run_document(store, run_id)),
        "all_values": timed(lambda: store.all_values(run_id)),
        "fingerprint": timed(lambda: store.fingerprint(run_id)),
        "plain_files": timed(plain_files),
        "json_lines": timed(json_lines),
    }
    figures.update(rest_timings(tmp, store, run_id, total, repeat))
    return figures


def rest_timings(tmp: Path, store: Any, run_id: str, total: int, repeat: int) -> dict[str, float]:
    """``GET taskvalues/api/runs/<id>`` on a real Jupyter Server (a subprocess) with the extension.

    ``rest_first``: the first request of a fresh server (it replays the run's value log); ``rest_again``: the
    same run, unchanged, without ``If-None-Match`` (a plain client); ``rest_changed``: right after one value of
    the run changed (the document is read and serialized again); ``rest_304``: with the current ETag.
    """
    with jupyter_server(store.root, tmp) as get:
        path = f"/taskvalues/api/runs/{run_id}"
        first, code, data, tag = get(path)
        served = json.loads(data)
        if code != 200 or sum(len(t["values"]) for t in served["tasks"].values()) != total:
            raise RuntimeError(f"GET {path} answered {code} without the run's {total} values")
        again = median(get(path)[0] for _ in range(repeat))
        changed = []
        for i in range(repeat):
            store.set_value(run_id, "t0", "k0", {"changed": i})
            changed.append(get(path)[0])
        tag = get(path)[3]
        not_modified = median(get(path, tag)[0] for _ in range(repeat))
        return {
            "rest_first": first,
            "rest_again": again,
            "rest_changed": median(changed),
            "rest_304": not_modified,
        }


def python_startup(count: int, tmp: Path) -> list[float]:
    return [run_command([PYTHON, "-c", "pass"], log=tmp / "python.log").wall for _ in range(count)]


# -- main -----------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="one repetition and fewer micro-benchmark samples"
    )
    parser.add_argument("--repeat", type=int, default=None, metavar="N", help="repetitions (default: 3)")
    parser.add_argument(
        "--cpu-work", action="store_true", help="fan-out branches burn CPU instead of sleeping"
    )
    parser.add_argument("--max-parallel", type=int, metavar="N", help="passed to jupyter-taskvalues run")
    parser.add_argument("--warm-kernels", type=int, metavar="N", help="passed to jupyter-taskvalues run")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only these workloads (chain, fanout, independent, throughput, fanout64, micro, outputs, "
        "dask, store); repeatable",
    )
    parser.add_argument(
        "--dask-tasks",
        type=int,
        default=20,
        metavar="N",
        help="one-cell tasks in the dask row's job (default: 20)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    parser.add_argument(
        "--no-compile",
        action="store_true",
        help="do not byte-compile jupyter_taskvalues first (an installed wheel is; an editable install under "
        "PYTHONDONTWRITEBYTECODE=1 never is, and then compiles every module in every process)",
    )
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    only = set(args.only) or set(ALL)
    unknown = sorted(only - set(ALL))
    if unknown:
        parser.error(f"unknown --only {', '.join(unknown)}; choose from {', '.join(ALL)}")
    extra = []
    if args.max_parallel is not None:
        extra += ["--max-parallel", str(args.max_parallel)]
    if args.warm_kernels is not None:
        extra += ["--warm-kernels", str(args.warm_kernels)]

    if not args.no_compile:
        # As pip does when it installs a wheel; __pycache__ is ignored by git.
        import jupyter_taskvalues

        subprocess.run(
            [PYTHON, "-m", "compileall", "-q", str(Path(jupyter_taskvalues.__file__).parent)], check=True
        )
    tmp = Path(tempfile.mkdtemp(prefix="jtv-bench-"))
    print(
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, load {load_average()}; "
        f"{repeat} repetition(s); byte-compiled: {'no' if args.no_compile else 'yes'}; working in {tmp}",
        flush=True,
    )
    try:
        rows, raw = _run_all(
            tmp, repeat, only, extra, quick=args.quick, cpu_work=args.cpu_work, dask_tasks=args.dask_tasks
        )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload after: {load_average()}  (1, 5, 15 min averages; the machine has {os.cpu_count()} CPUs)\n")
    print_table(rows)
    if args.markdown:
        print("\n" + markdown_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1, default=str))
    missed = [r.name for r in rows if r.passed is False]
    print(
        f"\n{len(missed)} target(s) missed" + (f": {', '.join(missed)}" if missed else "; every target met.")
    )
    return 1 if missed else 0


def _progress(text: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')} load {load_average()}] {text}", flush=True)


def _run_all(
    tmp: Path,
    repeat: int,
    only: set[str],
    extra: list[str],
    *,
    quick: bool,
    cpu_work: bool,
    dask_tasks: int = 20,
) -> tuple[list[Row], dict[str, Any]]:
    jobs = {
        "chain": workloads.chain(tmp / "chain"),
        "fanout": workloads.fanout(tmp / "fanout", cpu=cpu_work),
        "independent": workloads.independent(tmp / "independent"),
        "throughput": workloads.throughput(tmp / "throughput"),
        "fanout64": workloads.wide_fanout(tmp / "fanout64"),
    }
    selected = [name for name in jobs if name in only]
    samples: dict[str, dict[str, list[Sample]]] = {name: {} for name in selected}

    if selected:
        _progress("warming up (compiles caches; not measured)")
        warm = workloads.chain(tmp / "warmup", length=2)
        ours(warm, tmp, extra)
        peer(next(iter(warm.peers.values())), tmp, "warmup")

    for rep in range(repeat):
        for name in selected:
            workload = jobs[name]
            contenders: list[tuple[str, Callable[[], Sample]]] = [
                ("jupyter-taskvalues", lambda w=workload: ours(w, tmp, extra))  # type: ignore[misc]
            ]
            if rep == 0 or not workload.peer_once:
                contenders += [
                    (peer_name, lambda c=command, n=peer_name: peer(c, tmp, n))  # type: ignore[misc]
                    for peer_name, command in workload.peers.items()
                ]
            if rep % 2:
                contenders.reverse()
            for who, action in contenders:
                sample = action()
                samples[name].setdefault(who, []).append(sample)
                _progress(f"{name} #{rep + 1}: {who}: {sample.wall:.2f} s wall, {sample.cpu:.2f} s CPU")

    rows: list[Row] = []
    raw: dict[str, Any] = {"load_before": load_average(), "repeat": repeat}

    def wall(name: str, who: str) -> float:
        return median(s.wall for s in samples[name][who])

    def cpu(name: str, who: str) -> float:
        return median(s.cpu for s in samples[name][who])

    ours_label = "jupyter-taskvalues"

    def runner_cpu(name: str) -> float:
        """The runner's own CPU-s in a run of ``name`` (its pool's record at the run's end), median."""
        return median(
            t["cpu"] for s in samples[name][ours_label] for t in s.timings if t.get("event") == "pool_close"
        )

    if "chain" in samples:
        a, b = wall("chain", ours_label), wall("chain", "papermill loop")
        rows.append(
            Row(
                "chain of 10 tasks vs papermill loop",
                f"{secs(a)} ({cpu('chain', ours_label):.1f} CPU-s)",
                f"{secs(b)} ({cpu('chain', 'papermill loop'):.1f} CPU-s)",
                f"{b / a:.1f}×",
                "≥ 5×",
                b / a >= 5,
            )
        )
    if "fanout" in samples:
        a = wall("fanout", ours_label)
        for who, target in (("papermill loop", 5.0), ("xargs -P2 papermill", 2.5)):
            b = wall("fanout", who)
            rows.append(
                Row(
                    f"fan-out 1→8→1 (0.5 s {'CPU' if cpu_work else 'sleep'}) vs {who}",
                    secs(a),
                    secs(b),
                    f"{b / a:.1f}×",
                    f"≥ {target:g}×",
                    b / a >= target,
                )
            )
    if "independent" in samples:
        a, b = wall("independent", ours_label), wall("independent", "xargs -P2 papermill")
        count = jobs["independent"].tasks
        runner = runner_cpu("independent")
        rows.append(
            Row(
                f"{count} independent trivial tasks",
                f"{secs(a)} = {count / a:.1f} tasks/s",
                f"{secs(b)} = {count / b:.1f} tasks/s (xargs -P2 papermill)",
                f"{cpu('independent', ours_label) / count:.2f} CPU-s per task, runner {runner / count:.3f}; "
                f"papermill {cpu('independent', 'xargs -P2 papermill') / count:.2f}",
                "≥ 4 tasks/s",
                count / a >= 4,
            )
        )

    if "throughput" in samples:
        runner = runner_cpu("throughput")
        rows.append(
            scale.throughput_row(
                jobs["throughput"].tasks,
                wall("throughput", ours_label),
                cpu("throughput", ours_label),
                runner,
            )
        )
    if "fanout64" in samples:
        rows.append(scale.fanout64_row(wall("fanout64", ours_label), wall("fanout64", "xargs -P2 papermill")))

    ours_samples = [s for name in selected for s in samples[name].get(ours_label, [])]
    if ours_samples:
        predecessors: dict[str, dict[str, list[str]]] = {
            "chain": {f"t{i}": [f"t{i - 1}"] for i in range(1, jobs["chain"].tasks)},
            "fanout": {"leaf": [f"b{i}" for i in range(8)]},
        }
        path = [
            o
            for name in ("chain", "fanout")
            if name in samples
            for s in samples[name][ours_label]
            for o in overheads(s, predecessors[name])
        ]
        if path:
            values = [o["overhead"] for o in path]
            med, p99 = median(values), percentile(values, 99)
            parts = ", ".join(
                f"{k} {median(o[k] for o in path) * 1000:.1f}"
                for k in ("gap", "read", "bootstrap", "messaging", "keep", "kernel_wait")
            )
            raw["overhead_breakdown_ms"] = parts
            for label, value, figure, target, limit in (
                (f"median; n={len(values)}", med, f"median parts (ms): {parts}", "≤ 40 ms", 0.040),
                ("p99", p99, f"max {ms(max(values))}", "≤ 150 ms", 0.150),
            ):
                rows.append(
                    Row(
                        f"runner overhead per task on the critical path ({label})",
                        ms(value),
                        "",
                        figure,
                        target,
                        value <= limit,
                    )
                )
        stops = [t for s in ours_samples for t in s.timings if t.get("event") == "kernel_stop"]
        stalled = sum(1 for t in stops if t["stalled"])
        tasks = [t for s in ours_samples for t in s.timings if t.get("event") == "task"]
        on_path = sum(1 for t in tasks if t["release"] > 0.05)
        closes = [t for s in ours_samples for t in s.timings if t.get("event") == "pool_close"]
        slow_ends = sum(1 for t in closes if t["seconds"] > 0.25)
        rows.append(
            Row(
                "tasks that paid a kernel-shutdown stall",
                f"{on_path} of {len(tasks)} tasks",
                "",
                f"{stalled} of {len(stops)} shutdowns stalled, in the background; "
                f"{slow_ends} of {len(closes)} run ends waited > 0.25 s",
                "0",
                on_path == 0,
            )
        )
        starts = []
        for s in ours_samples:
            launches = [t["at"] for t in s.timings if t.get("event") == "kernel_launch"]
            if launches:
                starts.append(min(launches) - s.spawned)
        python = python_startup(5, tmp)
        rows.append(
            Row(
                "CLI start-up until the first kernel is launched",
                ms(median(starts)),
                f"{ms(median(python))} (python -c pass)",
                f"max {ms(max(starts))}",
                "≤ 0.3 s",
                median(starts) <= 0.3,
            )
        )
        readies = [t["seconds"] for s in ours_samples for t in s.timings if t.get("event") == "kernel_ready"]
        raw["kernel_ready_median_s"] = median(readies)

    if "micro" in only:
        _progress("set/get in a task")
        probe_job = workloads.probe(tmp / "probe", tmp / "scratch", samples=500 if quick else 2000)
        document = ours(probe_job, tmp, extra).timings[-1]["document"]
        got = document["tasks"]["probe"]["values"]["results"]
        raw["set_get_us"] = got
        set_us = max(got["set_overwrite_us"], got["set_new_us"])
        rows.append(
            Row(
                "set a small value in a task (median; new key / overwrite)",
                f"{got['set_new_us']:.0f} / {got['set_overwrite_us']:.0f} µs",
                f"{got['plain_new_us']:.0f} / {got['plain_overwrite_us']:.0f} µs (temp file + rename)",
                f"{set_us / max(got['plain_new_us'], got['plain_overwrite_us']):.1f}× the plain write",
                "≤ 0.3 ms",
                set_us <= 300,
            )
        )
        rows.append(
            Row(
                "get a small value in a task (median)",
                f"{got['get_us']:.0f} µs",
                f"{got['plain_read_us']:.0f} µs (open + read + json.loads)",
                f"{got['get_us'] / got['plain_read_us']:.1f}× the plain read",
                "≤ 50 µs",
                got["get_us"] <= 50,
            )
        )

        _progress("a run of 10,000 values")
        large = large_run(tmp)
        raw["large_run_s"] = large
        rows.append(
            Row(
                "all values of a run with 10,000 values (run document)",
                ms(large["run_document"]),
                f"{ms(large['plain_files'])} (read the 10k files) / {ms(large['json_lines'])} (JSON lines)",
                f"all_values {ms(large['all_values'])}, fingerprint {ms(large['fingerprint'])}",
                "≤ 50 ms",
                large["run_document"] <= 0.050,
            )
        )
        rows.append(
            Row(
                "the same over REST, GET runs/<id> (unchanged run, median)",
                ms(large["rest_again"]),
                f"{ms(large['rest_304'])} (If-None-Match: 304)",
                f"after a change {ms(large['rest_changed'])}; first request of a fresh server "
                f"{ms(large['rest_first'])}",
                "≤ 50 ms",
                large["rest_again"] <= 0.050,
            )
        )
        rows.append(
            Row(
                "the same over REST, right after a value changed (median)",
                ms(large["rest_changed"]),
                "",
                "only the changed task is read and serialized again; the 2.5 MB body is assembled",
                "≤ 50 ms",
                large["rest_changed"] <= 0.050,
            )
        )

        _progress("%load_ext in fresh kernels")
        ext, autoreload = load_ext(3 if quick else 7)
        raw["load_ext_s"] = {"jupyter_taskvalues": ext, "autoreload": autoreload}
        rows.append(
            Row(
                "%load_ext jupyter_taskvalues in a fresh kernel (median)",
                ms(median(ext)),
                f"{ms(median(autoreload))} (%load_ext autoreload)",
                f"max {ms(max(ext))}",
                "≤ 5 ms",
                median(ext) <= 0.005,
            )
        )

    if "outputs" in only:
        _progress("a task printing 100 MiB, and one printing nothing")
        row, raw["outputs"] = scale.outputs_row(tmp)
        rows.append(row)
    if "dask" in only:
        _progress("the same job by the local and the Dask executor")
        row, raw["dask"] = scale.dask_row(tmp, repeat, dask_tasks)
        rows.append(row)
    if "store" in only:
        _progress("10,000 overwrites of 100 keys, compacted or not; 5,000 runs listed")
        store_rows, raw["store"] = store_scale.measure(tmp, repeat)
        rows += [Row(*row) for row in store_rows]

    raw["rows"] = [r.__dict__ for r in rows]
    raw["walls"] = {
        name: {who: [s.wall for s in ss] for who, ss in by.items()} for name, by in samples.items()
    }
    return rows, raw


if __name__ == "__main__":
    sys.exit(main())
