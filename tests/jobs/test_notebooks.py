"""Notebook formats, papermill-style parameters and output caps (``jupyter_taskvalues.jobs.notebooks.formats``)."""

from __future__ import annotations

import json
import math
import pickle
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from jupyter_taskvalues.exceptions import NotebookFormatError, ParameterTypeError
from jupyter_taskvalues.jobs.notebooks.formats import (
    cap_outputs,
    convert_parameter,
    inject_parameters,
    read_notebook,
    resolve_notebook_path,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "notebooks"


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    """A private copy of the fixture notebooks (tests may add files next to them)."""
    target = tmp_path / "notebooks"
    shutil.copytree(FIXTURES, target)
    return target


def _read(path: Path) -> Any:
    nb = read_notebook(path)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5)
    ids = [cell.id for cell in nb.cells]
    assert len(set(ids)) == len(ids), ids
    return nb


def _sources(nb: Any) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def _error(path: Path) -> NotebookFormatError:
    with pytest.raises(NotebookFormatError) as info:
        read_notebook(path)
    return info.value


# -- .ipynb --------------------------------------------------------------------------------------------------


def test_ipynb_without_ids_gets_the_same_ids_on_every_read(notebooks: Path) -> None:
    first = _read(notebooks / "plain.ipynb")
    second = _read(notebooks / "plain.ipynb")

    assert [cell.id for cell in first.cells] == [cell.id for cell in second.cells] == ["plain-1", "plain-2"]
    assert _sources(first) == [
        ("markdown", "# Plain notebook"),
        ("code", "n = 2\nsquared = n * n\nprint(squared)"),
    ]


def test_ipynb_keeps_its_own_ids_and_repairs_repeated_or_missing_ones(notebooks: Path) -> None:
    nb = _read(notebooks / "duplicate_ids.ipynb")

    assert [cell.id for cell in nb.cells] == ["same", "duplicate_ids-2", "duplicate_ids-3"]


def test_ipynb_exported_from_databricks_converts_its_magic_cells(notebooks: Path) -> None:
    nb = _read(notebooks / "exported_databricks.ipynb")

    assert _sources(nb) == [
        ("markdown", "# Exported from Databricks"),
        ("code", 'GREETING = "hello"\nGREETING_LENGTH = len(GREETING)'),
        ("code", "def add(a, b):\n    return a + b"),
        ("code", "%%sh --no-raise-error\necho hi"),
        ("code", "result = add(1, 2)"),
    ]
    assert nb.cells[0].id == "e1"
    assert nb.cells[4].metadata["title"] == "Add"


def test_ipynb_exported_from_databricks_runs_a_sql_cell_through_local_spark(notebooks: Path) -> None:
    nb = _read(notebooks / "exported_sql.ipynb")

    source = nb.cells[1].source
    assert nb.cells[1].cell_type == "code"
    assert "_sqldf = _jtv_sql_cell('SELECT * FROM t'," in source
    assert "cell 2 of notebook" in source and "exported_sql.ipynb" in source


def test_jupyter_ipynb_inlines_a_run_of_a_notebook_but_keeps_ipython_magics(notebooks: Path) -> None:
    nb = _read(notebooks / "jupyter_run.ipynb")

    assert _sources(nb) == [
        ("code", 'GREETING = "hello"\nGREETING_LENGTH = len(GREETING)'),  # %run ./lib/helpers, inlined
        ("code", "def add(a, b):\n    return a + b"),
        ("code", "%run ./lib/script.py"),  # a plain script: IPython's own %run runs it
        ("code", "%sql SELECT 1"),  # no Databricks metadata: may be ipython-sql's magic
        ("code", "%%sh --no-raise-error\necho from-sh"),
        ("code", "print(add(1, 2))"),
    ]


