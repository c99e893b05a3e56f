"""Task output streamed to the output log as it arrives, capped in memory while the task runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_taskvalues.jobs.notebooks.streaming import OutputStream
from tests.jobhelpers import cli, job, nb_task, notebook


class Recorder:
    """Stands in for nbclient's output handler: records the outputs it is handed, as nbclient does."""

    def __init__(self, nb: Any) -> None:
        self.nb = nb

    def output(self, outs: list[Any], msg: dict[str, Any], display_id: Any, cell_index: int) -> Any:
        out = nbformat.v4.new_output(msg["msg_type"], **msg["content"])
        outs.append(out)
        return out


def stream_msg(name: str, text: str) -> dict[str, Any]:
    return {"msg_type": "stream", "content": {"name": name, "text": text}, "parent_header": {}}


def feed(
    tmp_path: Path, limit: int, pieces: list[tuple[str, str]], log_limit: int = 1 << 30
) -> tuple[Any, OutputStream, Path]:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("print()"))
    client = Recorder(nb)
    log = tmp_path / "notebooks" / "task.output.log"
    stream = OutputStream(log, limit, log_limit)
    stream.wrap(client)
    for name, text in pieces:
        client.output(nb.cells[0].outputs, stream_msg(name, text), None, 0)
    stream.finish(nb)
    return nb, stream, log


def test_output_under_the_cap_is_kept_whole_and_logged(tmp_path: Path) -> None:
    nb, _, log = feed(tmp_path, 10_000, [("stdout", "hello\n"), ("stderr", "warn\n"), ("stdout", "bye\n")])
    assert [(o["name"], o["text"]) for o in nb.cells[0].outputs] == [
        ("stdout", "hello\n"),
        ("stderr", "warn\n"),
        ("stdout", "bye\n"),
    ]
    assert log == tmp_path / "notebooks" / "task.output.log"
    assert log.read_text() == "hello\nwarn\nbye\n"


def test_a_flood_keeps_head_and_tail_with_a_note_while_the_log_keeps_everything(tmp_path: Path) -> None:
    lines = [("stdout", f"line {n:05d}\n") for n in range(5000)]  # 55,000 bytes against a 4,096-byte cap
    nb, stream, log = feed(tmp_path, 4096, lines)
    texts = [o["text"] for o in nb.cells[0].outputs]
    kept = "".join(texts)
    assert len(kept.encode()) <= 4096
    assert kept.startswith("line 00000\n")
    assert kept.endswith("line 04999\n")
    assert "output truncated: 55,000 bytes of stdout while the task ran" in texts[-1]
    assert str(log) in texts[-1]
    assert log.read_text() == "".join(text for _, text in lines)
    # In memory, only a bounded tail was ever held (not the 55,000 bytes).
    assert all(s.tail_bytes <= 4096 for s in stream._streams.values())


def test_one_huge_message_is_cut_without_losing_its_end(tmp_path: Path) -> None:
    text = "a" * 3000 + "é" * 3000 + "END\n"  # multi-byte characters across the cut
    nb, _, log = feed(tmp_path, 4096, [("stdout", text)])
    kept = "".join(o["text"] for o in nb.cells[0].outputs)
    assert kept.startswith("a" * 1000)
    assert kept.endswith("é" * 10 + "END\n")
    assert log.read_text() == text


def test_a_log_that_cannot_be_written_is_named_in_the_note(tmp_path: Path) -> None:
    (tmp_path / "notebooks").write_text("a file where the folder should be")
    nb, stream, _ = feed(tmp_path, 4096, [("stdout", "x" * 10_000)])
    assert stream.log_error is not None
    assert "the output log could not be written" in nb.cells[0].outputs[-1]["text"]


def test_a_cap_that_is_not_positive_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes must be positive"):
        OutputStream(None, 0)
    with pytest.raises(ValueError, match="max_log_bytes must be positive"):
        OutputStream(None, 4096, 0)


def test_past_its_cap_the_log_keeps_its_head_and_ends_with_what_was_dropped(tmp_path: Path) -> None:
    lines = [("stdout", f"line {n:05d}\n") for n in range(5000)]  # 55,000 bytes against a 10,000-byte log
    nb, stream, log = feed(tmp_path, 4096, [*lines, ("stderr", "é" * 100)], log_limit=10_000)
    printed = "".join(text for _, text in lines)
    head, note = log.read_text().split("\n[... ", 1)
    assert printed.startswith(head) and len(head) == 10_000
    assert note == (
        "output log truncated: 45,200 more bytes were printed after the first 10,000, over the 10,000-byte "
        "limit of the output log (--max-output-log-bytes); they were dropped. The executed notebook keeps the "
        "end of each cell's output ...]\n"
    )
    assert (stream.written, stream.dropped) == (10_000, 45_200)
    stdout_note = [o["text"] for o in nb.cells[0].outputs if o["name"] == "stdout"][-1]
    assert f"the first 10,000 bytes of the output are in {log} (its cap)" in stdout_note
    assert stdout_note.endswith("line 04999\n")  # the notebook still has the end


