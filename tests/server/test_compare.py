"""The routes that describe job files and compare runs: jobs, matrix, history, diff (runs made by the test)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_taskvalues.store import RunStore
from tests.jobhelpers import notebook

from .conftest import Fetch, body

MakeRun = Callable[..., str]

BUNDLE = """\
bundle:
  name: demo
targets:
  dev:
    default: true
  prod:
    resources:
      jobs:
        etl:
          parameters:
            - name: env
              default: prod
resources:
  jobs:
    etl:
      name: etl
      parameters:
        - name: env
          default: dev
      tasks:
        - task_key: ingest
          notebook_task: {notebook_path: ./a.ipynb}
        - task_key: train
          depends_on: [{task_key: ingest}]
          notebook_task: {notebook_path: ./a.ipynb}
    report:
      name: report
      tasks:
        - task_key: summary
          notebook_task: {notebook_path: ./a.ipynb}
"""


async def test_jobs_describes_the_jobs_targets_and_parameters_of_a_bundle(
    api: Fetch, jp_root_dir: Path
) -> None:
    (jp_root_dir / "demo").mkdir()
    notebook(jp_root_dir / "demo" / "a.ipynb", "x = 1")
    (jp_root_dir / "demo" / "databricks.yml").write_text(BUNDLE)

    described = body(await api("jobs", params={"path": "demo/databricks.yml"}))
    prod = body(await api("jobs", params={"path": "demo/databricks.yml", "target": "prod"}))

    assert described["path"] == "demo/databricks.yml"
    assert described["problems"] == []
    assert described["targets"] == ["dev", "prod"]
    assert described["default_target"] == "dev"
    etl, report = described["jobs"]
    assert (etl["name"], etl["tasks"], etl["parameters"]) == (
        "etl",
        ["ingest", "train"],
        [{"name": "env", "default": "dev"}],
    )
    assert (report["name"], report["tasks"], report["parameters"]) == ("report", ["summary"], [])
    assert prod["jobs"][0]["parameters"] == [{"name": "env", "default": "prod"}]


async def test_jobs_of_a_file_that_is_not_a_job_lists_the_problem(api: Fetch, jp_root_dir: Path) -> None:
    (jp_root_dir / "notes.json").write_text("[1, 2]")

    described = body(await api("jobs", params={"path": "notes.json"}))

    assert described["jobs"] == []
    assert described["problems"] and "not a job definition" in described["problems"][0]


def _runs(make_run: MakeRun, store: RunStore, rows: list[Any], job_name: str = "income") -> list[str]:
    ids = []
    for i, value in enumerate(rows):
        run_id = make_run(run_id=f"20261129-0{i}0000-000-aaaaaa", job_name=job_name, values={"rows": value})
        store.write_task(
            run_id, "train", {"state": "FAILED" if i == 1 else "SUCCESS", "parameters": {"lr": str(i)}}
        )
        ids.append(run_id)
    return ids


async def test_matrix_shows_the_latest_runs_of_a_job_with_each_task_state_newest_first(
    api: Fetch, make_run: MakeRun, store: RunStore
) -> None:
    ids = _runs(make_run, store, [1, 2, 3])
    make_run(run_id="20261129-090000-000-bbbbbb", job_name="other")

    matrix = body(await api("matrix", params={"job": "income", "limit": "2"}))

    assert matrix["job_name"] == "income"
    assert matrix["tasks"] == ["ingest", "train"]
    assert [r["run_id"] for r in matrix["runs"]] == [ids[2], ids[1]]
    assert matrix["runs"][1]["tasks"] == {"ingest": "SUCCESS", "train": "FAILED"}
    assert matrix["runs"][0]["state"] == "SUCCESS"
    assert matrix["runs"][0]["start_time"] == "2026-11-29T04:47:35.123Z"


async def test_history_gives_a_value_across_runs_oldest_first_skipping_runs_without_it(
    api: Fetch, make_run: MakeRun, store: RunStore
) -> None:
    ids = _runs(make_run, store, [10, 20, 30])
    store.clear_task_values(ids[1], "ingest")

    history = body(await api("history", params={"job": "income", "task": "ingest", "key": "rows"}))

    assert [(p["run_id"], p["value"]) for p in history["points"]] == [(ids[0], 10), (ids[2], 30)]
    assert all(p["start_time"] for p in history["points"])


async def test_diff_compares_values_and_resolved_parameters_of_two_runs(
    api: Fetch, make_run: MakeRun, store: RunStore
) -> None:
    a, b = _runs(make_run, store, [1, 1])
    store.set_value(b, "ingest", "extra", "<script>")

    diff = body(await api("diff", params={"a": a, "b": b}))

    assert (diff["a"], diff["b"]) == (a, b)
    values = {(row["task_key"], row["key"]): row for row in diff["values"]}
    assert values[("ingest", "rows")] == {
        "task_key": "ingest",
        "key": "rows",
        "a": 1,
        "b": 1,
        "changed": False,
    }
    assert values[("ingest", "extra")]["a"] is None
    assert values[("ingest", "extra")]["b"] == "<script>"
    assert values[("ingest", "extra")]["changed"] is True
    parameters = {(row["task_key"], row["name"]): row for row in diff["parameters"]}
    assert parameters[("train", "lr")]["a"] == "0"
    assert parameters[("train", "lr")]["b"] == "1"
    assert parameters[("train", "lr")]["changed"] is True
    assert parameters[("ingest", "source")]["changed"] is False


async def test_compare_routes_need_their_arguments_and_known_runs(api: Fetch, make_run: MakeRun) -> None:
    run_id = make_run()

    assert (await api("matrix")).code == 400
    assert (await api("history", params={"job": "income", "task": "ingest"})).code == 400
    assert (await api("diff", params={"a": run_id, "b": "20261129-040000-000-ffffff"})).code == 404
    assert (await api("diff", params={"a": run_id, "b": "../x"})).code == 400
    assert (await api("matrix", params={"job": "income", "limit": "0"})).code == 400