def test_ipynb_for_another_kernel_language_is_rejected(notebooks: Path) -> None:
    error = _error(notebooks / "r_kernel.ipynb")

    assert "r_kernel.ipynb" in str(error) and "in R" in str(error)
    assert "Only Python notebooks run locally" in str(error)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("broken.ipynb", "is not valid JSON"),
        ("not_a_notebook.ipynb", "not a Jupyter notebook (no 'nbformat' version field)"),
        ("bad_schema.ipynb", "is not a valid notebook"),
        ("latin1.py", "is not UTF-8 text (byte 0xe9 at offset 40)"),
    ],
)
def test_invalid_notebook_error_names_the_path_and_the_problem(
    notebooks: Path, name: str, expected: str
) -> None:
    error = _error(notebooks / name)

    assert str(notebooks / name) in str(error)
    assert expected in str(error)
    assert error.fields["path"] == str(notebooks / name)


def test_missing_notebook_names_the_path_and_every_name_tried(tmp_path: Path) -> None:
    error = _error(tmp_path / "nowhere" / "etl")

    assert str(tmp_path / "nowhere" / "etl") in str(error)
    assert "does not exist (also tried etl.py, etl.ipynb, etl.md)" in str(error)


def test_directory_is_not_a_notebook(tmp_path: Path) -> None:
    error = _error(tmp_path)

    assert "is a directory, not a notebook" in str(error)


def test_notebook_path_without_extension_resolves_to_the_file(notebooks: Path) -> None:
    assert resolve_notebook_path(notebooks / "databricks_main") == notebooks / "databricks_main.py"
    assert resolve_notebook_path(notebooks / "plain") == notebooks / "plain.ipynb"

    nb = _read(notebooks / "plain")
    assert nb.cells[1].source.startswith("n = 2")


def test_notebook_format_error_survives_pickling(notebooks: Path) -> None:
    error = _error(notebooks / "foreign_scala.py")

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is NotebookFormatError
    assert str(copy) == str(error)
    assert (copy.fields["cell_number"], copy.fields["magic"], copy.fields["path"]) == (
        3,
        "%scala",
        error.fields["path"],
    )


# -- Databricks source ---------------------------------------------------------------------------------------


def test_databricks_source_converts_every_supported_magic(notebooks: Path) -> None:
    nb = _read(notebooks / "databricks_main.py")

    assert _sources(nb) == [
        ("markdown", "# Main notebook\nUses the helpers through `%run`."),
        ("code", 'GREETING = "hello"\nGREETING_LENGTH = len(GREETING)'),
        ("code", "def add(a, b):\n    return a + b"),
        ("markdown", '<div style="color: teal">sandboxed markdown</div>'),
        ("code", "%pip list"),
        ("code", '%%sh --no-raise-error\necho "from sh: $((6 * 7))"\nexit 3'),
        ("code", 'total = add(GREETING_LENGTH, 1)\nprint("total", total)'),
        ("code", "doubled = total * 2"),
        ("code", "%load_ext autoreload"),
        ("code", 'print("done", doubled)'),
    ]
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.cells[0].id == "databricks_main-1"
    assert nb.cells[-1].id == "databricks_main-9"


def test_databricks_title_is_kept_in_metadata_and_removed_from_the_source(notebooks: Path) -> None:
    nb = _read(notebooks / "databricks_main.py")

    titled = {cell.metadata["title"]: cell.source for cell in nb.cells if "title" in cell.metadata}
    assert titled == {
        "Shell": '%%sh --no-raise-error\necho "from sh: $((6 * 7))"\nexit 3',
        "Compute": 'total = add(GREETING_LENGTH, 1)\nprint("total", total)',
    }
    assert not any("DBTITLE" in cell.source for cell in nb.cells)


def test_databricks_separator_drops_one_blank_line_on_each_side(notebooks: Path) -> None:
    nb = _read(notebooks / "spacing.py")

    assert _sources(nb) == [
        ("code", "first = 1"),
        ("code", "\nsecond = 2\n\n"),  # the author's own extra blank lines stay
        ("code", "third = 3"),
        ("markdown", "Title on the magic line\n\nbody"),  # text after %md on its line; no trailing cell
    ]


