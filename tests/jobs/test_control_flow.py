"""Control flow driven by task values, with real kernels: run_if, retries, timeouts, conditions, for-each, repair."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_taskvalues import repair_run, run_job
from jupyter_taskvalues.states import job_result, run_if_verdict
from tests.jobhelpers import job, kernel_processes, nb_task, notebook

# -- run_if, as a table ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run_if", "states", "verdict"),
    [
        ("ALL_SUCCESS", ["SUCCESS", "SUCCESS"], None),
        ("ALL_SUCCESS", ["SUCCESS", "FAILED"], "UPSTREAM_FAILED"),
        ("ALL_SUCCESS", ["SUCCESS", "EXCLUDED"], None),
        ("ALL_SUCCESS", ["EXCLUDED", "EXCLUDED"], "EXCLUDED"),
        ("ALL_SUCCESS", ["SUCCESS", "UPSTREAM_FAILED"], "UPSTREAM_FAILED"),
        ("ALL_SUCCESS", ["SUCCESS", "CANCELED"], "UPSTREAM_CANCELED"),
        ("AT_LEAST_ONE_SUCCESS", ["FAILED", "SUCCESS"], None),
        ("AT_LEAST_ONE_SUCCESS", ["FAILED", "TIMEDOUT"], "UPSTREAM_FAILED"),
        ("NONE_FAILED", ["SUCCESS", "EXCLUDED"], None),
        ("NONE_FAILED", ["SUCCESS", "TIMEDOUT"], "UPSTREAM_FAILED"),
        ("ALL_DONE", ["FAILED", "CANCELED"], None),
        ("ALL_DONE", ["EXCLUDED"], "EXCLUDED"),
        ("AT_LEAST_ONE_FAILED", ["SUCCESS", "FAILED"], None),
        ("AT_LEAST_ONE_FAILED", ["SUCCESS", "SUCCESS"], "EXCLUDED"),
        ("ALL_FAILED", ["FAILED", "UPSTREAM_FAILED"], None),
        ("ALL_FAILED", ["FAILED", "SUCCESS"], "EXCLUDED"),
    ],
)
def test_run_if_conditions(run_if: str, states: list[str], verdict: str | None) -> None:
    assert run_if_verdict(run_if, states) == verdict


@pytest.mark.parametrize(
    ("states", "leaves", "result"),
    [
        ({"a": "SUCCESS", "b": "SUCCESS"}, ["b"], "SUCCESS"),
        ({"a": "FAILED", "b": "SUCCESS"}, ["b"], "SUCCESS_WITH_FAILURES"),
        ({"a": "SUCCESS", "b": "FAILED"}, ["b"], "FAILED"),
        ({"a": "FAILED", "b": "UPSTREAM_FAILED"}, ["b"], "FAILED"),
        ({"a": "SUCCESS", "b": "EXCLUDED"}, ["b"], "SUCCESS"),
    ],
)
def test_job_result_is_judged_by_leaf_tasks(states: dict[str, str], leaves: list[str], result: str) -> None:
    assert job_result(states, leaves, canceled=False, timed_out=False) == result


def test_a_cleanup_task_with_all_done_runs_after_a_failure(tmp_path: Path, runs_dir: Path) -> None:
    notebook(tmp_path / "bad.ipynb", "raise ValueError('boom')")
    notebook(tmp_path / "cleanup.ipynb", "dbutils.jobs.taskValues.set('cleaned', True)")
    notebook(tmp_path / "alert.ipynb", "dbutils.jobs.taskValues.set('alerted', True)")
    path = job(
        tmp_path / "job.json",
        [
            nb_task("bad", "bad"),
            nb_task("cleanup", "cleanup", depends_on=["bad"], run_if="ALL_DONE"),
            nb_task("alert", "alert", depends_on=["bad"], run_if="AT_LEAST_ONE_FAILED"),
            nb_task("never", "cleanup", depends_on=["bad"], run_if="ALL_SUCCESS"),
        ],
    )
    run = run_job(path, runs_dir=runs_dir)
    states = {k: t["state"] for k, t in run["tasks"].items()}
    assert states == {"bad": "FAILED", "cleanup": "SUCCESS", "alert": "SUCCESS", "never": "UPSTREAM_FAILED"}
    assert run["state"] == "FAILED"


# -- retries and timeouts -------------------------------------------------------------------------------------


def test_retry_succeeds_on_second_attempt_and_downstream_reads_final_values(
    tmp_path: Path, runs_dir: Path
) -> None:
    notebook(
        tmp_path / "flaky.ipynb",
        "count = int(dbutils.widgets.get('count'))\n"
        "dbutils.jobs.taskValues.set('attempt', count)\n"
        "if count == 1:\n    dbutils.jobs.taskValues.set('only_first', True)\n    raise RuntimeError('transient')",
    )
    notebook(
        tmp_path / "after.ipynb",
        "dbutils.jobs.taskValues.set('saw', dbutils.jobs.taskValues.get('flaky', 'attempt'))",
    )
    path = job(
        tmp_path / "job.json",
        [
            nb_task("flaky", "flaky", base_parameters={"count": "{{task.execution_count}}"}, max_retries=2),
            nb_task("after", "after", depends_on=["flaky"]),
        ],
    )
    run = run_job(path, runs_dir=runs_dir)
    flaky = run["tasks"]["flaky"]
    assert run["state"] == "SUCCESS"
    assert [a["state"] for a in flaky["attempts"]] == ["FAILED", "SUCCESS"]
    assert flaky["attempts"][0]["values"] == {"attempt": 1, "only_first": True}
    assert flaky["values"] == {"attempt": 2}
    assert run["tasks"]["after"]["values"] == {"saw": 2}


def test_retries_stop_after_max_retries(tmp_path: Path, runs_dir: Path) -> None:
    notebook(tmp_path / "bad.ipynb", "raise RuntimeError('always')")
    run = run_job(job(tmp_path / "job.json", [nb_task("bad", "bad", max_retries=2)]), runs_dir=runs_dir)
    assert [a["state"] for a in run["tasks"]["bad"]["attempts"]] == ["FAILED"] * 3


def test_timeout_marks_task_timedout_kills_its_kernel_and_the_job_goes_on(
    tmp_path: Path, runs_dir: Path
) -> None:
    notebook(
        tmp_path / "slow.ipynb",
        "import subprocess, time\nchild = subprocess.Popen(['sleep', '300'])\ntime.sleep(300)",
    )
    notebook(tmp_path / "cleanup.ipynb", "dbutils.jobs.taskValues.set('ran', True)")
    path = job(
        tmp_path / "job.json",
        [
            nb_task("slow", "slow", timeout_seconds=2),
            nb_task("cleanup", "cleanup", depends_on=["slow"], run_if="ALL_DONE"),
        ],
    )
    run = run_job(path, runs_dir=runs_dir)
    assert run["tasks"]["slow"]["state"] == "TIMEDOUT"
    assert "timed out" in run["tasks"]["slow"]["error"]
    assert run["tasks"]["cleanup"]["values"] == {"ran": True}
    assert kernel_processes(str(runs_dir)) == []


# -- condition tasks ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accuracy", "branch", "skipped"), [("0.91", "deploy", "retrain"), ("0.42", "retrain", "deploy")]
)
def test_condition_task_picks_a_branch_from_a_task_value(
    tmp_path: Path, runs_dir: Path, accuracy: str, branch: str, skipped: str
) -> None:
    notebook(tmp_path / "train.ipynb", f"dbutils.jobs.taskValues.set('accuracy', {accuracy})")
    notebook(tmp_path / "leaf.ipynb", "dbutils.jobs.taskValues.set('ran', True)")
    path = job(
        tmp_path / "job.json",
        [
            nb_task("train", "train"),
            {
                "task_key": "good_enough",
                "depends_on": [{"task_key": "train"}],
                "condition_task": {
                    "op": "GREATER_THAN_OR_EQUAL",
                    "left": "{{tasks.train.values.accuracy}}",
                    "right": "0.8",
                },
            },
            {**nb_task("deploy", "leaf"), "depends_on": [{"task_key": "good_enough", "outcome": "true"}]},
            {**nb_task("retrain", "leaf"), "depends_on": [{"task_key": "good_enough", "outcome": "false"}]},
            nb_task("after_skipped", "leaf", depends_on=[skipped]),
        ],
    )
    run = run_job(path, runs_dir=runs_dir)
    assert run["state"] == "SUCCESS"
    assert run["tasks"]["good_enough"]["outcome"] == ("true" if branch == "deploy" else "false")
    assert run["tasks"][branch]["state"] == "SUCCESS"
    assert run["tasks"][skipped]["state"] == "EXCLUDED"
    assert run["tasks"]["after_skipped"]["state"] == "EXCLUDED"


def test_condition_with_a_non_numeric_operand_fails_clearly(tmp_path: Path, runs_dir: Path) -> None:
    notebook(tmp_path / "t.ipynb", "dbutils.jobs.taskValues.set('label', 'abc')")
    path = job(
        tmp_path / "job.json",
        [
            nb_task("t", "t"),
            {
                "task_key": "c",
                "depends_on": [{"task_key": "t"}],
                "condition_task": {"op": "GREATER_THAN", "left": "{{tasks.t.values.label}}", "right": "1"},
            },
        ],
    )
    run = run_job(path, runs_dir=runs_dir)
    assert run["tasks"]["c"]["state"] == "FAILED"
    assert "'abc' is not a number" in run["tasks"]["c"]["error"]


def test_a_literal_non_numeric_operand_is_rejected_before_the_run(tmp_path: Path, runs_dir: Path) -> None:
    from jupyter_taskvalues import JobSpecError

    path = job(
        tmp_path / "job.json",
        [{"task_key": "c", "condition_task": {"op": "GREATER_THAN", "left": "abc", "right": "1"}}],
    )
    with pytest.raises(JobSpecError, match="'abc' is not a number"):
        run_job(path, runs_dir=runs_dir)


# -- for-each -------------------------------------------------------------------------------------------------


def test_for_each_runs_an_iteration_per_element_of_a_task_value(tmp_path: Path, runs_dir: Path) -> None:
    notebook(
        tmp_path / "list.ipynb",
        "dbutils.jobs.taskValues.set('tables', [{'name': 'a', 'rows': 1}, {'name': 'b', 'rows': 2}, {'name': 'c', 'rows': 3}])",
    )
    notebook(
        tmp_path / "each.ipynb",
        "name = dbutils.widgets.get('name')\nrows = int(dbutils.widgets.get('rows'))\n"
        "if name == 'b':\n    raise RuntimeError('bad table')\n"
        "dbutils.jobs.taskValues.set('doubled', rows * 2)",
    )
    path = job(
        tmp_path / "job.json",
        [
            nb_task("list", "list"),
            {
                "task_key": "each",
                "depends_on": [{"task_key": "list"}],
                "for_each_task": {
                    "inputs": "{{tasks.list.values.tables}}",
                    "concurrency": 2,
                    "task": nb_task(
                        "each_iteration",
                        "each",
                        base_parameters={"name": "{{input.name}}", "rows": "{{input.rows}}"},
                    ),
                },
            },
        ],
    )
    run = run_job(path, runs_dir=runs_dir)
    each = run["tasks"]["each"]
    assert each["state"] == "FAILED"
    assert [it["state"] for it in each["iterations"]] == ["SUCCESS", "FAILED", "SUCCESS"]
    assert [it["values"] for it in each["iterations"]] == [{"doubled": 2}, {}, {"doubled": 6}]
    assert each["iterations"][2]["input"] == {"name": "c", "rows": 3}
    assert each["iterations"][0]["parameters"] == {"name": "a", "rows": "1"}
    assert "1 of 3 iterations failed" in each["error"]


def test_for_each_over_a_literal_array(tmp_path: Path, runs_dir: Path) -> None:
    notebook(tmp_path / "each.ipynb", "dbutils.jobs.taskValues.set('n', int(dbutils.widgets.get('n')) ** 2)")
    path = job(
        tmp_path / "job.json",
        [
            {
                "task_key": "sq",
                "for_each_task": {
                    "inputs": "[1, 2, 3]",
                    "task": nb_task("sq_it", "each", base_parameters={"n": "{{input}}"}),
                },
            }
        ],
    )
    run = run_job(path, runs_dir=runs_dir)
    assert run["state"] == "SUCCESS"
    assert [it["values"]["n"] for it in run["tasks"]["sq"]["iterations"]] == [1, 4, 9]


# -- repair ---------------------------------------------------------------------------------------------------


def test_repair_reruns_failed_tasks_and_downstream_keeping_successful_ones(
    tmp_path: Path, runs_dir: Path
) -> None:
    flag = tmp_path / "fixed"
    notebook(tmp_path / "ok.ipynb", "import time\ndbutils.jobs.taskValues.set('stamp', time.time())")
    notebook(
        tmp_path / "fragile.ipynb",
        f"import os\nif not os.path.exists({str(flag)!r}):\n    raise RuntimeError('not yet')\n"
        "dbutils.jobs.taskValues.set('repairs', int(dbutils.widgets.get('repairs')))",
    )
    notebook(
        tmp_path / "last.ipynb",
        "dbutils.jobs.taskValues.set('got', dbutils.jobs.taskValues.get('fragile', 'repairs'))",
    )
    path = job(
        tmp_path / "job.json",
        [
            nb_task("ok", "ok"),
            nb_task(
                "fragile", "fragile", depends_on=["ok"], base_parameters={"repairs": "{{job.repair_count}}"}
            ),
            nb_task("last", "last", depends_on=["fragile"]),
        ],
    )
    first = run_job(path, runs_dir=runs_dir)
    assert first["state"] == "FAILED"
    assert first["tasks"]["last"]["state"] == "UPSTREAM_FAILED"
    flag.write_text("yes")
    repaired = repair_run(first["run_id"], runs_dir=runs_dir)
    assert repaired["run_id"] == first["run_id"]
    assert repaired["state"] == "SUCCESS"
    assert repaired["repair_count"] == 1
    assert repaired["tasks"]["ok"]["values"] == first["tasks"]["ok"]["values"]  # kept, not re-run
    assert repaired["tasks"]["fragile"]["values"] == {"repairs": 1}
    assert repaired["tasks"]["last"]["values"] == {"got": 1}
    assert [h["state"] for h in repaired["tasks"]["fragile"]["history"]] == ["FAILED"]


def test_job_timeout_stops_running_tasks_and_marks_the_run_timedout(tmp_path: Path, runs_dir: Path) -> None:
    notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(300)")
    notebook(tmp_path / "after.ipynb", "pass")
    path = job(
        tmp_path / "job.json",
        [nb_task("slow", "slow"), nb_task("after", "after", depends_on=["slow"], run_if="ALL_DONE")],
        timeout_seconds=3,
    )
    run = run_job(path, runs_dir=runs_dir)
    assert run["state"] == "TIMEDOUT"
    assert run["tasks"]["slow"]["state"] == "TIMEDOUT"
    assert "job timed out" in run["tasks"]["slow"]["error"]
    assert run["tasks"]["after"]["state"] == "UPSTREAM_CANCELED"
    assert kernel_processes(str(runs_dir)) == []


def test_retry_count_references_and_upstream_execution_count(tmp_path: Path, runs_dir: Path) -> None:
    notebook(
        tmp_path / "flaky.ipynb",
        "if dbutils.widgets.get('retry') == '0':\n    raise RuntimeError('first attempt fails')",
    )
    notebook(tmp_path / "after.ipynb", "dbutils.jobs.taskValues.set('n', dbutils.widgets.get('n'))")
    path = job(
        tmp_path / "job.json",
        [
            nb_task("flaky", "flaky", base_parameters={"retry": "{{task_retry_count}}"}, max_retries=1),
            nb_task(
                "after",
                "after",
                depends_on=["flaky"],
                base_parameters={"n": "{{tasks.flaky.execution_count}}"},
            ),
        ],
    )
    run = run_job(path, runs_dir=runs_dir)
    assert run["state"] == "SUCCESS"
    assert run["tasks"]["flaky"]["parameters"] == {"retry": "1"}
    assert run["tasks"]["after"]["values"] == {"n": "2"}
