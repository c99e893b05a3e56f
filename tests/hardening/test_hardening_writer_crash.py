"""A task process killed with SIGKILL in the middle of ``set``: the old value or the new one, never a torn file.

Two ways to cut a writer: at random moments of a busy loop of sets (black box, many times), and at every
file-system step of one ``set`` in turn (just before a ``write``, a ``write`` cut half-way, just after it; a
rename not yet or just done), so that each cut point is tried deterministically whatever the timing of the
machine.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_taskvalues.store import RunStore
from tests.hardening.hardening_helpers import PAYLOAD_CODE, intact, payload, task_env, wait_for

LOOP_WRITER = (
    r"""
import os, sys
from jupyter_taskvalues import dbutils
"""
    + PAYLOAD_CODE
    + r"""
ready, start = sys.argv[1], int(sys.argv[2])
writer = os.environ["JUPYTER_TASKVALUES_TASK_KEY"]
n = start
while True:
    # overwrite three keys with values of up to 48 KB, and create a new key every fourth set
    dbutils.jobs.taskValues.set(f"k{n % 3}", payload(writer, n, 2000 + (n * 7919) % 46000))
    if n % 4 == 0:
        dbutils.jobs.taskValues.set(f"new{n}", payload(writer, n, 100))
    if n == start:
        open(ready, "w").close()
    n += 1
"""
)

#: Runs one ``set`` and SIGKILLs itself at file-system step CUT (just before a write, half-way through it or just
#: after it; just before or just after a rename). Prints the number of steps when the set completes without
#: reaching CUT.
STEP_WRITER = (
    r"""
import os, signal, sys
from jupyter_taskvalues import dbutils
"""
    + PAYLOAD_CODE
    + r"""
key, seq, cut = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
writer = os.environ["JUPYTER_TASKVALUES_TASK_KEY"]
value = payload(writer, seq, 30000)
steps = 0
real_write, real_replace, real_rename = os.write, os.replace, os.rename


def step():
    global steps
    steps += 1
    return steps == cut


def write(fd, data):
    if step():
        os.kill(os.getpid(), signal.SIGKILL)  # before the write
    if step():
        real_write(fd, bytes(data)[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)  # half-way through it
    written = real_write(fd, data)
    if step():
        os.kill(os.getpid(), signal.SIGKILL)  # just after it
    return written


def moving(real):
    def move(src, dst, *args, **kwargs):
        if step():
            os.kill(os.getpid(), signal.SIGKILL)  # before the rename
        real(src, dst, *args, **kwargs)
        if step():
            os.kill(os.getpid(), signal.SIGKILL)  # just after it
    return move


os.write, os.replace, os.rename = write, moving(real_replace), moving(real_rename)
dbutils.jobs.taskValues.set(key, value)
os.write, os.replace, os.rename = real_write, real_replace, real_rename
print(steps)
"""
)


def _check_run(store: RunStore, run_id: str, task: str, last: dict[str, int]) -> None:
    """Every listed value is whole and no value went back in time; update ``last`` with what is seen."""
    records = store.list_values(run_id, task)  # a stray temporary file must not break listing
    for key, record in records.items():
        assert intact(record.value, task), (key, str(record.value)[:80])
        assert record.value["seq"] >= last.get(key, -1), key
        assert store.get_value(run_id, task, key) == record.value
        last[key] = record.value["seq"]


@pytest.mark.parametrize(
    "kills", [pytest.param(20, id="20-kills"), pytest.param(60, id="60-kills", marks=pytest.mark.slow)]
)
def test_a_writer_killed_at_random_moments_leaves_whole_values_and_a_listable_run(
    tmp_path: Path, runs_dir: Path, kills: int
) -> None:
    store = RunStore(runs_dir)
    run_id = store.create_run(job_name="crash", tasks={"writer": {}}, max_values=10_000)
    script = tmp_path / "writer.py"
    script.write_text(LOOP_WRITER)
    rng = random.Random(7)
    last: dict[str, int] = {}
    for round_ in range(kills):
        ready = tmp_path / f"ready{round_}"
        process = subprocess.Popen(
            [sys.executable, str(script), str(ready), str(round_ * 1_000_000)],
            env=task_env(runs_dir, run_id, "writer"),
        )
        wait_for(ready.exists)
        time.sleep(rng.uniform(0.0, 0.08))
        process.kill()
        process.wait()
        _check_run(store, run_id, "writer", last)
        store.sweep(run_id)
        _check_run(store, run_id, "writer", last)

    assert set(last) >= {"k0", "k1", "k2"}
    # After all the kills the run still takes new values and reads them back whole.
    store.set_value(run_id, "writer", "k0", payload("writer", 10**9, 10))
    assert intact(store.get_value(run_id, "writer", "k0"), "writer")


def test_a_set_cut_at_every_file_step_leaves_the_old_or_new_value_and_a_true_count(
    tmp_path: Path, runs_dir: Path
) -> None:
    store = RunStore(runs_dir)
    run_id = store.create_run(job_name="cut", tasks={"writer": {}}, max_values=1000)
    script = tmp_path / "step.py"
    script.write_text(STEP_WRITER)
    env = task_env(runs_dir, run_id, "writer")
    store.set_value(run_id, "writer", "old", payload("writer", 1, 30000))
    problems = []
    tried = 0
    for key, seq in (("old", 2), ("fresh", 3)):  # overwriting an existing key, then creating a new one
        cut = 1
        while True:
            before = store.list_values(run_id, "writer")
            result = subprocess.run(
                [sys.executable, str(script), f"{key}-{cut}" if key == "fresh" else key, str(seq), str(cut)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode == 0:  # the set finished before reaching the cut: every step was tried
                assert int(result.stdout) == cut - 1 > 0, result.stdout
                break
            assert result.returncode == -signal.SIGKILL, result.stderr
            tried += 1
            name = f"{key}-{cut}" if key == "fresh" else key
            records = store.list_values(run_id, "writer")
            if name in records:
                value = records[name].value
                if not intact(value, "writer") or value["seq"] not in (
                    seq,
                    before.get(name, records[name]).value["seq"],
                ):
                    problems.append(f"{key} cut at step {cut}: torn or unknown value")
            elif name in before:
                problems.append(f"{key} cut at step {cut}: the old value is gone")
            if store.count_values(run_id) != len(records):
                problems.append(
                    f"{key} cut at step {cut}: the run counts {store.count_values(run_id)} values "
                    f"but holds {len(records)}"
                )
            store.sweep(run_id)
            cut += 1
    assert tried >= 4
    assert problems == []