def test_sh_cell_fails_on_a_non_zero_exit_only_with_e(notebooks: Path) -> None:
    assert _read(notebooks / "sh_e.py").cells[0].source == "%%sh\necho before\nexit 3"
    assert "%%sh --no-raise-error" in _read(notebooks / "databricks_main.py").cells[5].source


def test_databricks_source_with_windows_line_endings(notebooks: Path) -> None:
    source = (notebooks / "spacing.py").read_text(encoding="utf-8")
    crlf = notebooks / "crlf.py"
    crlf.write_bytes(source.replace("\n", "\r\n").encode("utf-8"))

    assert _sources(_read(crlf)) == _sources(_read(notebooks / "spacing.py"))


def test_databricks_source_is_detected_by_its_first_line_not_its_extension(notebooks: Path) -> None:
    nb = _read(notebooks / "extensionless_notebook")
    assert _sources(nb) == [("code", 'value = "no extension"')]

    renamed = notebooks / "exported.txt"
    shutil.copy(notebooks / "spacing.py", renamed)
    assert _sources(_read(renamed))[0] == ("code", "first = 1")


@pytest.mark.parametrize(("language", "name"), [("scala", "Scala"), ("r", "R")])
def test_non_python_cell_names_the_notebook_the_cell_and_the_magic(
    notebooks: Path, language: str, name: str
) -> None:
    path = notebooks / f"foreign_{language}.py"

    error = _error(path)

    assert str(error).startswith(f"Cell 3 of notebook {str(path)!r} is a %{language} cell")
    assert name in str(error)
    assert "Only Python cells run locally" in str(error)
    assert (error.fields["path"], error.fields["cell_number"], error.fields["magic"]) == (
        str(path),
        3,
        f"%{language}",
    )


@pytest.mark.parametrize(("name", "language"), [("query.sql", "SQL"), ("analysis.r", "R")])
def test_databricks_source_in_another_language_is_rejected(notebooks: Path, name: str, language: str) -> None:
    error = _error(notebooks / name)

    assert f"is a Databricks notebook in {language}" in str(error)
    assert name in str(error)


# -- %run ----------------------------------------------------------------------------------------------------


def test_run_inlines_code_cells_recursively_relative_to_the_notebook_holding_it(notebooks: Path) -> None:
    nb = _read(notebooks / "databricks_main.py")

    constants, helpers = nb.cells[1], nb.cells[2]
    # lib/helpers.py runs ./constants: lib/constants.ipynb, next to helpers, not next to the main notebook.
    assert constants.metadata["jupyter_taskvalues"] == {
        "run": "%run ./constants",
        "notebook": str(notebooks / "lib" / "constants.ipynb"),
    }
    assert helpers.metadata["jupyter_taskvalues"] == {
        "run": "%run ./lib/helpers",
        "notebook": str(notebooks / "lib" / "helpers.py"),
    }
    assert constants.id == "constants-code"
    assert constants.metadata["tags"] == ["keep-me"]  # the included parameters tag is dropped
    assert not any(cell.source.startswith("Helpers:") for cell in nb.cells)  # markdown is not inlined


def test_run_of_the_same_notebook_twice_gives_unique_ids(notebooks: Path) -> None:
    (notebooks / "twice.py").write_text(
        "# Databricks notebook source\n# MAGIC %run ./lib/helpers\n\n# COMMAND ----------\n\n"
        "# MAGIC %run ./lib/helpers\n",
        encoding="utf-8",
    )

    nb = _read(notebooks / "twice.py")

    assert [cell.id for cell in nb.cells] == [
        "constants-code",
        "helpers-3",
        "constants-code-2",
        "helpers-3-2",
    ]


