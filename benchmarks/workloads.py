"""The benchmark jobs, written into a folder: each as a jupyter-taskvalues job and as its papermill peer.

Each workload does the same work both ways. Task values travel through the run store in the job, and through
small JSON files (written with a temporary file and a rename) in the papermill peer, which has no task values.

- ``chain``: 10 trivial tasks, each reading its predecessor's value and setting its own (n + 1).
- ``fanout``: 1 → 8 → 1; each of the 8 branches does ``work`` seconds of work (``time.sleep`` by default, a busy
  loop with ``--cpu-work``), the last task reads the 8 branch values.
- ``independent``: 50 trivial tasks with no dependencies, each setting one value.
- ``throughput``: 200 of those at ``--max-parallel 2`` (issue 18: tasks/s on 2 cores; no peer, the target is
  absolute).
- ``fanout64``: 1 → 64 → 1 as ``fanout``, at ``--max-parallel 2``, against ``xargs -P2 papermill``.
- ``probe``: one task that times ``dbutils.jobs.taskValues`` set/get against a plain temp-file-and-rename write.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

PAPERMILL = str(Path(sys.executable).with_name("papermill"))


@dataclass
class Workload:
    """One benchmark job: how to run it with jupyter-taskvalues, and the shell commands of its peers."""

    name: str
    job_file: Path
    tasks: int
    peers: dict[str, str] = field(default_factory=dict)  # peer name -> shell command
    check: str = ""  # "task.key=value" the run must end with
    peer_once: bool = False  # the peers are a reference only (the target is absolute): run them once
    args: list[str] = field(
        default_factory=list
    )  # more options of ``jupyter-taskvalues run`` (after the user's)


def _notebook(path: Path, *cells: str, parameters: str | None = None) -> Path:
    """Write a minimal nbformat 4.5 notebook (plain JSON: generating it needs no nbformat import)."""
    sources = ([("parameters", parameters)] if parameters is not None else []) + [("", c) for c in cells]
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": [
            {
                "id": f"cell-{i}",
                "cell_type": "code",
                "metadata": {"tags": [tag]} if tag else {},
                "execution_count": None,
                "outputs": [],
                "source": source,
            }
            for i, (tag, source) in enumerate(sources)
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))
    return path


def _job(path: Path, name: str, tasks: list[dict[str, object]], **settings: object) -> Path:
    path.write_text(json.dumps({"name": name, "tasks": tasks, **settings}, indent=1))
    return path


def _task(key: str, notebook: str, depends_on: tuple[str, ...] = (), **parameters: str) -> dict[str, object]:
    task: dict[str, object] = {"task_key": key, "notebook_task": {"notebook_path": notebook}}
    if parameters:
        task["notebook_task"] = {"notebook_path": notebook, "base_parameters": parameters}  # type: ignore[assignment]
    if depends_on:
        task["depends_on"] = [{"task_key": d} for d in depends_on]
    return task


# The papermill peer's way to hand a value on: a JSON file written atomically, as the store does.
_PM_WRITE = (
    "import json, os\n"
    "def put(path, value):\n"
    "    tmp = path + '.tmp'\n"
    "    with open(tmp, 'w') as f:\n"
    "        json.dump(value, f)\n"
    "    os.replace(tmp, path)\n"
    "def take(path):\n"
    "    with open(path) as f:\n"
    "        return json.load(f)\n"
)


def _papermill(notebook: Path, output: Path, **parameters: str) -> str:
    args = [PAPERMILL, "--no-progress-bar", "-k", "python3", str(notebook), str(output)]
    for name, value in parameters.items():
        args += ["-p", name, value]
    return shlex.join(args)


def _sequence(commands: list[str]) -> str:
    return " && ".join(commands)


def _xargs_p2(commands: list[str]) -> str:
    """Run ``commands`` two at a time with ``xargs -P2`` (each line one command for ``sh -c``)."""
    lines = "\n".join(commands)
    return f"printf '%s\\n' {shlex.quote(lines)} | xargs -P2 -I{{}} sh -c {{}}"


def chain(root: Path, length: int = 10) -> Workload:
    """``length`` tasks in a chain; each reads its predecessor's value ``n`` and sets ``n + 1``."""
    root.mkdir(parents=True, exist_ok=True)
    _notebook(
        root / "step.ipynb",
        "prev = dbutils.widgets.get('prev')\n"
        "n = dbutils.jobs.taskValues.get(taskKey=prev, key='n') if prev else 0\n"
        "dbutils.jobs.taskValues.set('n', n + 1)",
    )
    tasks = [
        _task(f"t{i}", "step", (f"t{i - 1}",) if i else (), prev=f"t{i - 1}" if i else "")
        for i in range(length)
    ]
    job = _job(root / "job.json", "bench-chain", tasks)

    peer = _notebook(
        root / "pm_step.ipynb",
        _PM_WRITE + "n = take(prev_path) if prev_path else 0\nput(out_path, n + 1)",
        parameters="prev_path = ''\nout_path = ''",
    )
    out = root / "pm"
    out.mkdir(exist_ok=True)
    commands = [
        _papermill(
            peer,
            out / f"t{i}.ipynb",
            prev_path=str(out / f"t{i - 1}.json") if i else "",
            out_path=str(out / f"t{i}.json"),
        )
        for i in range(length)
    ]
    return Workload(
        "chain",
        job,
        length,
        peers={"papermill loop": _sequence(commands)},
        check=f"t{length - 1}.n={length}",
    )


