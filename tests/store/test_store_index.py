"""A local runs directory lists runs from its runs index, and a stale, racy or corrupt index is never believed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.document import run_summary
from jupyter_taskvalues.records import RunHead
from jupyter_taskvalues.store import RunStore, _index

# A process that lists the runs and stops where the index is written (or is killed there).
LISTER = """
import sys
from jupyter_taskvalues.store import RunStore, _index

def pause(step):
    if step == sys.argv[2]:
        print(step, flush=True)
        sys.stdin.readline()

_index.RACY_SECONDS = 0
_index.step_hook = pause
print(len(RunStore(sys.argv[1]).list_run_heads()), flush=True)
"""


@pytest.fixture
def trusting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Index runs written just now (the tests cannot wait out the racy window of real runs)."""
    monkeypatch.setattr(_index, "RACY_SECONDS", 0)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ``run.json`` files the listings read (those the index could not answer for)."""
    seen: list[str] = []
    real = _index._read

    def counted(path: str) -> Any:
        seen.append(Path(path).parent.name)
        return real(path)

    monkeypatch.setattr(_index, "_read", counted)
    return seen


def _runs(store: RunStore, count: int) -> list[str]:
    ids = []
    for i in range(count):
        run_id = store.create_run(
            job_name=f"job{i % 3}",
            tasks={f"t{j}": {"type": "notebook"} for j in range(i % 4 + 1)},
            parameters={"n": str(i)},
            run_id=f"20260101-000000-{i:03d}-aaaaaa",
        )
        if i % 2:
            store.update_run(
                run_id,
                state="SUCCESS",
                start_time="2026-01-01T00:00:00.000Z",
                end_time="2026-01-01T00:00:02.500Z",
            )
        ids.append(run_id)
    return ids[::-1]  # newest first


def _expected(store: RunStore, **page: int) -> list[dict[str, Any]]:
    """The summaries from the run records themselves, as every listing gave them before the index."""
    return [run_summary(run) for run in store.list_runs(**page)]


def _summaries(store: RunStore, **page: int) -> list[dict[str, Any]]:
    return [run_summary(head) for head in store.list_run_heads(**page)]


def test_heads_hold_what_a_run_list_shows_and_page_as_the_records_do(store: RunStore, trusting: None) -> None:
    ids = _runs(store, 7)

    heads = store.list_run_heads()

    assert [head["run_id"] for head in heads] == ids
    assert heads[0]["task_count"] == 3 and "tasks" not in heads[0] and "parameters" not in heads[0]
    assert heads[0]["state"] == "PENDING" and heads[1]["state"] == "SUCCESS"
    for page in ({}, {"limit": 3}, {"limit": 3, "offset": 5}, {"offset": 6}, {"limit": 0}):
        assert _summaries(store, **page) == _expected(store, **page)  # from the index
    assert [run_summary(r)["duration_seconds"] for r in heads[1:2]] == [2.5]


def test_a_listing_reads_each_run_once_then_the_index_answers(
    store: RunStore, runs_dir: Path, trusting: None, reads: list[str]
) -> None:
    ids = _runs(store, 5)

    first = _summaries(store)
    assert sorted(reads) == sorted(ids) and (runs_dir / ".runs-index").is_file()
    reads.clear()

    assert _summaries(store) == first == _expected(store)
    assert reads == []


def test_a_run_written_since_the_index_is_read_again(
    store: RunStore, trusting: None, reads: list[str]
) -> None:
    ids = _runs(store, 4)
    _summaries(store)
    reads.clear()

    store.update_run(ids[2], state="FAILED", repair_count=1)

    assert _summaries(store) == _expected(store)
    assert reads == [ids[2]]
    assert store.list_run_heads(limit=1, offset=2)[0] | {"runner": None} == {
        "format": 2,
        "run_id": ids[2],
        "job_id": None,
        "job_name": "job1",
        "state": "FAILED",
        "created": store.read_run(ids[2])["created"],
        "start_time": "2026-01-01T00:00:00.000Z",
        "end_time": "2026-01-01T00:00:02.500Z",
        "repair_count": 1,
        "runner": None,
        "task_count": 2,
    }


def test_a_head_has_the_keys_its_type_declares(store: RunStore, trusting: None) -> None:
    for run_id in _runs(store, 2):
        store.update_run(run_id, source="job.json")  # the runner adds it after create_run

    for _ in range(2):  # read from run.json, then from the index
        assert [set(head) for head in store.list_run_heads()] == [set(RunHead.__annotations__)] * 2
    assert set(RunHead.__annotations__) == {*_index.HEAD_FIELDS, "task_count"}


def test_a_run_json_of_an_older_shape_lists_from_the_index_as_from_the_record(
    store: RunStore, runs_dir: Path, trusting: None, reads: list[str]
) -> None:
    [run_id] = _runs(store, 1)
    older = {"format": 2, "run_id": run_id, "job_name": "old", "state": "SUCCESS", "created": "2026-01-01"}
    (runs_dir / run_id / "run.json").write_text(json.dumps(older), encoding="utf-8")

    for _ in range(2):  # read from run.json, then from the index
        assert store.list_run_heads() == [older | {"task_count": 0}]
        assert _summaries(store) == _expected(store)
    assert reads == [run_id]


def test_runs_changed_within_the_racy_window_are_never_put_in_the_index(
    store: RunStore, runs_dir: Path, reads: list[str]
) -> None:
    ids = _runs(store, 3)  # written just now: within RACY_SECONDS of the listing

    assert _summaries(store) == _expected(store)
    assert _summaries(store) == _expected(store)

    assert sorted(reads) == sorted(ids * 2)  # read from their run.json both times
    assert not (runs_dir / ".runs-index").exists()


def test_removed_runs_and_runs_being_created_are_not_listed(
    store: RunStore, runs_dir: Path, trusting: None
) -> None:
    ids = _runs(store, 4)
    _summaries(store)

    store.delete_run(ids[1])
    (runs_dir / "20260101-000000-999-cccccc").mkdir()  # created, no run.json yet
    (runs_dir / ids[3] / "run.json").write_text('{"format": 2, "run_id": ')  # not a record
    other = store.create_run(job_name="old", tasks={}, run_id="20260101-000000-998-bbbbbb")
    record = json.loads((runs_dir / other / "run.json").read_text())
    (runs_dir / other / "run.json").write_text(json.dumps(record | {"format": 1}))

    assert [s["run_id"] for s in _summaries(store)] == [ids[0], ids[2]]
    assert _summaries(store) == _expected(store)
    assert ids[1] not in (runs_dir / ".runs-index").read_text()


@pytest.mark.parametrize(
    "damage",
    ["garbage", "cut", "a changed byte", "another version", "a directory", "empty"],
)
def test_a_corrupt_index_is_ignored_and_written_again(
    store: RunStore, runs_dir: Path, trusting: None, reads: list[str], damage: str
) -> None:
    ids = _runs(store, 4)
    _summaries(store)
    index = runs_dir / ".runs-index"
    data = index.read_bytes()
    if damage == "garbage":
        index.write_bytes(os.urandom(len(data)))
    elif damage == "cut":
        index.write_bytes(data[: len(data) // 2])
    elif damage == "a changed byte":  # a state flipped under the checksum: SUCCESS reads SUCCESX
        index.write_bytes(data.replace(b'"SUCCESS"', b'"SUCCESX"', 1))
    elif damage == "another version":
        index.write_bytes(data.replace(b"index 1", b"index 9", 1))
    elif damage == "a directory":
        index.unlink()
        index.mkdir()
    else:
        index.write_bytes(b"")
    reads.clear()

    assert _summaries(store) == _expected(store)
    assert sorted(reads) == sorted(ids)
    if damage != "a directory":  # a directory in its way: the index is not written, listings still right
        reads.clear()
        assert _summaries(store) == _expected(store) and reads == []


def test_a_run_whose_runner_died_reads_interrupted_from_the_index_too(
    store: RunStore, runs_dir: Path, trusting: None
) -> None:
    code = (
        "import sys\nfrom jupyter_taskvalues.store import RunStore\n"
        "s = RunStore(sys.argv[1])\nrun_id = s.create_run(job_name='j', tasks={'t': {}})\n"
        "s.update_run(run_id, state='RUNNING')\nprint(run_id)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(runs_dir)], check=True, capture_output=True, text=True, timeout=60
    )
    run_id = done.stdout.strip()

    for _ in range(2):  # read from run.json, then from the index
        [head] = store.list_run_heads()
        assert head["run_id"] == run_id and head["state"] == "INTERRUPTED"
    assert (
        '"RUNNING"' in (runs_dir / ".runs-index").read_text()
    )  # the index keeps the record, not the verdict


def _lister(runs_dir: Path, step: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", LISTER, str(runs_dir), step],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == step
    return process


@pytest.mark.parametrize("step", ["written", "replaced"])
def test_a_process_killed_while_writing_the_index_leaves_listings_right(
    store: RunStore, runs_dir: Path, trusting: None, step: str
) -> None:
    ids = _runs(store, 4)
    _summaries(store)
    store.update_run(ids[0], state="CANCELED")  # the killed lister writes the index again for it
    before = (runs_dir / ".runs-index").read_bytes()

    lister = _lister(runs_dir, step)
    os.kill(lister.pid, signal.SIGKILL)
    lister.wait(timeout=30)

    after = (runs_dir / ".runs-index").read_bytes()
    assert (after == before) == (step == "written")  # the old index, or (renamed) the new one
    leftovers = [p for p in runs_dir.iterdir() if p.name.startswith(".runs-index.tmp-")]
    assert len(leftovers) == (1 if step == "written" else 0)
    assert _summaries(store) == _expected(store)
    assert _summaries(store)[0]["state"] == "CANCELED"

    for leftover in leftovers:  # a killed writer's file is removed once it is old
        os.utime(leftover, (0, 0))
    store.update_run(ids[1], state="FAILED")
    _summaries(store)
    assert not [p for p in runs_dir.iterdir() if p.name.startswith(".runs-index.tmp-")]


def test_two_processes_writing_the_index_at_once_each_leave_a_true_index(
    store: RunStore, runs_dir: Path, trusting: None, reads: list[str]
) -> None:
    ids = _runs(store, 6)
    first = _lister(runs_dir, "written")  # paused with its new index written, not yet renamed
    store.update_run(ids[0], state="FAILED")
    assert _summaries(store) == _expected(store)  # this one renames its index first
    assert first.stdin is not None
    first.stdin.write("go\n")
    first.stdin.close()
    assert first.wait(timeout=30) == 0  # the other renames its older index over it: stale, not wrong

    reads.clear()
    assert _summaries(store) == _expected(store)
    assert _summaries(store)[0]["state"] == "FAILED"
    assert reads == [ids[0]]  # read once more, then the index is true again