def test_run_cycle_is_reported_with_the_chain(notebooks: Path) -> None:
    error = _error(notebooks / "cycle_a.py")

    assert str(error).startswith("%run cycle: cycle_a.py → cycle_b.py → cycle_a.py")
    assert f"cell 2 of notebook {str(notebooks / 'cycle_b.py')!r} runs './cycle_a.py' again" in str(error)
    assert error.fields["cycle"] == [str(notebooks / n) for n in ("cycle_a.py", "cycle_b.py", "cycle_a.py")]


def test_run_of_a_missing_notebook_names_the_cell_and_the_target(notebooks: Path) -> None:
    error = _error(notebooks / "run_missing.py")

    assert str(error).startswith(f"Cell 2 of notebook {str(notebooks / 'run_missing.py')!r} runs")
    assert "'./lib/no_such_notebook'" in str(error) and "does not exist" in str(error)


def test_run_of_a_workspace_path_suggests_a_relative_one(notebooks: Path) -> None:
    path = notebooks / "workspace_run.py"
    path.write_text("# Databricks notebook source\n# MAGIC %run /Workspace/Shared/setup\n", encoding="utf-8")

    error = _error(path)

    assert "'/Workspace/Shared/setup'" in str(error)
    assert "write the path relative to this notebook" in str(error)


def test_run_must_be_alone_in_its_cell(notebooks: Path) -> None:
    error = _error(notebooks / "run_not_alone.py")

    assert "%run must be alone in its cell" in str(error)
    assert error.fields["cell_number"] == 1


def test_run_arguments_become_widget_values_before_the_included_cells(notebooks: Path) -> None:
    nb = _read(notebooks / "run_with_args.py")

    assert [cell.source for cell in nb.cells][1] == 'table = dbutils.widgets.get("table")'
    defined: dict[str, str] = {}

    class Widgets:
        def remove(self, name: str) -> None:
            raise ValueError(name)

        def text(self, name: str, value: str) -> None:
            defined[name] = value

    class DBUtils:
        widgets = Widgets()

    namespace: dict[str, Any] = {"dbutils": DBUtils()}
    exec(nb.cells[0].source, namespace)

    assert defined == {"table": "sales", "limit": "10"}
    assert "_name" not in namespace


# -- jupytext formats ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "percent.py",
            [("markdown", "# Percent format"), ("code", "alpha = 0.5"), ("code", "result = alpha * 2")],
        ),
        ("light.py", [("markdown", "# Light format"), ("code", "x = 1"), ("code", "y = x + 1\nprint(y)")]),
        ("markdown.md", [("markdown", "# Markdown notebook"), ("code", "z = 3")]),
    ],
)
def test_jupytext_formats_are_read_with_stable_ids(
    notebooks: Path, name: str, expected: list[tuple[str, str]]
) -> None:
    nb = _read(notebooks / name)

    assert _sources(nb) == expected
    stem = name.split(".", maxsplit=1)[0]
    assert [cell.id for cell in nb.cells] == [f"{stem}-{n}" for n in range(1, len(expected) + 1)]
    assert [cell.id for cell in _read(notebooks / name).cells] == [cell.id for cell in nb.cells]


def test_jupytext_percent_cell_tags_are_kept(notebooks: Path) -> None:
    nb = _read(notebooks / "percent.py")

    assert nb.cells[1].metadata["tags"] == ["parameters"]


def test_jupytext_notebook_in_another_language_is_rejected(notebooks: Path) -> None:
    error = _error(notebooks / "r_percent.R")

    assert "is a notebook in R" in str(error) and "r_percent.R" in str(error)


def test_unknown_text_format_names_the_path(notebooks: Path) -> None:
    path = notebooks / "notes.xyz"
    path.write_text("hello\n", encoding="utf-8")

    error = _error(path)

    assert str(path) in str(error) and "cannot be read" in str(error)


# -- parameters ----------------------------------------------------------------------------------------------


