"""A bundle run records its target and variables, and repair reads the bundle again with them."""

from __future__ import annotations

from pathlib import Path

from jupyter_taskvalues import repair_run, run_job
from jupyter_taskvalues.jobs.spec.loader import load_job
from jupyter_taskvalues.store import open_store
from tests.jobhelpers import notebook


def test_run_records_the_target_and_repair_reuses_it(tmp_path: Path, runs_dir: Path) -> None:
    flag = tmp_path / "flag"
    notebook(
        tmp_path / "greet.ipynb",
        f"import os\nif not os.path.exists({str(flag)!r}):\n    raise RuntimeError('not yet')\n"
        "dbutils.jobs.taskValues.set('greeting', dbutils.widgets.get('greeting'))",
    )
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: runs_demo}\n"
        "variables:\n  greeting: {default: hello}\n  suffix: {}\n"
        "targets:\n  dev: {default: true}\n  prod: {variables: {greeting: hello-prod}}\n"
        "resources:\n  jobs:\n    greet:\n      tasks:\n        - task_key: greet\n"
        "          notebook_task:\n            notebook_path: greet.ipynb\n"
        "            base_parameters: {greeting: '${var.greeting}${var.suffix}', job: '{{job.id}}'}\n"
    )
    spec = load_job(tmp_path, target="prod", variables={"suffix": "!"})
    first = run_job(spec, runs_dir=runs_dir)
    assert first["state"] == "FAILED"
    record = open_store(runs_dir).read_run(first["run_id"])
    assert record["target"] == "prod"
    assert record["variables"] == {"greeting": "hello-prod", "suffix": "!"}
    assert first["job_id"] == spec.job_id and spec.job_id

    flag.write_text("yes")
    repaired = repair_run(first["run_id"], runs_dir=runs_dir)
    assert repaired["state"] == "SUCCESS"
    assert repaired["tasks"]["greet"]["values"] == {"greeting": "hello-prod!"}  # not the dev default