def fanout(root: Path, branches: int = 8, work: float = 0.5, *, cpu: bool = False) -> Workload:
    """1 → ``branches`` → 1; each branch does ``work`` seconds of work (sleep, or a busy loop if ``cpu``)."""
    root.mkdir(parents=True, exist_ok=True)
    do_work = (
        f"import time\nend = time.perf_counter() + {work}\nwhile time.perf_counter() < end:\n    pass\n"
        if cpu
        else f"import time\ntime.sleep({work})\n"
    )
    _notebook(root / "root.ipynb", f"dbutils.jobs.taskValues.set('items', list(range({branches})))")
    _notebook(
        root / "branch.ipynb",
        do_work + "i = int(dbutils.widgets.get('i'))\n"
        "items = dbutils.jobs.taskValues.get(taskKey='root', key='items')\n"
        "dbutils.jobs.taskValues.set('x', items[i] * 2)",
    )
    keys = [f"b{i}" for i in range(branches)]
    _notebook(
        root / "leaf.ipynb",
        f"total = sum(dbutils.jobs.taskValues.get(taskKey=k, key='x') for k in {keys!r})\n"
        "dbutils.jobs.taskValues.set('total', total)",
    )
    tasks = [
        _task("root", "root"),
        *(_task(k, "branch", ("root",), i=str(i)) for i, k in enumerate(keys)),
        _task("leaf", "leaf", tuple(keys)),
    ]
    job = _job(root / "job.json", "bench-fanout", tasks)

    out = root / "pm"
    out.mkdir(exist_ok=True)
    pm_root = _notebook(
        root / "pm_root.ipynb",
        _PM_WRITE + f"put(out_path, list(range({branches})))",
        parameters="out_path = ''",
    )
    pm_branch = _notebook(
        root / "pm_branch.ipynb",
        _PM_WRITE + do_work + "put(out_path, take(items_path)[int(i)] * 2)",
        parameters="i = '0'\nitems_path = ''\nout_path = ''",
    )
    pm_leaf = _notebook(
        root / "pm_leaf.ipynb",
        _PM_WRITE + "put(out_path, sum(take(p) for p in in_paths.split(',')))",
        parameters="in_paths = ''\nout_path = ''",
    )
    first = _papermill(pm_root, out / "root.ipynb", out_path=str(out / "root.json"))
    middle = [
        _papermill(
            pm_branch,
            out / f"{k}.ipynb",
            i=str(i),
            items_path=str(out / "root.json"),
            out_path=str(out / f"{k}.json"),
        )
        for i, k in enumerate(keys)
    ]
    last = _papermill(
        pm_leaf,
        out / "leaf.ipynb",
        in_paths=",".join(str(out / f"{k}.json") for k in keys),
        out_path=str(out / "leaf.json"),
    )
    return Workload(
        "fanout",
        job,
        branches + 2,
        peers={
            "papermill loop": _sequence([first, *middle, last]),
            "xargs -P2 papermill": _sequence([first, _xargs_p2(middle), last]),
        },
        check=f"leaf.total={sum(range(branches)) * 2}",
    )


