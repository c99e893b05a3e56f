"""The examples in ``examples/`` load, read and stay clean, without running them.

Running them end to end, through the job runner and real kernels, is tested with the runner.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

if TYPE_CHECKING:
    from jupyter_taskvalues.jobs.model import JobSpec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
JOB_FILES = [
    EXAMPLES / "user_profile" / "job.json",
    EXAMPLES / "income" / "databricks.yml",
]
NOTEBOOKS = sorted([*EXAMPLES.rglob("*.ipynb"), *(EXAMPLES / "income" / "notebooks").glob("*.py")])
DATABRICKS_SOURCES = [path for path in NOTEBOOKS if path.suffix == ".py"]
IPYNB_FILES = [path for path in NOTEBOOKS if path.suffix == ".ipynb"]
INCOME_DATA = EXAMPLES / "income" / "data"


def _load_job(path: Path) -> JobSpec:
    from jupyter_taskvalues.jobs.spec.loader import load_job

    return load_job(path)


def _relative(path: Path) -> str:
    return path.relative_to(EXAMPLES).as_posix()


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_data", INCOME_DATA / "generate_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_examples_are_all_found() -> None:
    assert len(IPYNB_FILES) == 3
    assert len(DATABRICKS_SOURCES) == 5
    assert all(path.exists() for path in JOB_FILES)


# -- job files -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", JOB_FILES, ids=_relative)
def test_every_example_job_file_loads_and_names_existing_notebooks(path: Path) -> None:
    job = _load_job(path)

    assert job.tasks
    for task in job.tasks:
        assert task.notebook is not None, task.task_key
        assert task.notebook.path.is_absolute()
        # Databricks-style paths may leave out the extension; the loader finds the file either way.
        candidates = [task.notebook.path, *task.notebook.path.parent.glob(task.notebook.path.name + ".*")]
        assert any(candidate.is_file() for candidate in candidates), task.notebook.path


def test_user_profile_job_hands_the_name_to_greet_user_through_a_reference() -> None:
    job = _load_job(EXAMPLES / "user_profile" / "job.json")

    assert job.name == "user_profile"
    assert job.task_keys == ("Get_user_data", "Print_user_data", "Greet_user")
    for key in ("Print_user_data", "Greet_user"):
        assert [d.task_key for d in job.task(key).depends_on] == ["Get_user_data"]
    greet = job.task("Greet_user").notebook
    assert greet is not None
    assert greet.base_parameters == {"name": "{{tasks.Get_user_data.values.name}}"}


def test_user_profile_job_file_uses_workspace_style_paths_without_extensions() -> None:
    raw = json.loads((EXAMPLES / "user_profile" / "job.json").read_text())

    paths = [task["notebook_task"]["notebook_path"] for task in raw["tasks"]]
    assert paths == ["get_user_data", "print_user_data", "greet_user"]


def test_income_bundle_runs_three_classifiers_then_best_model_with_the_seed_parameter() -> None:
    job = _load_job(EXAMPLES / "income" / "databricks.yml")

    classifiers = ("Logistic_Regression", "Decision_Tree", "Random_Forest")
    assert job.name.startswith("[dev ") and job.name.endswith("] income_classifiers")  # mode: development
    assert job.task_keys == (*classifiers, "Best_Model")
    assert job.parameter_defaults() == {"seed": "42"}
    for key in classifiers:
        task = job.task(key)
        assert task.depends_on == ()
        assert task.notebook is not None
        assert task.notebook.base_parameters == {"seed": "{{job.parameters.seed}}"}
        assert task.notebook.path.parent == EXAMPLES / "income" / "notebooks"
    assert sorted(d.task_key for d in job.task("Best_Model").depends_on) == sorted(classifiers)


# -- notebooks -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_relative)
def test_every_example_notebook_reads_as_valid_python_cells(path: Path) -> None:
    from jupyter_taskvalues.jobs.notebooks.formats import read_notebook

    notebook = read_notebook(path)

    nbformat.validate(notebook)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code cell"
    transformer = TransformerManager()
    for source in code:
        # Magics such as `%run` become Python here, as IPython runs them; the rest must compile as it is.
        compile(transformer.transform_cell(source), str(path), "exec")


@pytest.mark.parametrize("path", DATABRICKS_SOURCES, ids=_relative)
def test_databricks_source_notebooks_follow_the_export_format(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()

    assert lines[0] == "# Databricks notebook source"
    assert lines[1] == "# MAGIC %md", "the first cell is a Markdown header"
    assert "\n\n# COMMAND ----------\n\n" in text
    assert text.endswith("\n") and not text.endswith("\n\n")
    # Every line of a MAGIC cell carries the prefix; a bare "# MAGIC" is an empty line.
    assert all(
        line == "# MAGIC" or line.startswith("# MAGIC ") for line in lines if line.startswith("# MAGIC")
    )


@pytest.mark.parametrize("path", IPYNB_FILES, ids=_relative)
def test_example_ipynb_files_are_nbformat_4_5_with_ids_and_no_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)

    nbformat.validate(notebook)
    assert (notebook.nbformat, notebook.nbformat_minor) == (4, 5)
    assert notebook.metadata.kernelspec.name == "python3"
    ids = [cell.id for cell in notebook.cells]
    assert len(set(ids)) == len(ids)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_relative)
def test_example_notebooks_never_import_dbutils(path: Path) -> None:
    text = path.read_text(encoding="utf-8")

    assert "dbutils" in text or path.stem == "prepare_data"
    assert "import dbutils" not in text
    assert "jupyter_taskvalues" not in text


def test_every_classifier_sets_model_performance_and_best_model_reads_all_three() -> None:
    notebooks = EXAMPLES / "income" / "notebooks"
    for name in ("logistic_regression", "decision_tree", "random_forest"):
        source = (notebooks / f"{name}.py").read_text(encoding="utf-8")
        assert 'dbutils.jobs.taskValues.set(key="model_performance", value=accuracy)' in source
        assert "# MAGIC %run ./prepare_data" in source
    best = (notebooks / "best_model.py").read_text(encoding="utf-8")
    for task_key in ("Logistic_Regression", "Decision_Tree", "Random_Forest"):
        assert f'taskKey="{task_key}", key="model_performance", debugValue=0' in best


# -- the income data -----------------------------------------------------------------------------------------


def test_income_data_generator_is_deterministic() -> None:
    generator = _generator()

    first = generator.generate_rows(300, seed=5)
    again = generator.generate_rows(300, seed=5)
    other = generator.generate_rows(300, seed=6)

    assert first == again
    assert first != other
    assert list(first[0]) == list(generator.COLUMNS)


def test_committed_income_data_is_what_the_generator_writes(tmp_path: Path) -> None:
    generator = _generator()
    path = tmp_path / "adult_income.csv"

    generator.write_csv(path, generator.generate_rows())

    committed = INCOME_DATA / "adult_income.csv"
    assert path.read_bytes() == committed.read_bytes()
    assert committed.stat().st_size <= 200 * 1024


def test_income_data_has_both_classes_and_every_occupation() -> None:
    generator = _generator()

    rows = generator.generate_rows()

    assert len(rows) == generator.DEFAULT_ROWS
    share = sum(row["income"] == ">50K" for row in rows) / len(rows)
    assert 0.1 < share < 0.4
    assert {row["occupation"] for row in rows} == set(generator.OCCUPATIONS)
    assert all(17 <= row["age"] <= 90 and 1 <= row["education_years"] <= 16 for row in rows)
