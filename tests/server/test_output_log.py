"""The output route of an ended task reads its output log (everything printed), not the capped notebook.

The server runs with ``c.RunnerManager.max_output_bytes = 4096`` (the notebook keeps each output's head and
tail) and ``c.RunnerManager.max_output_log_bytes = 16384`` (the log keeps its head).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.jobs.notebooks.streaming import LOG_CUT_NOTE
from jupyter_taskvalues.server.output import log_lines
from tests.jobhelpers import job, nb_task, notebook

from .conftest import Fetch, body
from .test_runs import finished, post, until


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {**jp_server_config, "RunnerManager": {"max_output_bytes": 4096, "max_output_log_bytes": 16384}}


async def test_an_ended_task_shows_its_last_lines_from_the_log_and_a_cut_log_falls_back_to_the_notebook(
    api: Fetch, jp_root_dir: Path
) -> None:
    # 7,000 bytes: over the notebook's cap, under the log's. 35,000 bytes: over both.
    notebook(jp_root_dir / "some.ipynb", "for n in range(1000):\n    print(f'a {n:04d}')")
    notebook(jp_root_dir / "lots.ipynb", "for n in range(5000):\n    print(f'b {n:04d}')")
    job(jp_root_dir / "out.job.json", [nb_task("some", "some"), nb_task("lots", "lots")], name="out")
    run_id = body(await post(api, "runs", data={"path": "out.job.json"}))["run_id"]
    document = await until(api, run_id, finished)
    assert document["state"] == "SUCCESS", document

    some = body(await api("runs", run_id, "tasks", "some", "output", params={"tail": "1000"}))
    assert some["lines"] == [f"a {n:04d}" for n in range(1000)]  # the notebook dropped the middle
    assert some["truncated"] is False
    last = body(await api("runs", run_id, "tasks", "some", "output", params={"tail": "3"}))
    assert (last["lines"], last["truncated"]) == (["a 0997", "a 0998", "a 0999"], True)

    log = Path(document["tasks"]["lots"]["output_notebook"]).with_suffix(".output.log").read_text()
    head, cut = log.rstrip("\n").rsplit("\n", 1)
    assert cut.startswith(LOG_CUT_NOTE) and head.startswith("b 0000\nb 0001\n")
    assert len(head.encode()) == 16384  # c.RunnerManager.max_output_log_bytes reached the run
    lots = body(await api("runs", run_id, "tasks", "lots", "output", params={"tail": "2"}))
    assert lots["lines"] == ["b 4998", "b 4999"]  # the task's end, from the notebook's tail
    assert lots["truncated"] is True


def test_log_lines_reads_back_across_blocks_and_drops_the_cut_first_line() -> None:
    data = b"".join(f"line {n:06d} {'x' * 100}\n".encode() for n in range(20_000))  # 2.3 MB: 36 blocks
    lines, truncated = log_lines(io.BytesIO(data), 1500)
    assert lines == [f"line {n:06d} {'x' * 100}" for n in range(18_500, 20_000)]
    assert truncated is True
    whole, truncated = log_lines(io.BytesIO(b"one\ntwo\nunfinished"), 10)
    assert (whole, truncated) == (["one", "two", "unfinished"], False)
    assert log_lines(io.BytesIO(b""), 5) == ([], False)


def _script_task(root: Path, key: str, source: str) -> dict[str, Any]:
    (root / f"{key}.py").write_text(source)
    return {"task_key": key, "spark_python_task": {"python_file": f"{key}.py"}}


async def test_a_script_task_run_by_this_server_shows_its_output_from_its_log(
    api: Fetch, jp_root_dir: Path
) -> None:
    chatty = "import sys\nfor n in range(300):\n    print(f'c {n:04d}')\nprint('warned', file=sys.stderr)\n"
    job(jp_root_dir / "s.job.json", [_script_task(jp_root_dir, "chatty", chatty)], name="s")
    run_id = body(await post(api, "runs", data={"path": "s.job.json"}))["run_id"]
    document = await until(api, run_id, finished)
    assert document["state"] == "SUCCESS", document
    shown = body(await api("runs", run_id, "tasks", "chatty", "output", params={"tail": "1000"}))
    assert shown["lines"] == [*(f"c {n:04d}" for n in range(300)), "warned"]
    assert (shown["truncated"], shown["error"], shown["notebook"]) == (False, None, {"path": None})


async def test_a_script_task_run_elsewhere_shows_its_log_and_a_cut_log_ends_with_its_note(
    api: Fetch, runs_dir: Path, tmp_path: Path
) -> None:
    from jupyter_taskvalues.jobs.api import async_run_job
    from jupyter_taskvalues.jobs.scheduler import RunOptions

    # A run of another process (a CLI run, or one of this server before a restart): no live output here.
    some = "for n in range(1000):\n    print(f'a {n:04d}')\nraise SystemExit('failed at the end')\n"
    lots = "for n in range(5000):\n    print(f'b {n:04d}')\n"
    tasks = [_script_task(tmp_path, "some", some), _script_task(tmp_path, "lots", lots)]
    document = await async_run_job(
        job(tmp_path / "job.json", tasks), runs_dir=runs_dir, options=RunOptions(max_output_log_bytes=16384)
    )
    run_id = document["run_id"]

    some_shown = body(await api("runs", run_id, "tasks", "some", "output", params={"tail": "3"}))
    assert some_shown["state"] == "FAILED"
    assert (some_shown["lines"], some_shown["truncated"]) == (["a 0998", "a 0999", "failed at the end"], True)
    assert some_shown["error"]["evalue"].startswith("The process exited with code 1.")
    assert "failed at the end" in some_shown["error"]["evalue"]

    lots_shown = body(await api("runs", run_id, "tasks", "lots", "output", params={"tail": "2"}))
    cut, note = lots_shown["lines"]
    assert cut.startswith("b ") and note.startswith(
        LOG_CUT_NOTE
    )  # no notebook keeps the end: the log's is shown
    assert lots_shown["truncated"] is True