def test_a_cut_inside_a_character_keeps_the_log_valid_utf8(tmp_path: Path) -> None:
    _, stream, log = feed(tmp_path, 4096, [("stdout", "a" + "é" * 5000)], log_limit=4096)
    head = log.read_bytes().split(b"\n[... ", 1)[0]
    assert head.decode("utf-8") == "a" + "é" * 2047  # 4,095 bytes: the half character is not written
    assert stream.written + stream.dropped == 1 + 2 * 5000


def test_a_run_with_max_output_bytes_caps_its_notebook_while_the_log_keeps_all_of_the_last_attempt(
    tmp_path: Path, runs_dir: Path
) -> None:
    flag = tmp_path / "tried"
    notebook(
        tmp_path / "chatty.ipynb",
        "import os\n"
        f"first = not os.path.exists({str(flag)!r})\n"
        f"open({str(flag)!r}, 'w').close()\n"
        "for n in range(20000):\n"
        '    print(f\'{"first" if first else "second"} {n:05d}\')\n'
        "if first:\n"
        "    raise RuntimeError('try again')",
    )
    path = job(tmp_path / "job.json", [nb_task("chatty", "chatty", max_retries=1)])
    done = cli("run", str(path), "--runs-dir", str(runs_dir), "--max-output-bytes", "8192", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    task = json.loads(done.stdout)["tasks"]["chatty"]
    assert task["state"] == "SUCCESS"
    kept = nbformat.read(task["output_notebook"], as_version=4)
    text = "".join(o.get("text", "") for o in kept.cells[0].outputs)
    assert text.startswith("second 00000\n") and text.endswith("second 19999\n")
    assert len(text.encode()) < 8192 + 1024
    assert "output truncated: 260,000 bytes of stdout while the task ran, over the 8,192-byte limit" in text
    log = Path(task["output_notebook"]).with_suffix(".output.log")  # next to the notebook
    assert log.read_text() == "".join(f"second {n:05d}\n" for n in range(20000))  # the retry's, whole


def test_a_run_with_max_output_log_bytes_caps_the_log_and_show_log_prints_it(
    tmp_path: Path, runs_dir: Path
) -> None:
    notebook(
        tmp_path / "endless.ipynb",
        "import sys\nfor n in range(20000):\n    print(f'out {n:05d}')\nprint('to stderr', file=sys.stderr)",
    )
    path = job(tmp_path / "job.json", [nb_task("endless", "endless")])
    done = cli("run", str(path), "--max-output-log-bytes", "8192", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    task = json.loads(done.stdout)["tasks"]["endless"]
    log = Path(task["output_notebook"]).with_suffix(".output.log")
    text = log.read_text()
    assert text.startswith("out 00000\nout 00001\n")
    head, note = text.split("\n[... ", 1)
    assert len(head.encode()) == 8192
    assert note.startswith("output log truncated: 191,818 more bytes were printed after the first 8,192")

    shown = cli("show", "latest", "--task", "endless", "--log")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == text  # the log, line for line
    refused = cli("run", str(path), "--max-output-log-bytes", "100")
    assert refused.returncode == 2 and "--max-output-log-bytes must be at least 4096." in refused.stderr


@pytest.mark.slow
def test_a_retried_notebook_tasks_log_is_its_last_attempts_even_when_that_one_prints_nothing(
    tmp_path: Path,
) -> None:
    from jupyter_taskvalues.jobs.api import run_job
    from jupyter_taskvalues.store import open_store

    flag = tmp_path / "tried"
    notebook(
        tmp_path / "flaky.ipynb",
        "import pathlib\n"
        f"flag = pathlib.Path({str(flag)!r})\n"
        "if not flag.exists():\n"
        "    flag.touch()\n"
        "    print('first attempt')\n"
        "    raise RuntimeError('once')",
    )
    runs = tmp_path / "runs"
    document = run_job(
        job(tmp_path / "job.json", [nb_task("flaky", "flaky.ipynb", max_retries=1)]), runs_dir=runs
    )
    assert [a["state"] for a in document["tasks"]["flaky"]["attempts"]] == ["FAILED", "SUCCESS"]
    with open_store(runs).open_output_log(document["run_id"], "flaky") as log:
        assert log.read() == b""  # not the first attempt's "first attempt"
