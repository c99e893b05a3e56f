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

    code, _, err = run_main(capsys, "repair", document["run_id"], "--task", "b", "--executor", "pretend")
    assert code == 0 and err.startswith(f"warning: {warning}\n")  # repair reads the file again, and says so
    path.write_text(path.read_text().replace("depend_on:", "depends_on:"))
    code, _, err = run_main(capsys, "repair", document["run_id"], "--task", "b", "--executor", "pretend")
    assert code == 0 and "warning" not in err
    assert open_store(runs_dir).read_run(document["run_id"])["warnings"] == []


def _bundle_with_targets(tmp_path: Path, name: str, *, variables: str, prod: str, jobs: str) -> Path:
    """A bundle of notebook ``a.ipynb`` with a ``greeting`` variable (and ``variables``), targets ``dev``
    (the default) and ``prod`` (``prod`` its settings), and the ``jobs`` given (YAML under ``jobs:``)."""
    notebook(tmp_path / "a.ipynb", "pass")
    path = tmp_path / "databricks.yml"
    header = f"""\
bundle: {{name: {name}}}
variables:
  greeting: {{default: hello}}
{textwrap.indent(textwrap.dedent(variables), "  ")}targets:
  dev: {{default: true}}
  prod: {prod}
resources:
  jobs:
"""
    path.write_text(header + textwrap.indent(textwrap.dedent(jobs), "    "))
    return path


def _repair_bundle(tmp_path: Path) -> Path:
    """A bundle whose task's parameters show the target, a variable per target and the identity."""
    return _bundle_with_targets(
        tmp_path,
        "repaired",
        variables='suffix: {default: ""}\n',
        prod="{variables: {greeting: hello-prod}}",
        jobs="""\
            load:
              tasks:
                - task_key: a
                  notebook_task:
                    notebook_path: ./a.ipynb
                    base_parameters:
                      greeting: ${var.greeting}${var.suffix}
                      where: ${bundle.target}
                      owner: ${workspace.current_user.userName}
            """,
    )


def _repair(capsys: pytest.CaptureFixture[str], run_id: str, *flags: str) -> tuple[dict[str, str], str]:
    """Repair task ``a`` of ``run_id`` with ``flags``; return the parameters it ran with, and stderr."""
    code, out, err = run_main(
        capsys, "repair", run_id, "--task", "a", *flags, "--executor", "pretend", "--json", "--no-progress"
    )
    assert code == 0, err
    return json.loads(out)["tasks"]["a"]["parameters"], err


def _run_in_prod(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> tuple[str, dict[str, str]]:
    """Run the :func:`_repair_bundle` job in target prod with a --var and a --user; its run id and parameters."""
    code, out, err = run_main(
        capsys, "run", str(_repair_bundle(tmp_path)), "-t", "prod", "--var", "suffix=!",
        "--user", "ada@example.com", "--executor", "pretend", "--json", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    document = json.loads(out)
    return document["run_id"], document["tasks"]["a"]["parameters"]


def test_repair_reuses_the_runs_target_variables_and_user_and_flags_override_them(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    runs_dir: Path,
    recording: type,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_id, first = _run_in_prod(capsys, tmp_path)
    assert first == {"greeting": "hello-prod!", "where": "prod", "owner": "ada@example.com"}

    monkeypatch.setenv("JUPYTER_TASKVALUES_USER", "someone.else@example.com")  # the recorded user wins
    parameters, err = _repair(capsys, run_id)
    assert parameters == first and "note:" not in err
    parameters, err = _repair(capsys, run_id, "--var", "suffix=?", "--user", "bob@example.com")
    assert parameters == {"greeting": "hello-prod?", "where": "prod", "owner": "bob@example.com"}
    assert "note:" not in err
    record = open_store(runs_dir).read_run(run_id)
    assert (record["target"], record["variables"], record["user"]) == (
        "prod",
        {"greeting": "hello-prod", "suffix": "?"},
        "bob@example.com",
    )


def test_repair_with_another_target_notes_it_and_resolves_the_variables_for_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runs_dir: Path, recording: type
) -> None:
    run_id, _ = _run_in_prod(capsys, tmp_path)

    parameters, err = _repair(capsys, run_id, "--target", "dev")

    # dev's greeting, not prod's; the recorded suffix is not reused (it was resolved for prod); the user is
    assert parameters == {"greeting": "hello", "where": "dev", "owner": "ada@example.com"}
    assert err.startswith(
        f"note: run {run_id} ran with target 'prod'; this repair reads the bundle with target 'dev', its "
        "variables as that target resolves them.\n"
    )
    again, err = _repair(capsys, run_id)  # the next repair reads the bundle as the last one did
    assert again == parameters and "note:" not in err


def test_repair_with_a_target_the_bundle_lacks_is_refused_naming_the_targets(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runs_dir: Path, recording: type
) -> None:
    path = _repair_bundle(tmp_path)
    code, out, _ = run_main(capsys, "run", str(path), "--executor", "pretend", "--json", "--no-progress")
    run_id = json.loads(out)["run_id"]
    before = open_store(runs_dir).read_run(run_id)

    code, _, err = run_main(capsys, "repair", run_id, "-t", "stage", "--executor", "pretend", "--no-progress")

    assert code == 2
    assert "stage" in err and "dev" in err and "prod" in err
    assert open_store(runs_dir).read_run(run_id) == before


def test_the_child_run_of_a_run_job_task_reads_the_bundle_as_the_parent(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runs_dir: Path, recording: type
) -> None:
    _bundle_with_targets(
        tmp_path,
        "parent_child",
        variables="",
        prod="{}",
        jobs="""\
            child:
              tasks:
                - task_key: c
                  notebook_task:
                    notebook_path: ./a.ipynb
                    base_parameters:
                      seen: ${bundle.target} ${var.greeting} ${workspace.current_user.userName}
            parent:
              tasks:
                - task_key: start_child
                  run_job_task: {job_id: "${resources.jobs.child.id}"}
            """,
    )
    code, out, err = run_main(
        capsys, "run", str(tmp_path / "databricks.yml"), "--job", "parent", "-t", "prod", "--var", "greeting=hi",
        "--user", "ada@example.com", "--executor", "pretend", "--json", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    child_run_id = json.loads(out)["tasks"]["start_child"]["child_run_id"]
    code, out, err = run_main(capsys, "show", child_run_id, "--json")
    assert code == 0, err
    assert json.loads(out)["tasks"]["c"]["parameters"] == {"seen": "prod hi ada@example.com"}