def independent(root: Path, count: int = 50) -> Workload:
    """``count`` trivial tasks with no dependencies, each setting one value."""
    root.mkdir(parents=True, exist_ok=True)
    _notebook(root / "one.ipynb", "dbutils.jobs.taskValues.set('done', 1)")
    job = _job(root / "job.json", "bench-independent", [_task(f"t{i}", "one") for i in range(count)])
    peer = _notebook(root / "pm_one.ipynb", _PM_WRITE + "put(out_path, 1)", parameters="out_path = ''")
    out = root / "pm"
    out.mkdir(exist_ok=True)
    commands = [_papermill(peer, out / f"t{i}.ipynb", out_path=str(out / f"t{i}.json")) for i in range(count)]
    return Workload(
        "independent",
        job,
        count,
        peers={"xargs -P2 papermill": _xargs_p2(commands)},
        check=f"t{count - 1}.done=1",
        peer_once=True,
    )


def throughput(root: Path, count: int = 200) -> Workload:
    """``count`` trivial independent tasks at ``--max-parallel 2``, with no peer (their target is a rate)."""
    workload = independent(root, count)
    return Workload(
        "throughput", workload.job_file, count, check=workload.check, args=["--max-parallel", "2"]
    )


def wide_fanout(root: Path, branches: int = 64, work: float = 0.5) -> Workload:
    """1 → ``branches`` → 1 at ``--max-parallel 2``, against ``xargs -P2 papermill`` only (the loop takes ages)."""
    workload = fanout(root, branches, work)
    xargs = "xargs -P2 papermill"
    return Workload(
        "fanout64",
        workload.job_file,
        workload.tasks,
        peers={xargs: workload.peers[xargs]},
        check=workload.check,
        args=["--max-parallel", "2"],
    )


PROBE_CELL = """\
import json, os, statistics, tempfile, time

def median_us(samples):
    return round(statistics.median(samples) * 1e6, 1)

tv = dbutils.jobs.taskValues
small = {"model": "gbt", "auc": 0.9132, "rows": 1204, "table": "main.income.features_v2", "ok": True}
N = int(dbutils.widgets.get("n"))
clock = time.perf_counter

def timed(action, count):
    samples = []
    for i in range(count):
        t0 = clock()
        action(i)
        samples.append(clock() - t0)
    return median_us(samples)

results = {}
results["set_overwrite_us"] = timed(lambda i: tv.set("probe", small), N)
results["set_new_us"] = timed(lambda i: tv.set(f"new{i}", small), min(N, 150))
results["get_us"] = timed(lambda i: tv.get(taskKey="seed", key="small"), N)

# The peer: the same JSON, written to a temporary file in the same directory and renamed over the target.
folder = tempfile.mkdtemp(dir=dbutils.widgets.get("scratch"))
text = json.dumps({"key": "probe", "value": small})

def plain_write(name):
    tmp = os.path.join(folder, ".tmp-" + name)
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(folder, name + ".json"))

def plain_read(name):
    with open(os.path.join(folder, name + ".json")) as f:
        return json.loads(f.read())

results["plain_overwrite_us"] = timed(lambda i: plain_write("probe"), N)
results["plain_new_us"] = timed(lambda i: plain_write(f"new{i}"), min(N, 150))
results["plain_read_us"] = timed(lambda i: plain_read("probe"), N)
tv.set("results", results)
"""


def probe(root: Path, scratch: Path, samples: int = 2000) -> Workload:
    """A task that times ``set``/``get`` of a small value against a plain temp-file-and-rename write."""
    root.mkdir(parents=True, exist_ok=True)
    scratch.mkdir(parents=True, exist_ok=True)
    _notebook(
        root / "seed.ipynb", "dbutils.jobs.taskValues.set('small', {'rows': 1204, 'table': 'features'})"
    )
    _notebook(root / "probe.ipynb", PROBE_CELL)
    tasks = [
        _task("seed", "seed"),
        _task("probe", "probe", ("seed",), n=str(samples), scratch=str(scratch)),
    ]
    return Workload("probe", _job(root / "job.json", "bench-probe", tasks), 2)
