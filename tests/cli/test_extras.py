"""jupytext is an extra: a text notebook without it is one error before the run, naming the extra."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from jupyter_taskvalues.exceptions import NotebookFormatError
from jupyter_taskvalues.jobs.notebooks.formats import read_notebook
from tests.cli.inprocess import RecordingExecutor, run_main
from tests.jobhelpers import databricks_source, job, nb_task

PERCENT = "# %%\nprint('hi')\n"


@pytest.fixture
def without_jupytext(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jupytext", None)  # `import jupytext` now raises ImportError


def test_a_text_notebook_without_jupytext_stops_the_run_before_it_starts(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    runs_dir: Path,
    recording: type[RecordingExecutor],
    without_jupytext: None,
) -> None:
    (tmp_path / "percent.py").write_text(PERCENT)
    path = job(tmp_path / "job.json", [nb_task("p", "percent.py")])
    code, out, err = run_main(capsys, "run", str(path), "--executor", "pretend")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "error: Task 'p' (notebook percent.py) needs the Python module 'jupytext', which is not installed "
        "here. Install it with: pip install 'jupyter-taskvalues[jupytext]'"
    ]
    assert recording.seen == [] and not runs_dir.exists()


def test_databricks_source_and_ipynb_notebooks_need_no_jupytext(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    runs_dir: Path,
    recording: type[RecordingExecutor],
    without_jupytext: None,
) -> None:
    databricks_source(tmp_path / "dbx.py", "print('hi')")
    path = job(tmp_path / "job.json", [nb_task("d", "dbx.py")])
    code, _, err = run_main(capsys, "run", str(path), "--executor", "pretend", "--json")
    assert code == 0, err
    assert "print('hi')" in read_notebook(tmp_path / "dbx.py").cells[0].source


def test_reading_a_text_notebook_without_jupytext_names_the_extra(
    tmp_path: Path, without_jupytext: None
) -> None:
    (tmp_path / "percent.py").write_text(PERCENT)
    with pytest.raises(NotebookFormatError, match=r"pip install 'jupyter-taskvalues\[jupytext\]'"):
        read_notebook(tmp_path / "percent.py")


def test_with_jupytext_a_text_notebook_reads(tmp_path: Path) -> None:
    (tmp_path / "percent.py").write_text(PERCENT)
    assert [cell.source for cell in read_notebook(tmp_path / "percent.py").cells] == ["print('hi')"]
