"""``jupyter-taskvalues gc``: run retention by count and age; running and attached runs always stay."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jupyter_taskvalues.store import RunStore
from tests.cli.inprocess import run_main
from tests.hardening.hardening_helpers import wait_for


def finished_run(store: RunStore, run_id: str, *, ended: str = "2026-12-01T10:00:00.000Z") -> str:
    """A finished run with one task and a value, ended at ``ended``."""
    store.create_run(job_name="gc", run_id=run_id, tasks={"a": {"type": "notebook", "depends_on": []}})
    store.set_value(run_id, "a", "rows", 3)
    store.update_run(run_id, state="SUCCESS", start_time=ended, end_time=ended)
    return run_id


def ids(n: int) -> list[str]:
    """``n`` run ids, oldest first (a run id starts with its creation time)."""
    return [f"2026120{1 + i // 10}-10{i % 10:02d}00-000-00000{i % 10}" for i in range(n)]


def test_keep_removes_all_but_the_newest_runs_and_dry_run_only_lists_them(
    runs_dir: Path, store: RunStore, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = [finished_run(store, run_id) for run_id in ids(5)]
    code, out, _ = run_main(capsys, "gc", "--keep", "2", "--dry-run", "--runs-dir", str(runs_dir))
    assert code == 0
    assert [line.split()[-1] for line in out.splitlines() if line.startswith("would remove")] == runs[2::-1]
    assert store.run_ids() == runs[::-1]  # nothing removed
    code, out, _ = run_main(capsys, "gc", "--keep", "2", "--json", "--runs-dir", str(runs_dir))
    assert code == 0
    result = json.loads(out)
    assert result["removed"] == runs[2::-1] and result["kept"] == 2 and not result["dry_run"]
    assert store.run_ids() == [runs[4], runs[3]]
    assert not any((runs_dir / run_id).exists() for run_id in runs[:3])
    assert store.get_value(runs[4], "a", "rows") == 3  # the runs kept are whole


def test_older_than_removes_only_runs_that_ended_before_the_cutoff(
    runs_dir: Path, store: RunStore, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    old, recent = ids(2)
    finished_run(store, old, ended="2020-01-01T00:00:00.000Z")
    finished_run(store, recent, ended=now)
    code, out, _ = run_main(capsys, "gc", "--older-than", "30", "--runs-dir", str(runs_dir))
    assert code == 0, out
    assert out.splitlines()[0] == f"removed {old}"
    assert store.run_ids() == [recent]
    # With --keep as well, a run must pass both rules: the newest stays even when it is old.
    finished_run(store, old, ended="2020-01-01T00:00:00.000Z")
    store.update_run(recent, end_time="2020-01-01T00:00:00.000Z")
    code, _, _ = run_main(capsys, "gc", "--older-than", "30", "--keep", "1", "--runs-dir", str(runs_dir))
    assert code == 0
    assert store.run_ids() == [recent]


def test_a_running_run_is_kept_and_one_whose_runner_died_is_removed(
    runs_dir: Path, store: RunStore, capsys: pytest.CaptureFixture[str]
) -> None:
    live, elsewhere, dead = ids(3)
    store.create_run(job_name="gc", run_id=live, tasks={})
    store.update_run(live, state="RUNNING")  # its runner is this process: alive
    store.create_run(job_name="gc", run_id=elsewhere, tasks={})
    store.update_run(elsewhere, state="RUNNING")
    record = json.loads((runs_dir / elsewhere / "run.json").read_text())
    record["runner"] = {"host": "another-machine", "pid": 1, "started": None}
    (runs_dir / elsewhere / "run.json").write_text(json.dumps(record))
    store._touch_heartbeat(elsewhere)  # a live heartbeat is all this host can see of it
    code = (
        "from jupyter_taskvalues.store import RunStore\n"
        f"s = RunStore({str(runs_dir)!r})\n"
        f"s.create_run(job_name='gc', run_id={dead!r}, tasks={{}})\n"
        f"s.update_run({dead!r}, state='RUNNING')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # its runner exits without an end: INTERRUPTED
    assert store.read_run(dead)["state"] == "INTERRUPTED"
    exit_code, out, _ = run_main(capsys, "gc", "--keep", "0", "--runs-dir", str(runs_dir))
    assert exit_code == 0
    assert f"removed {dead}" in out
    assert f"kept {live} (still running)" in out and f"kept {elsewhere} (still running)" in out
    assert sorted(store.run_ids()) == [live, elsewhere]


ATTACHED_SESSION = textwrap.dedent(
    """
    import sys, time
    from jupyter_taskvalues.runtime import session
    session.attach(sys.argv[1], "a", runs_dir=sys.argv[2])
    print("attached", flush=True)
    if sys.argv[3] == "detach":
        session.detach()
        print("detached", flush=True)
    time.sleep(600)
    """
)


def test_a_run_a_live_session_is_attached_to_is_kept_until_the_session_ends_or_detaches(
    runs_dir: Path, store: RunStore, capsys: pytest.CaptureFixture[str]
) -> None:
    attached, detached, plain = (finished_run(store, run_id) for run_id in ids(3))
    sessions = [
        subprocess.Popen(
            [sys.executable, "-c", ATTACHED_SESSION, run_id, str(runs_dir), mode],
            stdout=subprocess.PIPE,
            text=True,
        )
        for run_id, mode in ((attached, "stay"), (detached, "detach"))
    ]
    try:
        assert sessions[0].stdout is not None and sessions[1].stdout is not None
        assert sessions[0].stdout.readline().strip() == "attached"
        assert [sessions[1].stdout.readline().strip() for _ in range(2)] == ["attached", "detached"]
        code, out, _ = run_main(capsys, "gc", "--keep", "0", "--runs-dir", str(runs_dir))
        assert code == 0
        assert f"kept {attached} (attached by a session)" in out
        assert store.run_ids() == [attached]
        assert plain not in store.run_ids() and detached not in store.run_ids()
    finally:
        for process in sessions:
            process.kill()
            process.wait()
    # The session is gone (killed, no detach): its record no longer protects the run.
    wait_for(lambda: sessions[0].poll() is not None)
    code, out, _ = run_main(capsys, "gc", "--keep", "0", "--runs-dir", str(runs_dir))
    assert code == 0
    assert store.run_ids() == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "gc needs --keep N, --older-than DAYS, or both"),
        (("--keep", "-1"), "--keep must be 0 or more"),
        (("--older-than", "-2"), "--older-than must be 0 or more days"),
    ],
)
def test_gc_without_a_rule_or_with_a_negative_one_is_a_usage_error_and_removes_nothing(
    runs_dir: Path, store: RunStore, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    run_id = finished_run(store, ids(1)[0])
    code, _, err = run_main(capsys, "gc", *argv, "--runs-dir", str(runs_dir))
    assert code == 2
    assert message in err
    assert store.run_ids() == [run_id]
