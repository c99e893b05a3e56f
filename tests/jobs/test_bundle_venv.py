"""``python.venv_path``: a bundle's Python resources load in that venv's interpreter, not in this process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import databricks.bundles
import pytest

from jupyter_taskvalues.exceptions import JobSpecError
from jupyter_taskvalues.jobs.spec.loader import list_jobs, load_job
from jupyter_taskvalues.jobs.spec.python_venv import find_interpreter
from jupyter_taskvalues.jobs.spec.sources import read_jobs
from tests.cli.inprocess import run_main
from tests.jobhelpers import notebook
from tests.jobs.test_bundles import _WARNING_LOADER  # the loader the in-process test uses

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the venv layout written here is POSIX's")


def _venv(folder: Path, *, with_bundles: bool) -> Path:
    """A real venv (no pip: it is not needed); ``with_bundles`` makes this environment's packages importable."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    if with_bundles:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        site_packages = Path(databricks.bundles.__file__).parents[2]
        (folder / "lib" / version / "site-packages" / "here.pth").write_text(f"{site_packages}\n")
    return folder


@pytest.fixture(scope="module")
def bundles_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _venv(tmp_path_factory.mktemp("venvs") / "with-bundles", with_bundles=True)


def _bundle(folder: Path, venv_path: str, loader: str, *, mutators: str = "") -> Path:
    """A bundle with one YAML job and the Python loader module ``venv_loader`` (and ``venv_mutators``)."""
    notebook(folder / "a.ipynb", "pass")
    (folder / "venv_loader.py").write_text(textwrap.dedent(loader))
    if mutators:
        (folder / "venv_mutators.py").write_text(textwrap.dedent(mutators))
    (folder / "databricks.yml").write_text(
        textwrap.dedent(
            f"""\
            bundle: {{name: in_venv}}
            python:
              venv_path: {venv_path}
              resources: ["venv_loader:load_resources"]
            {'  mutators: ["venv_mutators:tag_interpreter"]' if mutators else ""}
            variables:
              region: {{default: eu}}
            targets:
              dev: {{default: true}}
              prod: {{}}
            resources:
              jobs:
                yaml_job:
                  name: yaml-job
                  tasks:
                    - task_key: a
                      notebook_task: {{notebook_path: ./a.ipynb}}
            """
        )
    )
    return folder / "databricks.yml"


_RECORDING_LOADER = """\
    import sys

    from databricks.bundles.core import Bundle, Resources
    from databricks.bundles.jobs import Job


    def load_resources(bundle: Bundle) -> Resources:
        resources = Resources()
        resources.add_job(
            "py_job",
            Job.from_dict(
                {
                    "name": f"py-{bundle.target}-{bundle.variables['region']}",
                    "tags": {"loaded_by": sys.executable},
                    "tasks": [{"task_key": "p", "notebook_task": {"notebook_path": "a.ipynb"}}],
                }
            ),
        )
        return resources
    """

_RECORDING_MUTATOR = """\
    import sys
    from dataclasses import replace

    from databricks.bundles.core import Bundle, job_mutator
    from databricks.bundles.jobs import Job


    @job_mutator
    def tag_interpreter(bundle: Bundle, job: Job) -> Job:
        return replace(job, tags={**(job.tags or {}), "mutated_by": sys.executable, "target": bundle.target})
    """


def test_python_resources_load_in_the_venv_interpreter_with_target_and_variables(
    tmp_path: Path, bundles_venv: Path
) -> None:
    path = _bundle(tmp_path, str(bundles_venv), _RECORDING_LOADER, mutators=_RECORDING_MUTATOR)
    interpreter = str(bundles_venv / "bin" / "python")
    assert interpreter != sys.executable

    assert list_jobs(path) == ["yaml_job", "py_job"]
    spec = load_job(path, job="py_job", target="prod", variables={"region": "us"})
    assert spec.name == "py-prod-us"
    (task,) = spec.tasks
    assert task.notebook is not None and task.notebook.path == tmp_path / "a.ipynb"
    (yaml_task,) = load_job(path, job="yaml_job").tasks  # mutated in the venv, still read from its file
    assert yaml_task.notebook is not None and yaml_task.notebook.path == tmp_path / "a.ipynb"
    tags = {raw.key: raw.settings["tags"] for raw in read_jobs(path, target="prod")}
    # the mutators reach the YAML-defined job too, as in the Databricks CLI
    assert tags == {
        "yaml_job": {"mutated_by": interpreter, "target": "prod"},
        "py_job": {"loaded_by": interpreter, "mutated_by": interpreter, "target": "prod"},
    }


