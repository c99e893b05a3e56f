"""Mixed jobs: script, wheel, run_job, stubbed, disabled and workspace tasks, run for real (issue 13 point 4).

The mixed bundle (tests/fixtures/bundles/mixed) is copied into a temporary folder, its wheel built from its
``artifacts`` during the run; notebooks run in real kernels, scripts and entry points in real processes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from jupyter_taskvalues.exceptions import JobSpecError
from jupyter_taskvalues.jobs.api import open_store, run_job
from jupyter_taskvalues.jobs.plan import plan_bundle, plan_job, render_plan
from jupyter_taskvalues.jobs.scheduler import RunOptions
from jupyter_taskvalues.jobs.spec.loader import load_job

MIXED = Path(__file__).resolve().parents[1] / "fixtures" / "bundles" / "mixed"
STUB = {"warehouse": {"tables": ["sales", "stock"]}}


def _job(path: Path, tasks: list[dict[str, Any]], **settings: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": settings.pop("name", "kinds"), "tasks": tasks, **settings}))
    return path


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    """The mixed bundle copied to a fresh folder, its runs directory, and the document of one full run."""
    root = tmp_path_factory.mktemp("mixed")
    bundle = root / "bundle"
    shutil.copytree(MIXED, bundle)
    runs = root / "runs"
    document = run_job(
        bundle / "databricks.yml",
        job_name="main",
        runs_dir=runs,
        options=RunOptions(max_parallel=2, stubs=STUB),
    )
    return bundle, runs, document


@pytest.mark.slow
def test_mixed_bundle_runs_to_success_with_every_value_in_place(
    mixed: tuple[Path, Path, dict[str, Any]],
) -> None:
    _, _, document = mixed
    tasks = document["tasks"]
    assert document["state"] == "SUCCESS", {k: (t["state"], t["error"]) for k, t in tasks.items()}
    assert tasks["prepare"]["values"] == {"rows": 3}
    assert tasks["count"]["values"] == {"doubled": 6}  # the script got --rows 3 as argv
    assert tasks["tool"]["values"] == {"argv": ["--greeting=hello"]}  # named_parameters as --k=v
    assert tasks["warehouse"]["values"] == {"tables": ["sales", "stock"]}
    assert tasks["warehouse"]["stubbed"] is True
    assert tasks["report"]["values"]["summary"] == {
        "doubled": 6,
        "argv": ["--greeting=hello"],
        "tables": ["sales", "stock"],
        "param": '["sales","stock"]',
    }


@pytest.mark.slow
def test_script_output_goes_to_the_tasks_output_log(mixed: tuple[Path, Path, dict[str, Any]]) -> None:
    _, runs, document = mixed
    with open_store(runs).open_output_log(document["run_id"], "count") as log:
        printed = log.read().decode()
    assert "argv ['--rows', '3']" in printed and "counted" in printed  # its stdout and its stderr
    assert "logs" not in document["tasks"]["count"]  # no separate files to name


@pytest.mark.slow
def test_run_job_task_starts_a_child_run_linked_both_ways(mixed: tuple[Path, Path, dict[str, Any]]) -> None:
    _, runs, document = mixed
    task = document["tasks"]["child"]
    assert task["state"] == "SUCCESS"
    child = open_store(runs).read_run(task["child_run_id"])
    assert (child["parent_run_id"], child["parent_task_key"]) == (document["run_id"], "child")
    assert child["job_name"] == "mixed-child"
    assert child["parameters"] == {"who": "3"}  # job_parameters, references resolved in the parent
    assert open_store(runs).get_value(task["child_run_id"], "greet", "greeted") == "hello 3"


@pytest.mark.slow
def test_disabled_task_and_its_all_success_dependant_are_skipped_as_disabled(
    mixed: tuple[Path, Path, dict[str, Any]],
) -> None:
    tasks = mixed[2]["tasks"]
    for key in ("legacy", "after_legacy"):
        assert (tasks[key]["state"], tasks[key]["termination_code"]) == ("EXCLUDED", "DISABLED")
        assert tasks[key]["attempts"] == []


@pytest.mark.slow
def test_only_with_from_run_reruns_one_task_reading_the_earlier_runs_values(
    mixed: tuple[Path, Path, dict[str, Any]],
) -> None:
    bundle, runs, first = mixed
    document = run_job(
        bundle / "databricks.yml",
        job_name="main",
        runs_dir=runs,
        options=RunOptions(only=("report",), from_run=first["run_id"], stubs=STUB),
    )
    tasks = document["tasks"]
    assert document["state"] == "SUCCESS"
    assert tasks["report"]["values"]["summary"]["doubled"] == 6
    assert tasks["count"]["taken_from_run"] == first["run_id"]
    assert tasks["count"]["values"] == {"doubled": 6}
    assert tasks["report"]["start_time"] > first["tasks"]["report"]["end_time"]


def test_default_run_refuses_a_workspace_task_naming_it_and_the_fix_and_writes_nothing(
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(MIXED, bundle)
    runs = tmp_path / "runs"
    with pytest.raises(JobSpecError) as info:
        run_job(bundle / "databricks.yml", job_name="main", runs_dir=runs)
    message = str(info.value)
    assert "fix this problem" in message
    assert "task 'warehouse' (sql_task)" in message
    assert "--stub warehouse=VALUES.json" in message
    assert not runs.exists()


def test_plan_says_how_each_task_runs_here_in_text_and_json() -> None:
    spec = load_job(MIXED / "databricks.yml", job="main")
    lines = plan_job(spec)
    assert {ln.task_key: ln.status for ln in lines} == {
        "prepare": "runs",
        "count": "runs",
        "tool": "runs",
        "child": "runs",
        "warehouse": "stub needed",
        "legacy": "disabled",
        "after_legacy": "disabled",
        "report": "runs",
    }
    assert lines[4].to_json() == {
        "job": "mixed-main",
        "task_key": "warehouse",
        "type": "sql_task",
        "status": "stub needed",
        "detail": lines[4].detail,
    }
    text = render_plan(lines)
    assert text.splitlines()[0] == "job 'mixed-main':"
    assert text.splitlines()[-1].startswith("1 problem: ")
    stubbed = plan_job(spec, stubs=STUB)
    assert stubbed[4].status == "stubbed"
    assert render_plan(stubbed).splitlines()[-1].startswith("No problems")


def test_plan_bundle_covers_every_job() -> None:
    lines = plan_bundle(MIXED / "databricks.yml")
    assert {ln.job for ln in lines} == {"mixed-main", "mixed-child"}
    assert [ln.task_key for ln in lines if ln.job == "mixed-child"] == ["greet"]


def test_job_tag_stub_feeds_a_script_that_reads_its_values(tmp_path: Path) -> None:
    (tmp_path / "read.py").write_text(
        "from jupyter_taskvalues import dbutils\n"
        "dbutils.jobs.taskValues.set('seen', dbutils.jobs.taskValues.get(taskKey='dbt', key='models'))\n"
    )
    (tmp_path / "stub.json").write_text('{"models": 4}')
    path = _job(
        tmp_path / "job.json",
        [
            {"task_key": "dbt", "dbt_task": {"commands": ["dbt run"]}},
            {
                "task_key": "read",
                "depends_on": [{"task_key": "dbt"}],
                "spark_python_task": {"python_file": "read.py"},
            },
        ],
        tags={"jupyter_taskvalues_stub_dbt": "stub.json"},
    )
    assert plan_job(load_job(path))[0].status == "stubbed"
    document = run_job(path, runs_dir=tmp_path / "runs")
    assert document["state"] == "SUCCESS", document["tasks"]["read"]["error"]
    assert document["tasks"]["read"]["values"] == {"seen": 4}


def test_script_exit_code_fails_the_task_with_the_last_lines_of_stderr(tmp_path: Path) -> None:
    (tmp_path / "fail.py").write_text("import sys\nprint('disk is full', file=sys.stderr)\nsys.exit(3)\n")
    path = _job(tmp_path / "job.json", [{"task_key": "s", "spark_python_task": {"python_file": "fail.py"}}])
    document = run_job(path, runs_dir=tmp_path / "runs")
    task = document["tasks"]["s"]
    assert (document["state"], task["state"]) == ("FAILED", "FAILED")
    assert "exited with code 3" in task["error"] and "disk is full" in task["error"]


def test_script_timeout_kills_its_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    (tmp_path / "slow.py").write_text(
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(marker)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    task = {"task_key": "s", "timeout_seconds": 2, "spark_python_task": {"python_file": "slow.py"}}
    document = run_job(_job(tmp_path / "job.json", [task]), runs_dir=tmp_path / "runs")
    assert document["tasks"]["s"]["state"] == "TIMEDOUT"
    pid = int(marker.read_text())
    status = Path(f"/proc/{pid}/stat")
    assert (
        not status.exists() or status.read_text().split()[2] == "Z"
    )  # gone, or a zombie awaiting its reaper


def test_run_job_task_of_an_outside_job_needs_a_stub(tmp_path: Path) -> None:
    path = _job(tmp_path / "job.json", [{"task_key": "other", "run_job_task": {"job_id": 1234}}])
    line = plan_job(load_job(path))[0]
    assert (line.type, line.status) == ("run_job_task", "stub needed")
    assert "not in this bundle" in line.detail


def test_only_names_an_unknown_task_with_did_you_mean(tmp_path: Path) -> None:
    (tmp_path / "ingest.py").write_text("print('ingested')\n")
    path = _job(
        tmp_path / "job.json", [{"task_key": "ingest", "spark_python_task": {"python_file": "ingest.py"}}]
    )
    with pytest.raises(JobSpecError, match=r"no task 'ingets'; did you mean 'ingest'\?"):
        run_job(path, runs_dir=tmp_path / "runs", options=RunOptions(only=("+ingets",)))
    assert not (tmp_path / "runs").exists()


def test_success_with_failures_has_its_own_exit_code(tmp_path: Path) -> None:
    from jupyter_taskvalues.cli.errors import EXIT_SUCCESS_WITH_FAILURES, exit_code_for_state

    (tmp_path / "fail.py").write_text("raise SystemExit(1)\n")
    (tmp_path / "ok.py").write_text("print('cleaned up')\n")
    tasks = [
        {"task_key": "fail", "spark_python_task": {"python_file": "fail.py"}},
        {
            "task_key": "cleanup",
            "depends_on": [{"task_key": "fail"}],
            "run_if": "ALL_DONE",
            "spark_python_task": {"python_file": "ok.py"},
        },
    ]
    document = run_job(_job(tmp_path / "job.json", tasks), runs_dir=tmp_path / "runs")
    assert document["state"] == "SUCCESS_WITH_FAILURES"
    assert exit_code_for_state(document["state"]) == EXIT_SUCCESS_WITH_FAILURES == 3
    assert [exit_code_for_state(s) for s in ("SUCCESS", "FAILED", "CANCELED", "TIMEDOUT")] == [0, 1, 1, 1]


def test_for_each_runs_a_script_once_per_input_with_the_input_as_argv(tmp_path: Path) -> None:
    (tmp_path / "square.py").write_text(
        "import sys\nfrom jupyter_taskvalues import dbutils\n"
        "dbutils.jobs.taskValues.set('square', int(sys.argv[1]) ** 2)\n"
    )
    nested = {
        "task_key": "sq",
        "spark_python_task": {"python_file": "square.py", "parameters": ["{{input}}"]},
    }
    task = {"task_key": "loop", "for_each_task": {"inputs": "[2, 3]", "concurrency": 2, "task": nested}}
    document = run_job(_job(tmp_path / "job.json", [task]), runs_dir=tmp_path / "runs")
    loop = document["tasks"]["loop"]
    assert loop["state"] == "SUCCESS", [it["error"] for it in loop["iterations"]]
    assert [it["values"] for it in loop["iterations"]] == [{"square": 4}, {"square": 9}]


def _script_task(key: str, source: str, tmp_path: Path, **fields: Any) -> dict[str, Any]:
    (tmp_path / f"{key}.py").write_text(source)
    return {"task_key": key, "spark_python_task": {"python_file": f"{key}.py"}, **fields}


def test_dependants_of_a_disabled_task_follow_databricks_run_if_rules(tmp_path: Path) -> None:
    ok = "print('ok')\n"
    off = _script_task("off", ok, tmp_path, disabled=True)
    on = _script_task("on", ok, tmp_path)
    parents = [{"task_key": "off"}, {"task_key": "on"}]
    tasks = [
        off,
        on,
        _script_task("one_success", ok, tmp_path, depends_on=parents, run_if="AT_LEAST_ONE_SUCCESS"),
        _script_task("all_done", ok, tmp_path, depends_on=[{"task_key": "off"}], run_if="ALL_DONE"),
        _script_task("all_success", ok, tmp_path, depends_on=parents),
        _script_task("none_failed", ok, tmp_path, depends_on=[{"task_key": "off"}], run_if="NONE_FAILED"),
    ]
    path = _job(tmp_path / "job.json", tasks)
    document = run_job(path, runs_dir=tmp_path / "runs")
    states = {k: (t["state"], t.get("termination_code")) for k, t in document["tasks"].items()}
    assert states == {
        "off": ("EXCLUDED", "DISABLED"),
        "on": ("SUCCESS", None),
        "one_success": ("SUCCESS", None),  # judged by its other parent
        "all_done": ("SUCCESS", None),  # a disabled parent counts as done
        "all_success": ("EXCLUDED", "DISABLED"),  # a disabled parent does not satisfy "succeeded"
        "none_failed": ("EXCLUDED", "DISABLED"),  # every parent disabled
    }
    assert document["state"] == "SUCCESS"
    planned = {ln.task_key: ln.status for ln in plan_job(load_job(path))}
    assert planned == {
        "off": "disabled",
        "on": "runs",
        "one_success": "runs",
        "all_done": "runs",
        "all_success": "disabled",
        "none_failed": "disabled",
    }


def test_a_failed_child_run_fails_its_run_job_task_naming_the_child(tmp_path: Path) -> None:
    (tmp_path / "boom.py").write_text("raise SystemExit(2)\n")
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: b}\nresources:\n  jobs:\n"
        "    parent:\n      tasks:\n        - task_key: call\n"
        "          run_job_task: {job_id: '${resources.jobs.kid.id}'}\n"
        "    kid:\n      tasks:\n        - task_key: boom\n          spark_python_task: {python_file: boom.py}\n"
    )
    document = run_job(tmp_path / "databricks.yml", job_name="parent", runs_dir=tmp_path / "runs")
    task = document["tasks"]["call"]
    assert (document["state"], task["state"], task["child_result_state"]) == ("FAILED", "FAILED", "FAILED")
    assert f"The child run {task['child_run_id']} of job 'kid' ended FAILED." == task["error"]


def test_script_output_streams_to_a_watching_observer_and_is_kept(tmp_path: Path) -> None:
    from jupyter_taskvalues.jobs.hooks import RunHooks, streaming_output

    class Watcher(RunHooks):
        def __init__(self) -> None:
            self.seen: list[tuple[str, str, str]] = []

        def task_output(self, run_id: str, task_key: str, stream: str, text: str) -> None:
            self.seen.append((task_key, stream, text))

    task = _script_task("talk", "import sys\nprint('to out')\nprint('to err', file=sys.stderr)\n", tmp_path)
    watcher = Watcher()
    with streaming_output(watcher):
        document = run_job(_job(tmp_path / "job.json", [task]), runs_dir=tmp_path / "runs")
    assert document["state"] == "SUCCESS"
    streams = {
        name: "".join(t for k, n, t in watcher.seen if (k, n) == ("talk", name))
        for name in ("stdout", "stderr")
    }
    assert streams == {"stdout": "to out\n", "stderr": "to err\n"}
    with open_store(tmp_path / "runs").open_output_log(document["run_id"], "talk") as log:
        assert sorted(log.read().decode().splitlines()) == ["to err", "to out"]


def _bundle_of_run_jobs(tmp_path: Path, calls: dict[str, str]) -> Path:
    jobs = "".join(
        f"    {job}:\n      tasks:\n        - task_key: call\n"
        f"          run_job_task: {{job_id: '${{resources.jobs.{target}.id}}'}}\n"
        for job, target in calls.items()
    )
    path = tmp_path / "databricks.yml"
    path.write_text(f"bundle: {{name: b}}\nresources:\n  jobs:\n{jobs}")
    return path


def test_run_job_task_naming_a_job_the_bundle_lacks_is_a_validation_problem(tmp_path: Path) -> None:
    path = _bundle_of_run_jobs(tmp_path, {"first": "secnod", "second": "first"})
    with pytest.raises(JobSpecError) as info:
        load_job(path, job="first")
    # Caught by the loader's run_job check, or earlier by ${resources...} substitution: one problem either way.
    (problem,) = info.value.problems
    assert "'secnod'" in problem and "second" in problem


def test_a_run_job_cycle_is_a_validation_problem_naming_the_cycle(tmp_path: Path) -> None:
    path = _bundle_of_run_jobs(tmp_path, {"a": "b", "b": "c", "c": "a"})
    with pytest.raises(
        JobSpecError, match=r"run_job cycle a -> b -> c -> a: the runs would start each other"
    ):
        load_job(path, job="a")


def test_wheel_entry_point_missing_from_metadata_runs_the_package_function(tmp_path: Path) -> None:
    project = tmp_path / "pkg"
    (project / "src" / "plain_pkg").mkdir(parents=True)
    (project / "src" / "plain_pkg" / "__init__.py").write_text(
        "import sys\n\ndef go():\n    from jupyter_taskvalues import dbutils\n\n"
        "    dbutils.jobs.taskValues.set('argv', sys.argv)\n"
    )
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "plain-pkg"\nversion = "1.0"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["src/plain_pkg"]\n'
    )
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: b}\nartifacts: {pkg: {type: whl, path: ./pkg}}\nresources:\n  jobs:\n    j:\n"
        "      tasks:\n        - task_key: w\n          python_wheel_task:\n"
        "            {package_name: plain-pkg, entry_point: go, parameters: ['a', 'b c']}\n"
    )
    document = run_job(tmp_path / "databricks.yml", runs_dir=tmp_path / "runs")
    task = document["tasks"]["w"]
    assert task["state"] == "SUCCESS", task["error"]
    assert task["values"] == {"argv": ["go", "a", "b c"]}