def _injected(nb: Any) -> dict[str, Any]:
    cells = [cell for cell in nb.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert len(cells) == 1
    namespace: dict[str, Any] = {}
    exec(cells[0].source, namespace)
    namespace.pop("__builtins__")
    return namespace


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("count", "42", 42),
        ("count", " -7 ", -7),
        ("ratio", "1e-3", 0.001),
        ("ratio", "3", 3.0),
        ("enabled", "true", True),
        ("enabled", "FALSE", False),
        ("threshold", "null", None),
        ("threshold", "None", None),
        ("threshold", "0.5", "0.5"),  # a None default takes None or keeps the string
        ("tags", '["x", "y"]', ["x", "y"]),
        ("tags", "['py', 'literal']", ["py", "literal"]),
        ("options", '{"a": [1, 2], "b": null}', {"a": [1, 2], "b": None}),
        ("pair", "[3, 4]", (3, 4)),
        ("name", "42", "42"),
        ("limit", "5", 5),  # annotation `int | None` wins over the None literal
        ("limit", "None", None),
        ("cutoff", "2", 2.0),  # annotation `float` wins over the int literal
        ("start", "5", 5),  # tuple unpacking
        ("computed", "7", "7"),  # not a literal: stays a string
        ("unknown", "3", "3"),  # not in the parameters cell: a string
    ],
)
def test_parameter_is_converted_to_the_type_of_its_default(
    notebooks: Path, name: str, value: str, expected: Any
) -> None:
    nb = inject_parameters(_read(notebooks / "params.ipynb"), {name: value})

    injected = _injected(nb)

    assert injected == {name: expected}
    assert type(injected[name]) is type(expected)
    nbformat.validate(nb)


@pytest.mark.parametrize(
    ("name", "value", "expected_type"),
    [
        ("count", "ten", "int"),
        ("count", "1.5", "int"),
        ("ratio", "half", "float"),
        ("enabled", "yes", "bool"),
        ("tags", "{not json", "list"),
        ("tags", '{"a": 1}', "list"),
        ("options", "[1, 2]", "dict"),
        ("limit", "many", "int"),
    ],
)
def test_parameter_that_does_not_convert_names_the_parameter_value_and_type(
    notebooks: Path, name: str, value: str, expected_type: str
) -> None:
    nb = _read(notebooks / "params.ipynb")

    with pytest.raises(ParameterTypeError) as info:
        inject_parameters(nb, {name: value})

    message = str(info.value)
    assert f"Parameter {name!r} is {value!r}" in message
    assert f"does not convert to {expected_type}" in message
    assert (info.value.fields["parameter"], info.value.fields["value"], info.value.fields["expected"]) == (
        name,
        value,
        expected_type,
    )
    assert isinstance(info.value, ValueError)


def test_injected_cell_follows_the_parameters_cell_and_input_is_unchanged(notebooks: Path) -> None:
    nb = _read(notebooks / "params.ipynb")
    before = json.dumps(nb, sort_keys=True)

    new = inject_parameters(nb, {"count": "3", "name": "x"})

    assert json.dumps(nb, sort_keys=True) == before
    assert [cell.id for cell in new.cells] == ["title", "defaults", "injected-parameters", "use"]
    assert new.cells[2].source == "# Parameters\ncount = 3\nname = 'x'"
    assert new.cells[2].metadata["tags"] == ["injected-parameters"]


def test_injecting_again_replaces_the_injected_cell(notebooks: Path) -> None:
    once = inject_parameters(_read(notebooks / "params.ipynb"), {"count": "1"})

    twice = inject_parameters(once, {"count": "2"})

    assert [cell.id for cell in twice.cells] == ["title", "defaults", "injected-parameters", "use"]
    assert _injected(twice) == {"count": 2}


def test_names_that_are_not_identifiers_get_no_assignment(notebooks: Path) -> None:
    nb = inject_parameters(
        _read(notebooks / "params.ipynb"), {"run-date": "2024-01-01", "class": "x", "1st": "y", "ok": "z"}
    )

    assert _injected(nb) == {"ok": "z"}


