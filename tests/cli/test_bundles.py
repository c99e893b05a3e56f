"""Bundle options on the command line: --target, --var, and validate over every job of a bundle."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from jupyter_taskvalues.store import open_store
from tests.cli.inprocess import run_main
from tests.jobhelpers import notebook

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "jobs"


def _bundle(tmp_path: Path) -> Path:
    notebook(tmp_path / "a.ipynb", "pass")
    (tmp_path / "databricks.yml").write_text(
        textwrap.dedent(
            """\
            bundle:
              name: cli_bundle
            variables:
              catalog:
                default: dev_catalog
            targets:
              dev:
                default: true
              prod:
                variables:
                  catalog: prod_catalog
            resources:
              jobs:
                load:
                  name: load
                  tasks:
                    - task_key: a
                      notebook_task:
                        notebook_path: ./a.ipynb
                        base_parameters:
                          catalog: ${var.catalog}
            """
        )
    )
    return tmp_path / "databricks.yml"


@pytest.mark.parametrize(
    ("flags", "catalog"),
    [
        ([], "dev_catalog"),
        (["--target", "prod"], "prod_catalog"),
        (["-t", "prod", "--var", "catalog=mine"], "mine"),
    ],
)
def test_run_applies_the_target_and_variables(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    runs_dir: Path,
    recording: type,
    flags: list[str],
    catalog: str,
) -> None:
    code, out, err = run_main(
        capsys, "run", str(_bundle(tmp_path)), "--executor", "pretend", "--json", *flags
    )
    assert code == 0, err
    assert json.loads(out)["tasks"]["a"]["parameters"] == {"catalog": catalog}


def test_a_var_without_a_value_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runs_dir: Path
) -> None:
    code, _, err = run_main(capsys, "run", str(_bundle(tmp_path)), "--var", "catalog")
    assert code == 2
    assert err.strip() == "error: --var 'catalog' is not NAME=VALUE; write it as --var catalog=value."


def test_validate_checks_every_job_of_a_bundle(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(FIXTURES / "bundle", bundle)
    code, out, err = run_main(capsys, "validate", str(bundle / "databricks.yml"))
    assert code == 0, err
    assert sum(" is valid: " in line for line in out.splitlines()) == 2
    assert "No problems" in out
    one = run_main(capsys, "validate", str(bundle / "databricks.yml"), "--job", "etl_job", "-t", "prod")
    assert one[0] == 0 and sum(" is valid: " in line for line in one[1].splitlines()) == 1

    (bundle / "src" / "score.ipynb").unlink()  # one job of the two now names a missing notebook
    code, out, err = run_main(capsys, "validate", str(bundle / "databricks.yml"))
    assert code == 2
    assert sum(" is valid: " in line for line in out.splitlines()) == 1
    assert "score" in err and err.rstrip().endswith(
        f"error: 1 of the 2 jobs of {bundle / 'databricks.yml'} are invalid (see above)."
    )


def _one_job_bundle(tmp_path: Path, name: str, tasks: str) -> Path:
    """A bundle whose job ``load`` has ``tasks`` (YAML list items, indented as in the file)."""
    notebook(tmp_path / "a.ipynb", "pass")
    (tmp_path / "databricks.yml").write_text(
        f"bundle:\n  name: {name}\nresources:\n  jobs:\n    load:\n      name: load\n      tasks:\n"
        + textwrap.indent(textwrap.dedent(tasks), " " * 8)
    )
    return tmp_path / "databricks.yml"


def _user_bundle(tmp_path: Path) -> Path:
    return _one_job_bundle(
        tmp_path,
        "who",
        """\
        - task_key: a
          notebook_task:
            notebook_path: ./a.ipynb
            base_parameters:
              owner: ${workspace.current_user.userName}
        """,
    )


def test_user_sets_the_bundle_identity_and_overrides_the_environment(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    runs_dir: Path,
    recording: type,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JUPYTER_TASKVALUES_USER", "from-env@example.com")
    path = str(_user_bundle(tmp_path))
    code, out, err = run_main(capsys, "run", path, "--executor", "pretend", "--json")
    assert code == 0, err
    assert json.loads(out)["tasks"]["a"]["parameters"] == {"owner": "from-env@example.com"}
    code, out, err = run_main(
        capsys, "run", path, "--executor", "pretend", "--json", "--user", "ada@example.com"
    )
    assert code == 0, err
    assert json.loads(out)["tasks"]["a"]["parameters"] == {"owner": "ada@example.com"}
    assert run_main(capsys, "validate", path, "--user", "ada@example.com")[0] == 0


def _near_miss_bundle(tmp_path: Path) -> Path:
    return _one_job_bundle(
        tmp_path,
        "near_miss",
        """\
        - task_key: a
          notebook_task: {notebook_path: ./a.ipynb}
        - task_key: b
          depend_on: [{task_key: a}]
          notebook_task: {notebook_path: ./a.ipynb}
        """,
    )


def test_validate_warns_of_unknown_fields_on_stderr_and_still_exits_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _near_miss_bundle(tmp_path)
    warning = (
        f"{path}: line 11: tasks[1] (task_key 'b'): unknown field 'depend_on' is ignored; did you mean "
        "'depends_on'?"
    )
    code, out, err = run_main(capsys, "validate", str(path))
    assert code == 0, err
    assert "Job 'load' is valid: 2 tasks" in out and "warning" not in out
    assert err.strip() == f"warning: {warning}"
    code, out, err = run_main(capsys, "validate", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["jobs"] == [{"job": "load", "valid": True, "error": None, "warnings": [warning]}]


def test_validate_json_keeps_the_warnings_of_an_invalid_job(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _near_miss_bundle(tmp_path)
    path.write_text(
        path.read_text().replace("{notebook_path: ./a.ipynb}\n    ", "{notebook_pth: x}\n    ", 1)
    )
    code, out, _ = run_main(capsys, "validate", str(path), "--json")
    assert code == 2
    (job,) = json.loads(out)["jobs"]
    assert job["valid"] is False and "notebook_path is missing" in job["error"]
    assert [w.split(": ", 2)[2] for w in job["warnings"]] == [
        "tasks[0] (task_key 'a').notebook_task: unknown field 'notebook_pth' is ignored; did you mean "
        "'notebook_path'?",
        "tasks[1] (task_key 'b'): unknown field 'depend_on' is ignored; did you mean 'depends_on'?",
    ]


def test_run_prints_the_warnings_before_it_starts_and_records_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runs_dir: Path, recording: type
) -> None:
    path = _near_miss_bundle(tmp_path)
    code, out, err = run_main(capsys, "run", str(path), "--executor", "pretend", "--json", "--no-progress")
    assert code == 0, err
    document = json.loads(out)
    (warning,) = document["warnings"]
    assert warning.endswith("unknown field 'depend_on' is ignored; did you mean 'depends_on'?")
    assert err.startswith(f"warning: {warning}\n")
    assert open_store(runs_dir).read_run(document["run_id"])["warnings"] == [warning]
