"""Bundles read as the Databricks CLI reads them: targets, variables, ``${...}`` references, Python jobs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jupyter_taskvalues.exceptions import JobSpecError
from jupyter_taskvalues.jobs.spec.loader import list_jobs, load_job
from jupyter_taskvalues.jobs.spec.sources import read_jobs

BUNDLES = Path(__file__).parents[1] / "fixtures" / "bundles"
TARGETS = BUNDLES / "targets"
REFERENCES = BUNDLES / "references"
PYTHON_JOBS = BUNDLES / "python_jobs"


def extract_parameters(**kwargs: object) -> dict[str, object]:
    (raw,) = read_jobs(TARGETS, **kwargs)  # type: ignore[arg-type]
    params: dict[str, object] = raw.settings["tasks"][0]["notebook_task"]["base_parameters"]
    return params


@pytest.fixture(autouse=True)
def _no_bundle_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("BUNDLE_VAR_") or name == "JUPYTER_TASKVALUES_USER":
            monkeypatch.delenv(name)


def test_variable_default_applies_when_nothing_else_sets_it() -> None:
    assert extract_parameters()["from_default"] == "plain-default"


def test_target_variable_beats_the_default() -> None:
    assert extract_parameters()["from_target"] == "dev-target"
    assert extract_parameters(target="prod", variables={"warehouse_id": "w"})["from_target"] == "prod-target"


def test_environment_variable_beats_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUNDLE_VAR_from_env", "from-environment")
    assert extract_parameters()["from_env"] == "from-environment"


def test_flag_beats_the_environment_and_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUNDLE_VAR_from_flag", "from-environment")
    assert extract_parameters(variables={"from_flag": "from-flag"})["from_flag"] == "from-flag"


def test_variable_default_referencing_another_variable_resolves() -> None:
    assert extract_parameters()["table"] == "dev-target_events"
    assert extract_parameters(variables={"from_target": "x"})["table"] == "x_events"


def test_complex_variable_keeps_its_shape_and_its_fields_resolve() -> None:
    (raw,) = read_jobs(TARGETS)
    assert raw.settings["job_clusters"][0]["new_cluster"] == {
        "spark_version": "15.4.x-scala2.12",
        "num_workers": 2,
    }
    assert extract_parameters()["workers"] == 2


def test_complex_variable_given_as_json_on_the_command_line() -> None:
    params = extract_parameters(variables={"cluster_conf": '{"num_workers": 8}'})
    assert params["workers"] == 8


def test_lookup_variable_needs_a_value_outside_a_workspace() -> None:
    with pytest.raises(JobSpecError) as info:
        read_jobs(TARGETS, target="prod")
    message = str(info.value)
    assert "${var.warehouse_id}" in message
    assert "warehouse 'Shared SQL'" in message
    assert "needs a Databricks workspace" in message
    assert "--var warehouse_id=VALUE" in message
    assert "line 76: resources.jobs.nightly.tasks[0].notebook_task.base_parameters.warehouse" in message
    params = extract_parameters(target="prod", variables={"warehouse_id": "wh-1"})
    assert params["warehouse"] == "wh-1"


def test_target_resources_merge_tasks_and_parameters_by_key() -> None:
    spec = load_job(TARGETS, target="prod", variables={"warehouse_id": "wh"})
    assert spec.task_keys == ("extract", "publish")
    extract = spec.task("extract")
    assert extract.timeout_seconds == 600  # from the target
    assert extract.max_retries == 2  # kept from the top level
    assert spec.parameter_defaults() == {"mode": "prod", "region": "eu"}
    assert spec.max_concurrent_runs == 3
    assert spec.name == "nightly-prod"  # production mode: no prefix


def test_development_mode_prefixes_the_job_name_with_the_short_user_name() -> None:
    spec = load_job(TARGETS, user="Ada.Lovelace@example.com")
    assert spec.name == "[dev ada_lovelace] nightly-dev"
    assert spec.target == "dev"
    assert spec.variables["from_target"] == "dev-target"
    assert spec.variables["table"] == "dev-target_events"


def test_local_user_setting_is_the_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_TASKVALUES_USER", "grace@example.com")
    assert load_job(TARGETS).name == "[dev grace] nightly-dev"


def test_unknown_target_names_the_targets_and_the_fix() -> None:
    with pytest.raises(JobSpecError) as info:
        list_jobs(TARGETS, target="stagin")
    message = str(info.value)
    assert str(TARGETS / "databricks.yml") in message
    assert "target 'stagin' is not defined (targets: dev, prod)" in message
    assert "--target NAME" in message


def test_several_targets_without_a_default_need_one_chosen(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: b}\ntargets: {a: {}, b: {}}\n"
        "resources: {jobs: {j: {tasks: [{task_key: t, notebook_task: {notebook_path: x.py}}]}}}\n"
    )
    with pytest.raises(JobSpecError, match=r"several targets \(a, b\).*--target NAME"):
        read_jobs(tmp_path)
    assert read_jobs(tmp_path, target="b")[0].target == "b"


def test_default_target_setting_and_the_only_target_are_chosen(tmp_path: Path) -> None:
    job = "resources: {jobs: {j: {name: '${bundle.target}', tasks: [{task_key: t}]}}}\n"
    (tmp_path / "databricks.yml").write_text(
        f"bundle: {{name: b}}\ndefault_target: b\ntargets: {{a: {{}}, b: {{}}}}\n{job}"
    )
    assert read_jobs(tmp_path)[0].settings["name"] == "b"
    (tmp_path / "databricks.yml").write_text(f"bundle: {{name: b}}\ntargets: {{solo: {{}}}}\n{job}")
    assert read_jobs(tmp_path)[0].settings["name"] == "solo"


def test_a_value_for_an_undeclared_variable_is_refused() -> None:
    with pytest.raises(JobSpecError, match=r"no variable 'from_flg'.*did you mean 'from_flag'"):
        read_jobs(TARGETS, variables={"from_flg": "x"})


def test_reference_loop_is_an_error_naming_the_chain(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: b}\nvariables:\n  a: {default: '${var.b}-x'}\n  b: {default: '${var.a}'}\n"
        "resources: {jobs: {j: {name: '${var.a}', tasks: [{task_key: t}]}}}\n"
    )
    with pytest.raises(JobSpecError) as info:
        read_jobs(tmp_path)
    message = str(info.value)
    assert "resources.jobs.j.name" in message
    assert "loop: ${var.a} -> ${var.b} -> ${var.a}" in message


def test_variable_without_a_value_names_every_way_to_give_one(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: b}\nvariables:\n  catalog: {description: where}\n"
        "resources: {jobs: {j: {name: 'n-${var.catalog}', tasks: [{task_key: t}]}}}\n"
    )
    with pytest.raises(JobSpecError) as info:
        read_jobs(tmp_path)
    message = str(info.value)
    assert (
        "line 4: resources.jobs.j.name: ${var.catalog}: bundle variable 'catalog' has no default" in message
    )
    assert "--var catalog=VALUE" in message and "BUNDLE_VAR_catalog" in message
    assert read_jobs(tmp_path, variables={"catalog": "main"})[0].settings["name"] == "n-main"


def test_resource_workspace_and_git_references_resolve() -> None:
    (raw,) = read_jobs(REFERENCES, user="Jane.Doe@example.com")
    params = raw.settings["tasks"][0]["notebook_task"]["base_parameters"]
    assert raw.settings["name"] == "ingest for Jane.Doe@example.com"
    assert params["volume_path"] == "/Volumes/main/raw_jane_doe/landing"
    assert params["volume_id"] == "main.raw_jane_doe.landing"
    assert params["short"] == "jane_doe"
    assert params["friendly"] == "jane_doe_example_com"
    assert params["files"] == "/Workspace/Users/Jane.Doe@example.com/.bundle/refs_demo/dev/files"
    assert params["artifacts"] == "/Volumes/main/raw/artifacts"  # workspace.artifact_path overrides
    assert params["branch"] == "release-1"  # bundle.git.branch overrides git
    assert raw.job_id is not None and raw.job_id.isdigit()
    assert params["job"] == raw.job_id


def test_target_workspace_paths_override_the_default_root() -> None:
    (raw,) = read_jobs(REFERENCES, target="staging", user="u@example.com")
    params = raw.settings["tasks"][0]["notebook_task"]["base_parameters"]
    assert params["files"] == "/Shared/refs_demo/staging/files"
    assert params["state"] == "/Shared/refs_demo/staging/state"
    assert params["env"] == "staging"


def test_local_job_id_is_stable_and_distinct_per_job() -> None:
    first = load_job(REFERENCES, user="a@example.com").job_id
    again = load_job(REFERENCES, user="b@example.com").job_id
    assert first and first == again
    assert load_job(TARGETS).job_id not in (None, "", first)


def test_unknown_resource_reference_is_an_error_not_literal_text(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: b}\nresources:\n  volumes: {v: {catalog_name: c, schema_name: s, name: v}}\n"
        "  jobs: {j: {name: '${resources.volumes.w.name}', tasks: [{task_key: t}]}}\n"
    )
    with pytest.raises(
        JobSpecError, match=r"\$\{resources\.volumes\.w\.name\}: resources\.volumes has no 'w'"
    ):
        read_jobs(tmp_path)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is part of the test environment")
def test_git_fields_come_from_the_local_checkout(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=tmp_path, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    git("init", "-q", "-b", "feature-x")
    git("remote", "add", "origin", "https://example.com/repo.git")
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: b}\nresources: {jobs: {j: {name: '${bundle.git.branch}@${bundle.git.commit}', "
        "description: '${bundle.git.origin_url}', tasks: [{task_key: t}]}}}\n"
    )
    git("add", "databricks.yml")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init")
    (raw,) = read_jobs(tmp_path)
    assert raw.settings["name"] == f"feature-x@{git('rev-parse', 'HEAD')}"
    assert raw.settings["description"] == "https://example.com/repo.git"


def test_git_reference_outside_a_checkout_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: b}\nresources: {jobs: {j: {name: '${bundle.git.commit}', tasks: [{task_key: t}]}}}\n"
    )
    env_dir = tmp_path  # not a checkout: tmp_path is outside the project
    with pytest.raises(JobSpecError, match=r"Set bundle\.git\.commit in databricks\.yml"):
        read_jobs(env_dir)


def test_python_defined_jobs_join_the_yaml_jobs_with_the_target_and_mutators() -> None:
    assert list_jobs(PYTHON_JOBS) == ["yaml_job", "py_job"]
    spec = load_job(PYTHON_JOBS, "py_job", target="prod")
    assert spec.name == "py-job-prod"
    (task,) = spec.tasks
    assert task.notebook is not None
    assert task.notebook.base_parameters == {"greeting": "hello from prod"}
    assert task.notebook.path == PYTHON_JOBS / "src" / "hello.py"
    raws = read_jobs(PYTHON_JOBS)
    assert [r.settings["tags"] for r in raws] == [{"target": "dev"}, {"target": "dev"}]


def test_python_jobs_without_the_package_name_the_extra() -> None:
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["databricks.bundles"] = None
        sys.modules["databricks.bundles.core"] = None
        from jupyter_taskvalues.exceptions import JobSpecError
        from jupyter_taskvalues.jobs.spec.sources import read_jobs
        try:
            read_jobs({str(PYTHON_JOBS)!r})
        except JobSpecError as e:
            print(e)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "defines its resources (jobs) in Python" in done.stdout
    assert "jupyter-taskvalues[bundles]" in done.stdout
    assert "defines no jobs" not in done.stdout


def test_python_loader_that_raises_names_the_function_and_the_exception(tmp_path: Path) -> None:
    (tmp_path / "broken_loader_mod.py").write_text("def load(bundle):\n    raise KeyError('catalog')\n")
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: b}\npython: {resources: ['broken_loader_mod:load']}\n"
    )
    with pytest.raises(JobSpecError, match=r"broken_loader_mod:load raised KeyError: 'catalog'"):
        read_jobs(tmp_path)


_WARNING_LOADER = """\
from databricks.bundles.core import Location, Resources
from databricks.bundles.jobs import Job