def test_no_parameters_cell_means_no_injected_cell(notebooks: Path) -> None:
    nb = _read(notebooks / "databricks_main.py")

    new = inject_parameters(nb, {"count": "3"})

    assert _sources(new) == _sources(nb)
    assert new is not nb


def test_non_finite_float_parameter_is_valid_python(notebooks: Path) -> None:
    nb = inject_parameters(_read(notebooks / "params.ipynb"), {"ratio": "nan", "cutoff": "-inf"})

    injected = _injected(nb)

    assert math.isnan(injected["ratio"])
    assert injected["cutoff"] == -math.inf


def test_parameters_cell_of_a_jupytext_notebook_receives_parameters(notebooks: Path) -> None:
    nb = inject_parameters(_read(notebooks / "percent.py"), {"alpha": "0.75"})

    assert [cell.source for cell in nb.cells][2] == "# Parameters\nalpha = 0.75"


def test_convert_parameter_leaves_strings_alone() -> None:
    assert convert_parameter("p", " padded ", str) == " padded "


# -- output caps ---------------------------------------------------------------------------------------------


def _output(output_type: str, **fields: Any) -> Any:
    return nbformat.v4.new_output(output_type, **fields)  # type: ignore[no-untyped-call]


def _executed(outputs: list[Any]) -> Any:
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    cell = nbformat.v4.new_code_cell("print('x')")  # type: ignore[no-untyped-call]
    cell.outputs = outputs
    nb.cells.append(cell)
    return nb


def test_cap_outputs_keeps_head_and_tail_of_a_huge_stream_with_a_note() -> None:
    text = "first line\n" + "x" * 100_000 + "\nlast line\n"
    nb = _executed([_output("stream", name="stdout", text=text)])

    assert cap_outputs(nb, 1_000) is True

    kept = nb.cells[0].outputs[0].text
    assert kept.startswith("first line\n") and kept.endswith("last line\n")
    assert "output truncated: 100,022 bytes, over the 1,000-byte limit per output" in kept
    assert len(kept.encode()) < 1_200
    nbformat.validate(nb)


def test_cap_outputs_merges_many_small_prints_before_capping() -> None:
    outputs = [_output("stream", name="stdout", text=f"line {i}\n") for i in range(2_000)]
    outputs.insert(1_000, _output("stream", name="stderr", text="warning\n"))
    nb = _executed(outputs)

    assert cap_outputs(nb, 1_000) is True

    kept = nb.cells[0].outputs
    assert [(o.name, len(o.text) < 1_200) for o in kept] == [
        ("stdout", True),
        ("stderr", True),
        ("stdout", True),
    ]
    assert kept[0].text.startswith("line 0\n") and kept[2].text.endswith("line 1999\n")
    nbformat.validate(nb)


def test_cap_outputs_drops_a_huge_rich_representation_for_its_plain_text() -> None:
    html = "<table>" + "<tr><td>1</td></tr>" * 10_000 + "</table>"
    output = _output(
        "display_data", data={"text/html": html, "text/plain": "<DataFrame>", "image/png": "iVBOR" * 10}
    )
    nb = _executed([output])

    assert cap_outputs(nb, 1_000) is True

    data = nb.cells[0].outputs[0].data
    assert set(data) == {"text/plain", "image/png"}
    assert data["text/plain"].startswith("<DataFrame>\n[text/html output of 190,015 bytes dropped")
    nbformat.validate(nb)


def test_cap_outputs_caps_a_huge_error() -> None:
    output = _output("error", ename="ValueError", evalue="v" * 5_000, traceback=["Traceback", "t" * 5_000])
    nb = _executed([output])

    assert cap_outputs(nb, 1_000) is True

    error = nb.cells[0].outputs[0]
    assert "output truncated" in error.evalue and len(error.evalue) < 1_200
    assert error.traceback[0] == "Traceback"
    nbformat.validate(nb)