def test_a_relative_venv_path_is_relative_to_the_bundle_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bundle_folder = tmp_path / "bundle"
    bundle_folder.mkdir()
    venv = _venv(bundle_folder / ".venv", with_bundles=True)
    path = _bundle(bundle_folder, ".venv", _RECORDING_LOADER)

    code, out, err = run_main(capsys, "validate", str(path), "--job", "py_job")

    assert code == 0, err
    assert "Job 'py-dev-eu' is valid" in out
    (py_job,) = [raw for raw in read_jobs(path) if raw.key == "py_job"]
    assert py_job.settings["tags"] == {"loaded_by": str(venv / "bin" / "python")}


def test_a_missing_venv_is_an_error_naming_the_path_and_the_fix(tmp_path: Path) -> None:
    path = _bundle(tmp_path, "missing-venv", _RECORDING_LOADER)

    with pytest.raises(JobSpecError) as info:
        list_jobs(path)

    message = str(info.value)
    assert f"the virtual environment '{tmp_path / 'missing-venv'}' does not exist" in message
    assert "python -m venv missing-venv" in message and "remove venv_path" in message


def test_a_folder_that_is_not_a_venv_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "not-a-venv").mkdir()
    path = _bundle(tmp_path, "not-a-venv", _RECORDING_LOADER)

    with pytest.raises(JobSpecError, match=r"is not a virtual environment: it has no python in bin/"):
        list_jobs(path)


def test_a_venv_without_databricks_bundles_names_the_install(tmp_path: Path) -> None:
    venv = _venv(tmp_path / "bare", with_bundles=False)
    path = _bundle(tmp_path, str(venv), _RECORDING_LOADER)

    with pytest.raises(JobSpecError) as info:
        list_jobs(path)

    assert f"the venv '{venv}' has no databricks-bundles package" in str(info.value)
    assert f"{venv / 'bin' / 'python'} -m pip install databricks-bundles" in str(info.value)


def test_a_loader_that_raises_in_the_venv_names_the_function_file_and_exception(
    tmp_path: Path, bundles_venv: Path
) -> None:
    loader = """\
        def load_resources(bundle):
            raise KeyError("catalog")
        """
    path = _bundle(tmp_path, str(bundles_venv), loader)

    with pytest.raises(JobSpecError) as info:
        list_jobs(path)

    (problem,) = info.value.problems
    assert problem.startswith(f"python (in the venv '{bundles_venv}'): Failed to load resources (")
    assert "venv_loader.py" in problem and problem.endswith(
        "KeyError: 'catalog'. Fix the function and run again."
    )


def test_a_job_defined_in_python_and_yaml_is_refused_from_the_venv_too(
    tmp_path: Path, bundles_venv: Path
) -> None:
    loader = _RECORDING_LOADER.replace('"py_job"', '"yaml_job"')
    path = _bundle(tmp_path, str(bundles_venv), loader)

    with pytest.raises(JobSpecError, match=r"resources\.jobs\.yaml_job is defined in Python and in"):
        list_jobs(path)


def test_the_venv_runs_again_only_when_the_bundle_folder_changes(tmp_path: Path, bundles_venv: Path) -> None:
    calls = tmp_path / "calls.txt"  # outside the bundle folder: writing it changes nothing the phase reads
    loader = f"""\
        from databricks.bundles.core import Resources
        from databricks.bundles.jobs import Job

        NAME = "first"


        def load_resources(bundle):
            with open({str(calls)!r}, "a") as f:
                f.write(NAME + "\\n")
            resources = Resources()
            resources.add_job("py_job", Job.from_dict({{"name": NAME, "tasks": []}}))
            return resources
        """
    folder = tmp_path / "bundle"
    folder.mkdir()
    path = _bundle(folder, str(bundles_venv), loader)

    assert [raw.settings["name"] for raw in read_jobs(path)] == ["yaml-job", "first"]
    assert [raw.settings["name"] for raw in read_jobs(path)] == ["yaml-job", "first"]
    assert calls.read_text().split() == ["first"]  # read twice, loaded once

    (folder / "venv_loader.py").write_text(
        (folder / "venv_loader.py").read_text().replace('"first"', '"second"')
    )
    assert [raw.settings["name"] for raw in read_jobs(path)] == ["yaml-job", "second"]
    assert [raw.settings["name"] for raw in read_jobs(path, target="prod")] == ["yaml-job", "second"]
    assert calls.read_text().split() == ["first", "second", "second"]  # the file changed, then the target


