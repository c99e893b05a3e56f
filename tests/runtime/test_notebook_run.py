"""``dbutils.notebook.run`` outside a job run (the task-level tests cover it inside one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_taskvalues.runtime.dbutils import dbutils
from jupyter_taskvalues.runtime.notebook_run import WorkflowException
from tests.jobhelpers import databricks_source


def test_outside_a_job_the_child_reads_its_arguments_as_widgets_and_returns_its_exit_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    databricks_source(
        tmp_path / "sub" / "child.py",
        "dbutils.widgets.text('name', 'nobody')",
        "import os\ndbutils.notebook.exit(f\"{dbutils.widgets.get('name')} in {os.path.basename(os.getcwd())}\")",
    )
    monkeypatch.chdir(tmp_path)

    assert dbutils.notebook.run("./sub/child", 60, {"name": "Ada"}) == "Ada in sub"


def test_a_child_that_fails_raises_naming_the_child_and_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    databricks_source(tmp_path / "broken.py", "x = 1", "1 / 0")
    monkeypatch.chdir(tmp_path)

    with pytest.raises(WorkflowException, match=r"Notebook './broken'.*ZeroDivisionError"):
        dbutils.notebook.run("./broken", 60)


def test_arguments_must_be_a_dict(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="must be a dict of strings"):
        dbutils.notebook.run(str(tmp_path / "x"), 0, ["not", "a", "dict"])
