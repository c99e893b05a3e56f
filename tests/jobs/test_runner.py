"""The job runner with real kernels: values across tasks, references, parameters, formats, parallelism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_taskvalues import run_job
from jupyter_taskvalues.jobs.scheduler import RunOptions
from tests.jobhelpers import databricks_source, job, nb_task, notebook


def _iso(stamp: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_values_flow_downstream_through_dbutils_widgets_and_references(
    tmp_path: Path, runs_dir: Path
) -> None:
    notebook(
        tmp_path / "produce.ipynb",
        "dbutils.jobs.taskValues.set('rows', 1204)\ndbutils.jobs.taskValues.set(key='tables', value=['a', 'b'])",
    )
    notebook(
        tmp_path / "consume.ipynb",
        "rows = dbutils.jobs.taskValues.get(taskKey='produce', key='rows', debugValue=0)\n"
        "assert rows == 1204, rows\n"
        "assert dbutils.widgets.get('rows_param') == '1204'\n"
        "assert dbutils.widgets.get('tables_param') == '[\"a\",\"b\"]'\n"
        "dbutils.jobs.taskValues.set('double', rows * 2)",
    )
    path = job(
        tmp_path / "job.json",
        [
            nb_task("produce", "produce"),
            nb_task(
                "consume",
                "consume",
                depends_on=["produce"],
                base_parameters={
                    "rows_param": "{{tasks.produce.values.rows}}",
                    "tables_param": "{{tasks.produce.values.tables}}",
                },
            ),
        ],
    )
    run = run_job(path, runs_dir=runs_dir)
    assert run["state"] == "SUCCESS", run["tasks"]["consume"]["error"]
    assert run["tasks"]["produce"]["values"] == {"rows": 1204, "tables": ["a", "b"]}
    assert run["tasks"]["consume"]["values"] == {"double": 2408}
    assert run["tasks"]["consume"]["parameters"] == {"rows_param": "1204", "tables_param": '["a","b"]'}
    assert Path(run["tasks"]["consume"]["output_notebook"]).exists()


def test_independent_tasks_run_at_the_same_time(tmp_path: Path, runs_dir: Path) -> None:
    notebook(tmp_path / "sleep.ipynb", "import time\ntime.sleep(1.5)")
    path = job(tmp_path / "job.json", [nb_task("a", "sleep"), nb_task("b", "sleep")])
    run = run_job(path, runs_dir=runs_dir, options=RunOptions(max_parallel=2))
    a, b = run["tasks"]["a"], run["tasks"]["b"]
    assert run["state"] == "SUCCESS"
    # The two sleeps overlap: each started before the other ended.
    assert _iso(a["start_time"]) < _iso(b["end_time"]) and _iso(b["start_time"]) < _iso(a["end_time"])


def test_max_parallel_one_runs_tasks_one_after_another(tmp_path: Path, runs_dir: Path) -> None:
    notebook(tmp_path / "sleep.ipynb", "import time\ntime.sleep(0.5)")
    path = job(tmp_path / "job.json", [nb_task("a", "sleep"), nb_task("b", "sleep")])
    run = run_job(path, runs_dir=runs_dir, options=RunOptions(max_parallel=1))
    (a,), (b,) = run["tasks"]["a"]["attempts"], run["tasks"]["b"]["attempts"]
    assert _iso(a["end_time"]) <= _iso(b["start_time"]) or _iso(b["end_time"]) <= _iso(a["start_time"])


def test_databricks_source_notebook_runs_without_importing_dbutils(tmp_path: Path, runs_dir: Path) -> None:
    databricks_source(
        tmp_path / "nb" / "task.py",
        "# MAGIC %md\n# MAGIC # Title",
        'dbutils.widgets.text("who", "nobody")\nwho = dbutils.widgets.get("who")',
        "import os\ndbutils.jobs.taskValues.set('who', who)\ndbutils.jobs.taskValues.set('cwd', os.getcwd())",
    )
    path = job(
        tmp_path / "job.json",
        [nb_task("t", "nb/task", base_parameters={"who": "{{job.name}}"})],
        name="greet",
    )
    run = run_job(path, runs_dir=runs_dir)
    assert run["state"] == "SUCCESS", run["tasks"]["t"]["error"]
    assert run["tasks"]["t"]["values"] == {"who": "greet", "cwd": str(tmp_path / "nb")}


def test_parameters_reach_a_papermill_style_parameters_cell(tmp_path: Path, runs_dir: Path) -> None:
    notebook(
        tmp_path / "p.ipynb",
        "dbutils.jobs.taskValues.set('alpha', alpha)\ndbutils.jobs.taskValues.set('name', name)",
        parameters="alpha = 0.5\nname = 'x'",
    )
    path = job(tmp_path / "job.json", [nb_task("p", "p", base_parameters={"alpha": "0.75", "name": "y"})])
    run = run_job(path, runs_dir=runs_dir)
    assert run["state"] == "SUCCESS", run["tasks"]["p"]["error"]
    assert run["tasks"]["p"]["values"] == {"alpha": 0.75, "name": "y"}


def test_job_parameters_are_pushed_down_and_overridable(tmp_path: Path, runs_dir: Path) -> None:
    notebook(tmp_path / "p.ipynb", "dbutils.jobs.taskValues.set('seed', dbutils.widgets.get('seed'))")
    path = job(
        tmp_path / "job.json",
        [nb_task("p", "p")],
        parameters=[{"name": "seed", "default": "42"}],
    )
    assert run_job(path, runs_dir=runs_dir)["tasks"]["p"]["values"] == {"seed": "42"}
    run = run_job(path, runs_dir=runs_dir, parameters={"seed": "7"})
    assert run["tasks"]["p"]["values"] == {"seed": "7"}
    assert run["parameters"] == {"seed": "7"}


def test_notebook_exit_ends_the_task_successfully_with_its_value(tmp_path: Path, runs_dir: Path) -> None:
    notebook(tmp_path / "e.ipynb", "dbutils.notebook.exit('done: 3')", "raise RuntimeError('never reached')")
    run = run_job(job(tmp_path / "job.json", [nb_task("e", "e")]), runs_dir=runs_dir)
    assert run["state"] == "SUCCESS"
    assert run["tasks"]["e"]["exit_value"] == "done: 3"


def test_a_failing_task_fails_the_job_and_its_dependants_are_upstream_failed(
    tmp_path: Path, runs_dir: Path
) -> None:
    notebook(tmp_path / "bad.ipynb", "dbutils.jobs.taskValues.set('partial', 1)", "1 / 0")
    notebook(tmp_path / "ok.ipynb", "pass")
    path = job(tmp_path / "job.json", [nb_task("bad", "bad"), nb_task("after", "ok", depends_on=["bad"])])
    run = run_job(path, runs_dir=runs_dir)
    assert run["state"] == "FAILED"
    assert run["tasks"]["bad"]["state"] == "FAILED"
    assert "ZeroDivisionError" in run["tasks"]["bad"]["error"]
    assert run["tasks"]["bad"]["values"] == {"partial": 1}
    assert run["tasks"]["after"]["state"] == "UPSTREAM_FAILED"


def test_reference_to_a_value_never_set_fails_the_task_before_its_kernel_starts(
    tmp_path: Path, runs_dir: Path
) -> None:
    notebook(tmp_path / "a.ipynb", "pass")
    notebook(tmp_path / "b.ipynb", "raise RuntimeError('must not run')")
    path = job(
        tmp_path / "job.json",
        [
            nb_task("a", "a"),
            nb_task("b", "b", depends_on=["a"], base_parameters={"x": "{{tasks.a.values.missing}}"}),
        ],
    )
    run = run_job(path, runs_dir=runs_dir)
    task = run["tasks"]["b"]
    assert task["state"] == "FAILED"
    assert "missing" in task["error"] and "'a'" in task["error"]
    assert task["output_notebook"] is None


def test_run_history_lists_runs_newest_first_and_documents_have_the_full_shape(
    tmp_path: Path, runs_dir: Path
) -> None:
    notebook(tmp_path / "a.ipynb", "dbutils.jobs.taskValues.set('k', {'nested': [1, 2]})")
    path = job(tmp_path / "job.json", [nb_task("a", "a")])
    first = run_job(path, runs_dir=runs_dir)
    second = run_job(path, runs_dir=runs_dir)
    from jupyter_taskvalues.jobs.api import list_runs, read_run

    assert [r["run_id"] for r in list_runs(runs_dir=runs_dir)] == [second["run_id"], first["run_id"]]
    doc = read_run(first["run_id"], runs_dir=runs_dir)
    assert set(doc) >= {"run_id", "job_name", "state", "start_time", "end_time", "parameters", "tasks"}
    task = doc["tasks"]["a"]
    assert set(task) >= {
        "state",
        "attempts",
        "start_time",
        "end_time",
        "parameters",
        "values",
        "exit_value",
        "error",
        "output_notebook",
        "iterations",
    }
    assert task["values"] == {"k": {"nested": [1, 2]}}
    json.dumps(doc)  # the document is plain JSON


@pytest.mark.parametrize("fmt", ["percent", "light"])
def test_jupytext_notebooks_run(tmp_path: Path, runs_dir: Path, fmt: str) -> None:
    if fmt == "percent":
        source = "# %%\nx = 21\n\n# %%\ndbutils.jobs.taskValues.set('x', x * 2)\n"
    else:
        source = "x = 21\n\ndbutils.jobs.taskValues.set('x', x * 2)\n"
    (tmp_path / "j.py").write_text(source)
    run = run_job(job(tmp_path / "job.json", [nb_task("j", "j.py")]), runs_dir=runs_dir)
    assert run["state"] == "SUCCESS", run["tasks"]["j"]["error"]
    assert run["tasks"]["j"]["values"] == {"x": 42}


def test_job_parameter_defaults_may_hold_references(tmp_path: Path, runs_dir: Path) -> None:
    notebook(tmp_path / "p.ipynb", "dbutils.jobs.taskValues.set('day', dbutils.widgets.get('day'))")
    path = job(
        tmp_path / "job.json",
        [nb_task("p", "p", base_parameters={"run": "{{job.run_id}}"})],
        parameters=[{"name": "day", "default": "{{job.start_time.iso_date}}"}],
    )
    run = run_job(path, runs_dir=runs_dir)
    assert run["state"] == "SUCCESS", run["tasks"]["p"]["error"]
    assert run["tasks"]["p"]["values"]["day"] == run["start_time"][:10]
    assert run["tasks"]["p"]["parameters"]["run"] == run["run_id"]