def load(bundle):
    resources = Resources()
    task = {"task_key": "t", "notebook_task": {"notebook_path": "a.ipynb"}}
    resources.add_job("py_job", Job.from_dict({"name": "py", "tasks": [task]}))
    resources.add_diagnostic_warning(
        "max_retries is ignored",
        detail="Set it on the task\\n  instead.",
        path=("resources", "jobs", "py_job"),
        location=Location.from_callable(load),
    )
    resources.add_diagnostic_warning("\\x1b[1mthis bundle is old\\x1b[0m.")
    return resources
"""


def _warning_bundle(folder: Path, module: str, loader: str) -> Path:
    """A bundle with a YAML job (one unknown field) and the Python loader ``loader`` as module ``module``."""
    folder.mkdir(exist_ok=True)
    (folder / "a.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    (folder / f"{module}.py").write_text(loader)
    (folder / "databricks.yml").write_text(
        f"bundle: {{name: b}}\npython: {{resources: ['{module}:load']}}\n"
        "resources: {jobs: {yaml_job: {tasks: [{task_key: y, notebook_task: {notebook_path: a.ipynb}, "
        "max_retrys: 1}]}}}\n"
    )
    return folder / "databricks.yml"


def test_python_loader_warnings_join_the_jobs_warnings_with_their_file_line_and_detail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.cli.inprocess import run_main

    path = _warning_bundle(tmp_path, "warning_loader_mod", _WARNING_LOADER)
    module = tmp_path / "warning_loader_mod.py"

    py_job = load_job(path, "py_job")
    yaml_job = load_job(path, "yaml_job")

    about_py = (
        f"{module}: line 5: python: warning: max_retries is ignored (at resources.jobs.py_job): Set it on the "
        "task instead."
    )
    everywhere = f"{path}: python: warning: this bundle is old."
    assert py_job.warnings == (about_py, everywhere)
    assert yaml_job.warnings[0] == everywhere  # then the loader's own: the unknown field
    assert len(yaml_job.warnings) == 2 and "unknown field 'max_retrys'" in yaml_job.warnings[1]
    code, _, err = run_main(capsys, "validate", str(path))
    assert code == 0, err
    assert err.count("this bundle is old") == 1 and err.count("max_retries is ignored") == 1


def test_python_loader_error_diagnostic_refuses_the_bundle_in_this_process(tmp_path: Path) -> None:
    loader = _WARNING_LOADER.replace("add_diagnostic_warning(\n", "add_diagnostic_error(\n", 1)
    path = _warning_bundle(tmp_path, "error_loader_mod", loader)

    with pytest.raises(JobSpecError) as info:
        list_jobs(path)

    (problem,) = info.value.problems
    assert problem == (
        f"python: max_retries is ignored at resources.jobs.py_job ({tmp_path / 'error_loader_mod.py'}, line 5): "
        "instead. Fix the function and run again."
    )