def test_cap_outputs_leaves_small_outputs_untouched() -> None:
    outputs = [
        _output("stream", name="stdout", text="a\n"),
        _output("stream", name="stdout", text="b\n"),
        _output("execute_result", data={"text/plain": "1"}, execution_count=1),
    ]
    nb = _executed(outputs)
    before = json.dumps(nb, sort_keys=True)

    assert cap_outputs(nb, 1_000) is False
    assert json.dumps(nb, sort_keys=True) == before


def test_cap_outputs_rejects_a_non_positive_limit() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        cap_outputs(_executed([]), 0)


# -- a real kernel -------------------------------------------------------------------------------------------


def test_converted_databricks_notebook_runs_end_to_end_in_a_kernel(notebooks: Path) -> None:
    nb = _read(notebooks / "databricks_main.py")

    NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(notebooks)}}
    ).execute()

    def stdout(index: int) -> str:
        return "".join(o.get("text", "") for o in nb.cells[index].outputs if o.output_type == "stream")

    assert "nbformat" in stdout(4)  # %pip list
    assert "from sh: 42" in stdout(5)  # %sh, whose exit 3 does not fail the cell (no -e)
    assert stdout(6) == "total 6\n"  # GREETING_LENGTH from lib/constants.ipynb, add from lib/helpers.py
    assert stdout(9) == "done 12\n"


def test_sh_e_cell_fails_the_notebook_on_a_non_zero_exit(notebooks: Path) -> None:
    nb = _read(notebooks / "sh_e.py")

    with pytest.raises(CellExecutionError) as info:
        NotebookClient(nb, kernel_name="python3", timeout=60).execute()

    assert info.value.ename == "CalledProcessError"
    assert "before" in "".join(o.get("text", "") for o in nb.cells[0].outputs)


# -- Databricks magic cells that map to the local runtime ----------------------------------------------------


def _databricks(path: Path, *cells: str) -> Path:
    path.write_text("# Databricks notebook source\n" + "\n\n# COMMAND ----------\n\n".join(cells) + "\n")
    return path


def test_databricks_sql_cell_becomes_a_call_of_the_local_spark_sql_cell(tmp_path: Path) -> None:
    path = _databricks(
        tmp_path / "report.py", "x = 1", "# MAGIC %sql\n# MAGIC SELECT 1 AS one;\n# MAGIC SELECT 'a;b' AS two"
    )

    cell = _read(path).cells[1]

    assert cell.cell_type == "code"
    assert "_sqldf = _jtv_sql_cell(\"SELECT 1 AS one;\\nSELECT 'a;b' AS two\"" in cell.source
    assert f"cell 2 of notebook {str(path)!r}" in cell.source


def test_databricks_fs_cell_becomes_the_dbutils_fs_call(tmp_path: Path) -> None:
    path = _databricks(
        tmp_path / "files.py",
        "# MAGIC %fs ls /Volumes/main/raw/files",
        "# MAGIC %fs rm -r dbfs:/tmp/old",
    )

    assert [cell.source for cell in _read(path).cells] == [
        "display(dbutils.fs.ls('/Volumes/main/raw/files'))",
        "dbutils.fs.rm('dbfs:/tmp/old', recurse=True)",
    ]


def test_databricks_fs_cell_with_an_unknown_command_names_the_cell_and_the_supported_ones(
    notebooks: Path,
) -> None:
    path = notebooks / "foreign_fs.py"

    error = _error(path)

    assert str(error).startswith(f"Cell 3 of notebook {str(path)!r} is a %fs cell")
    assert "ls|mkdirs|mv|rm" in str(error).replace("cp|head|", "")
    assert (error.fields["cell_number"], error.fields["magic"]) == (3, "%fs")


def test_databricks_pip_cell_is_kept_for_ipython_to_install_into_the_kernel_environment(
    tmp_path: Path,
) -> None:
    path = _databricks(tmp_path / "deps.py", "# MAGIC %pip install --quiet some-package==1.0")

    assert _sources(_read(path)) == [("code", "%pip install --quiet some-package==1.0")]