@pytest.mark.parametrize(
    ("layout", "windows"),
    [("bin/python", False), ("bin/python3", False), ("Scripts/python.exe", True), ("bin/python.exe", True)],
)
def test_the_interpreter_is_found_in_the_posix_and_the_windows_venv_layouts(
    tmp_path: Path, layout: str, windows: bool
) -> None:
    venv = tmp_path / "venv"
    (venv / layout).parent.mkdir(parents=True)
    (venv / layout).write_text("")

    assert find_interpreter(venv, windows=windows) == venv / layout
    assert find_interpreter(venv, windows=not windows) is None  # the other platform's layout is not this one


def test_a_windows_venv_prefers_scripts_and_a_posix_one_bin_python(tmp_path: Path) -> None:
    for layout in ("Scripts/python.exe", "bin/python.exe", "bin/python3", "bin/python"):
        (tmp_path / layout).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / layout).write_text("")
    (tmp_path / "Scripts" / "python").mkdir()  # a folder is not an interpreter

    assert find_interpreter(tmp_path, windows=True) == tmp_path / "Scripts" / "python.exe"
    assert find_interpreter(tmp_path, windows=False) == tmp_path / "bin" / "python"
    assert find_interpreter(tmp_path / "missing", windows=False) is None


@pytest.mark.slow  # it waits the 4 s the venv's interpreter needs to start the loader and its child
def test_a_loader_that_hangs_in_the_venv_is_stopped_at_the_timeout_with_what_it_started(
    tmp_path: Path, bundles_venv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = tmp_path / "started.pid"  # outside the bundle folder
    loader = f"""\
        import pathlib, subprocess, sys, time


        def load_resources(bundle):
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
            pathlib.Path({str(started)!r}).write_text(str(child.pid))
            time.sleep(120)
        """
    path = _bundle(tmp_path / "bundle", str(bundles_venv), loader)
    monkeypatch.setenv("JUPYTER_TASKVALUES_PYTHON_TIMEOUT", "4")

    began = time.monotonic()
    with pytest.raises(JobSpecError) as info:
        list_jobs(path)

    assert time.monotonic() - began < 15
    (problem,) = info.value.problems
    assert str(path) in str(info.value)
    assert problem == (
        f"python (in the venv '{bundles_venv}'): the load_resources phase of the bundle's Python code did not "
        "finish within 4 s and was stopped; a resource function or mutator may loop or wait on the network. "
        "Fix it, or allow more time with JUPYTER_TASKVALUES_PYTHON_TIMEOUT=SECONDS (default 300)."
    )
    child = int(started.read_text())  # the loader's own child went with it
    assert _gone(child), f"process {child} the loader started outlived the timeout"


def _gone(pid: int, wait: float = 5) -> bool:
    """Whether ``pid`` ends (or is a zombie) within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan"])
def test_a_python_timeout_that_is_not_a_positive_number_is_an_error_naming_the_variable(
    tmp_path: Path, bundles_venv: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    path = _bundle(tmp_path, str(bundles_venv), _RECORDING_LOADER)
    monkeypatch.setenv("JUPYTER_TASKVALUES_PYTHON_TIMEOUT", value)

    with pytest.raises(JobSpecError) as info:
        list_jobs(path)

    assert info.value.problems == [
        f"JUPYTER_TASKVALUES_PYTHON_TIMEOUT is {value!r}; it must be a number of seconds greater than 0, e.g. "
        "300. Set it so, or unset it for the default."
    ]


def test_warnings_the_package_reports_in_the_venv_join_the_jobs_warnings(
    tmp_path: Path, bundles_venv: Path
) -> None:
    # the loader of the in-process test, as the venv's build module calls it
    loader = _WARNING_LOADER.replace("load(", "load_resources(").replace("(load)", "(load_resources)")
    folder = tmp_path / "bundle"
    folder.mkdir()
    path = _bundle(folder, str(bundles_venv), textwrap.indent(loader, "    "))
    label = f"python (in the venv '{bundles_venv}')"
    about_py = (
        f"{folder / 'venv_loader.py'}: line 5: {label}: warning: max_retries is ignored (at "
        "resources.jobs.py_job): Set it on the task instead."
    )
    everywhere = f"{path}: {label}: warning: this bundle is old."

    assert load_job(path, job="yaml_job").warnings == (everywhere,)
    # read again from what the phase wrote the first time: the warnings come with it
    assert load_job(path, job="py_job").warnings == (about_py, everywhere)
