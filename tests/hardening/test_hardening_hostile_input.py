"""Hostile names and files: keys, task keys, run ids and parameter names that try to escape, spoof or overflow;
job files that are huge, deep, self-referencing, binary or try to construct Python objects; references nested
or malformed; notebooks that are not notebooks.

The rule everywhere: a documented error (a :class:`TaskValuesError` subclass) or a correct result; never
another exception, and never a file created or changed outside the run's own directory.
"""

from __future__ import annotations

import ast
import gzip
import json
import os
import time
import unicodedata
from pathlib import Path

import nbformat
import pytest

from jupyter_taskvalues import dbutils
from jupyter_taskvalues.cli import main as cli_main
from jupyter_taskvalues.exceptions import (
    InvalidKeyError,
    InvalidRunIdError,
    JobSpecError,
    NotebookFormatError,
    ReferenceResolutionError,
    TaskValuesError,
)
from jupyter_taskvalues.jobs.notebooks.formats import inject_parameters, read_notebook
from jupyter_taskvalues.jobs.spec.loader import load_job
from jupyter_taskvalues.jobs.spec.sources import MAX_FILE_BYTES
from jupyter_taskvalues.references import ResolutionContext, find_references, resolve, resolve_json
from jupyter_taskvalues.store import RunStore
from jupyter_taskvalues.values import check_key
from tests.hardening.hardening_helpers import HOSTILE_NAMES, changed_outside, task_env, tree

# -- value keys, task keys and run ids ------------------------------------------------------------------------


def test_hostile_value_keys_are_refused_or_stored_inside_the_run_and_read_back_exactly(
    tmp_path: Path, runs_dir: Path
) -> None:
    store = RunStore(runs_dir)
    run_id = store.create_run(job_name="hostile", tasks={"t": {}}, max_values=1000)
    before = tree(tmp_path)
    stored, refused = {}, []
    for i, key in enumerate(HOSTILE_NAMES):
        try:
            store.set_value(run_id, "t", key, {"i": i, "key": key.encode("utf-8", "surrogatepass").hex()})
        except InvalidKeyError:
            refused.append(key)
        else:
            stored[key] = i

    assert changed_outside(before, tree(tmp_path), [f"runs/{run_id}"]) == []
    listed = store.list_values(run_id, "t")
    assert set(listed) == set(stored)  # NFC and NFD, homoglyphs, 'CON' and 'con': each its own key
    for key, i in stored.items():
        assert store.get_value(run_id, "t", key)["i"] == i
    for key in (
        "../x",
        "/etc/passwd",
        "a\x00b",
        "\x1b[31mred\x1b[0m",
        "\u202eexe.txt",
        "\ud800",
        "..",
        "x" * 257,
    ):
        assert key in refused, key
    assert store.count_values(run_id) == len(stored)


@pytest.mark.parametrize("key", ["\u202eexe.txt", "a\u2066b", "\u200fx", "x\u061c"])
def test_a_key_with_a_bidirectional_control_is_refused_because_it_displays_as_another_text(key: str) -> None:
    with pytest.raises(InvalidKeyError, match="control"):
        check_key(key)


def test_hostile_task_keys_of_values_stay_inside_the_run(tmp_path: Path, runs_dir: Path) -> None:
    store = RunStore(runs_dir)
    run_id = store.create_run(job_name="hostile", tasks={}, max_values=1000)
    before = tree(tmp_path)
    for i, task in enumerate(HOSTILE_NAMES):
        try:
            store.set_value(run_id, task, "k", i)
        except TaskValuesError:
            continue
        assert store.get_value(run_id, task, "k") == i
    assert changed_outside(before, tree(tmp_path), [f"runs/{run_id}"]) == []


def test_hostile_run_ids_are_refused_before_any_file_is_touched(tmp_path: Path, runs_dir: Path) -> None:
    store = RunStore(runs_dir)
    store.create_run(job_name="real", tasks={"t": {}}, run_id="real")
    accepted = []
    before = tree(tmp_path)
    for run_id in HOSTILE_NAMES:
        try:
            store.run_dir(run_id)
        except InvalidRunIdError:
            for call in (
                lambda: store.create_run(job_name="x", tasks={"t": {}}, run_id=run_id),  # noqa: B023
                lambda: store.read_run(run_id),  # noqa: B023
                lambda: store.set_value(run_id, "t", "k", 1),  # noqa: B023
                lambda: store.get_value(run_id, "t", "k"),  # noqa: B023
                lambda: store.list_values(run_id, "t"),  # noqa: B023
                lambda: store.delete_run(run_id),  # noqa: B023
            ):
                with pytest.raises(InvalidRunIdError):
                    call()
        else:  # a plain name such as "admin": a run of that name lives directly under the runs directory
            store.create_run(job_name="x", tasks={"t": {}}, run_id=run_id)
            store.set_value(run_id, "t", "k", 1)
            accepted.append(run_id)
    assert all(name.isascii() and "/" not in name and not name.startswith(".") for name in accepted)
    assert changed_outside(before, tree(tmp_path), [f"runs/{name}" for name in accepted]) == []
    assert sorted(store.run_ids()) == sorted([*accepted, "real"])


def test_a_task_process_whose_run_id_is_hostile_writes_nothing(
    tmp_path: Path, runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree(tmp_path)
    for run_id in ("../../escape", "/tmp/escape", "a\nb", "..", "x" * 5000):
        for name, value in task_env(runs_dir, run_id, "t").items():
            if name.startswith("JUPYTER_TASKVALUES_"):
                monkeypatch.setenv(name, value)
        with pytest.raises(InvalidRunIdError):
            dbutils.jobs.taskValues.set("k", 1)
        with pytest.raises(InvalidRunIdError):
            dbutils.jobs.taskValues.get("t", "k", default=0)
    assert changed_outside(before, tree(tmp_path), []) == []


def test_dbutils_get_of_a_hostile_task_key_is_a_documented_error(
    tmp_path: Path, runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunStore(runs_dir)
    run_id = store.create_run(job_name="x", tasks={"a": {}, "b": {}})
    store.set_value(run_id, "a", "k", 1)
    for name, value in task_env(runs_dir, run_id, "b").items():
        if name.startswith("JUPYTER_TASKVALUES_"):
            monkeypatch.setenv(name, value)
    for task in HOSTILE_NAMES:
        with pytest.raises(ValueError):  # TaskNotFoundError or InvalidKeyError, both ValueError as Databricks
            dbutils.jobs.taskValues.get(task, "k")
        with pytest.raises(ValueError):
            dbutils.jobs.taskValues.get("a", task)


@pytest.mark.parametrize("run_id", ["../..", "/etc", "a\x00b", "x" * 300, "\u202e", "..%2f"])
def test_the_cli_answers_a_hostile_run_id_with_one_line_and_exit_2(
    run_id: str, runs_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in (["show", run_id], ["get", run_id, "t", "k"], ["repair", run_id]):
        assert cli_main([*command, "--runs-dir", str(runs_dir)]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err


# -- task keys and parameter names in job files ---------------------------------------------------------------


def _job_file(tmp_path: Path, settings: dict[str, object]) -> Path:
    nb = tmp_path / "nb.ipynb"
    if not nb.exists():
        nbformat.write(nbformat.v4.new_notebook(), str(nb))
    path = tmp_path / "job.json"
    path.write_text(json.dumps(settings, ensure_ascii=False))
    return path


def test_hostile_task_keys_in_a_job_file_are_job_spec_errors(tmp_path: Path) -> None:
    for key in HOSTILE_NAMES:
        if key == "\ud800":
            continue  # not encodable in a UTF-8 file
        path = _job_file(
            tmp_path, {"name": "j", "tasks": [{"task_key": key, "notebook_task": {"notebook_path": "nb"}}]}
        )
        try:
            spec = load_job(path)
        except JobSpecError as e:
            assert e.problems, key
        else:
            assert spec.tasks[0].task_key == key and key.isascii() and len(key) <= 100, key


def test_hostile_parameter_names_load_and_reach_no_other_python_name(tmp_path: Path) -> None:
    names = [n for n in HOSTILE_NAMES if n and n != "\ud800"]
    params = [{"name": name, "default": f"v{i}"} for i, name in enumerate(names)]
    path = _job_file(
        tmp_path,
        {
            "name": "j",
            "parameters": params,
            "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "nb"}}],
        },
    )
    try:
        spec = load_job(path)
    except JobSpecError:
        return
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}))
    injected = inject_parameters(nb, spec.parameter_defaults())
    assigned = {
        target.id
        for cell in injected.cells
        for node in ast.walk(ast.parse(cell.source))
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    # Python folds identifiers with NFKC: a name that folds to another ("𝐝𝐛𝐮𝐭𝐢𝐥𝐬" → dbutils) would assign
    # that other name. Only names that are exactly themselves may be assigned.
    assert assigned <= {"x", *names}
    assert "dbutils" not in assigned and "file" not in assigned


def test_a_parameter_named_like_a_builtin_in_another_script_does_not_replace_it() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("", metadata={"tags": ["parameters"]}))
    bold_print = "".join(chr(0x1D429 + ord(c) - ord("p")) if c.isalpha() else c for c in "print")

    injected = inject_parameters(nb, {bold_print: "hijacked", "ok": "1"})

    source = "".join(cell.source for cell in injected.cells)
    assert unicodedata.normalize("NFKC", bold_print) == "print"
    assert "hijacked" not in source
    assert "ok = '1'" in source


# -- job files that are not job files -------------------------------------------------------------------------

_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(12)
)

HOSTILE_FILES: dict[str, bytes] = {
    "billion-laughs.yml": _LAUGHS.encode(),
    "python-apply.yml": b'name: !!python/object/apply:os.system ["touch MARKER"]\ntasks: []\n',
    "python-name.yml": b"name: !!python/name:os.system\ntasks: []\n",
    "python-new.yml": b"name: !!python/object/new:os.system [touch MARKER]\ntasks: []\n",
    "python-module.yml": b"name: !!python/module:os\ntasks: []\n",
    "custom-tag.yml": b"name: !shell touch MARKER\ntasks: []\n",
    "binary-tag.yml": b"name: !!binary aGVsbG8=\ntasks: []\n",
    "set-tag.yml": b"name: x\ntasks: !!set {a: null}\n",
    "bad-date.yml": b"name: 2024-13-45\ntasks: []\n",
    "bad-int-tag.yml": b"name: x\ntimeout_seconds: !!int 'abc'\ntasks: []\n",
    "bad-float-tag.yml": b"name: x\ntimeout_seconds: !!float 'abc'\ntasks: []\n",
    "huge-int.yml": b"name: x\ntimeout_seconds: " + b"9" * 5000 + b"\ntasks: []\n",
    "huge-int.json": b'{"name": "x", "tasks": [], "timeout_seconds": ' + b"9" * 5000 + b"}",
    "huge-int-no-suffix": b'{"name": "x", "tasks": [], "timeout_seconds": ' + b"9" * 5000 + b"}",
    "huge-float.json": b'{"name": "x", "tasks": [], "timeout_seconds": 1e999999}',
    "unhashable-key.yml": b"? [a, b]\n: c\n",
    "deep.json": b"[" * 200_000,
    "deep.yml": b"[" * 200_000,
    "deep-block.yml": b"".join(b" " * i + b"- \n" for i in range(0, 3000, 2)),
    "deep-map.json": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "many-tasks.json": json.dumps(
        {"name": "x", "tasks": [{"task_key": f"t{i}"} for i in range(20_000)]}
    ).encode(),
    "nul-bytes.json": b"\x00" * 1000,
    "random-binary": os.urandom(4096),
    "png.json": b"\x89PNG\r\n\x1a\n" + os.urandom(256),
    "gzip.json": gzip.compress(b'{"name": "x", "tasks": []}'),
    "utf16.json": '{"name": "x", "tasks": []}'.encode("utf-16"),
    "latin1.yml": "name: caf\u00e9\ntasks: []\n".encode("latin-1"),
    "empty.json": b"",
    "null.yml": b"null\n",
    "list.json": b"[1, 2, 3]",
    "string.yml": b"just a string\n",
    "tabs.yml": b"name: x\n\ttasks: []\n",
    "bom-only.json": b"\xef\xbb\xbf",
    "lone-surrogate.json": b'{"name": "\\ud800", "tasks": []}',
    "nul-in-path.json": b'{"name": "x", "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "a\\u0000b"}}]}',
    "huge-key.json": json.dumps({"name": "x", "tasks": [{"task_key": "k" * 1_000_000}]}).encode(),
    "notebook-dir.json": b'{"name": "x", "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/"}}]}',
    "self-dependency.json": b'{"name": "x", "tasks": [{"task_key": "a", "depends_on": [{"task_key": "a"}], '
    b'"notebook_task": {"notebook_path": "nb"}}]}',
    "bundle-include-outside.yml": b"bundle: {name: b}\ninclude: ['../../../../../../etc/*']\n",
    "bundle-include-self.yml": b"bundle: {name: b}\ninclude: ['*.yml', '**/*']\nresources: {jobs: {}}\n",
    "bundle-bad-targets.yml": b"bundle: {name: b}\ntargets: [1, 2]\nresources: {jobs: {j: {tasks: 3}}}\n",
    "bundle-variable-loop.yml": b"bundle: {name: b}\nvariables: {a: {default: '${var.b}'}, b: {default: '${var.a}'}}\n"
    b"resources: {jobs: {j: {name: '${var.a}', tasks: []}}}\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_a_hostile_job_file_is_a_job_spec_error_and_runs_nothing(name: str, tmp_path: Path) -> None:
    folder = tmp_path / "jobs"
    folder.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), str(folder / "nb.ipynb"))
    path = folder / name
    path.write_bytes(HOSTILE_FILES[name].replace(b"MARKER", str(tmp_path / "pwned").encode()))
    before = tree(tmp_path)
    began = time.monotonic()

    with pytest.raises(JobSpecError) as raised:
        load_job(path)

    assert time.monotonic() - began < 20
    assert raised.value.problems
    assert "Traceback" not in str(raised.value)
    assert not (tmp_path / "pwned").exists()
    assert tree(tmp_path) == before


def test_a_job_file_over_the_size_limit_is_refused_without_being_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: refused by its size alone
    began = time.monotonic()

    with pytest.raises(JobSpecError, match="limit"):
        load_job(path)

    assert time.monotonic() - began < 1


# -- references nested or malformed ---------------------------------------------------------------------------

_CTX = ResolutionContext(
    job_id="1",
    job_name="j",
    run_id="r",
    job_parameters={"p": "{{job.id}}", "`q`": "x"},
    task_value=lambda task, key: "{{job.run_id}}" if key == "echo" else [1, "{{job.id}}"],
)

MALFORMED = [
    "{{ {{job.id}} }}",
    "{{{{job.id}}}}",
    "{{tasks.{{job.id}}.values.x}}",
    "{{job.id}",
    "{job.id}}",
    "{{job..id}}",
    "{{.job}}",
    "{{job.}}",
    "{{ }}",
    "{{}}",
    "{{`}}",
    "{{``}}",
    "{{`job`.`id`}}",
    "{{`unterminated.id}}",
    "{{job.parameters.`p`}}",
    "{{job.parameters.p}}",
    "{{tasks.a.values.echo}}",
    "{{tasks.a.values.`../../x`}}",
    "{{tasks.`../a`.values.x}}",
    "{{input.a.b.c}}",
    "{{job.start_time.__class__}}",
    "{{job.__init__.__globals__}}",
    "{{ job.id\x00 }}",
    "{{job.id}}\u202e",
    "{{" * 50_000,
    "}}" * 50_000,
    "{{" + "a." * 100_000 + "a",
    "{{`" + "a" * 200_000,
    "{{" + "`a`." * 50_000 + "}}",
    "{{ " + " " * 100_000 + "job.id",
    "{{a{{a{{a" * 30_000,
]


@pytest.mark.parametrize("template", MALFORMED, ids=range(len(MALFORMED)))
def test_nested_or_malformed_references_resolve_or_raise_a_reference_error_quickly(template: str) -> None:
    began = time.monotonic()
    try:
        resolved = resolve(template, _CTX)
    except ReferenceResolutionError:
        pass
    else:
        assert isinstance(resolved, str)
        assert "{{job.run_id}}" not in template or "r" in resolved
    with pytest.raises((ReferenceResolutionError,)) if False else _maybe():
        resolve_json(template, _CTX)
    for ref in find_references(template):
        assert template[ref.start : ref.end] == ref.text
    assert time.monotonic() - began < 5


class _maybe:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: object, _tb: object) -> bool:
        return kind is None or isinstance(error, ReferenceResolutionError)


def test_a_substituted_value_is_never_scanned_again_for_references() -> None:
    assert resolve("{{tasks.a.values.echo}}", _CTX) == "{{job.run_id}}"
    assert resolve("{{job.parameters.p}}", _CTX) == "{{job.id}}"
    assert resolve_json("{{tasks.a.values.list}}", _CTX) == [1, "{{job.id}}"]


# -- notebooks that are not notebooks -------------------------------------------------------------------------

HOSTILE_NOTEBOOKS: dict[str, bytes] = {
    "binary.ipynb": os.urandom(2048),
    "nul.ipynb": b"\x00" * 100,
    "empty.ipynb": b"",
    "list.ipynb": b"[]",
    "deep.ipynb": b"[" * 200_000,
    "deep-map.ipynb": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "deep-metadata.ipynb": b'{"nbformat": 4, "nbformat_minor": 5, "cells": [], "metadata": '
    + b'{"a":' * 900
    + b"1"
    + b"}" * 900
    + b"}",
    "bad-cells.ipynb": b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": 7}',
    "huge-int.ipynb": b'{"nbformat": ' + b"9" * 5000 + b', "metadata": {}, "cells": []}',
    "future-format.ipynb": b'{"nbformat": 99, "nbformat_minor": 0, "metadata": {}, "cells": []}',
    "utf16.ipynb": '{"nbformat": 4}'.encode("utf-16"),
    "binary.py": b"\x00\x01\x02\xff\xfe" * 100,
    "latin1.py": "# Databricks notebook source\nx = 'caf\u00e9'\n".encode("latin-1"),
    "binary.md": os.urandom(1024),
    "sql-only.py": b"# Databricks notebook source\n# MAGIC %sql\n# MAGIC SELECT 1\n",
    "run-self.py": b"# Databricks notebook source\n# MAGIC %run ./run-self\n",
    "run-outside.py": b"# Databricks notebook source\n# MAGIC %run ../../../../../../etc/passwd\n",
    "run-nul.py": b"# Databricks notebook source\n# MAGIC %run ./a\x00b\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_NOTEBOOKS))
def test_a_hostile_notebook_file_is_a_notebook_format_error(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(HOSTILE_NOTEBOOKS[name])
    before = tree(tmp_path)
    try:
        read_notebook(path)
    except NotebookFormatError as e:
        assert "Traceback" not in str(e)
    assert tree(tmp_path) == before


# -- magics -----------------------------------------------------------------------------------------------------


def test_hostile_magic_lines_are_usage_errors_and_write_nothing(tmp_path: Path, runs_dir: Path) -> None:
    from IPython.core.error import UsageError
    from IPython.testing import globalipapp

    from jupyter_taskvalues.runtime import session

    store = RunStore(runs_dir)
    run_id = store.create_run(job_name="x", tasks={"a": {}})
    store.set_value(run_id, "a", "k", 1)
    shell = globalipapp.get_ipython()  # type: ignore[no-untyped-call]
    session.clear_session()
    session.detach()
    shell.run_line_magic("load_ext", "jupyter_taskvalues")
    before = tree(tmp_path)
    lines = [
        "attach ../../etc a",
        "attach /etc/passwd a",
        f"attach {run_id} ../a",
        f"attach {run_id} '\u202ea'",
        "attach 'a b' c",
        "get ../x k --debug 1 --default",
        "set ../x 1",
        "set 'a\\x00b' 1",
        "set k __import__('os')",
        "set k {1: 2}",
        "set k float('nan')",
        "set k 'x' * 50000",
        "list ../../etc",
        "show ../..",
        "nosuch",
        "'",
        "attach",
    ]
    try:
        for line in lines:
            with pytest.raises(UsageError):
                shell.run_line_magic("taskvalue", line)
    finally:
        shell.run_line_magic("unload_ext", "jupyter_taskvalues")
        session.clear_session()
        session.detach()
    assert tree(tmp_path) == before


# -- mixed jobs: wheels, stubs and selections (issue 13) -------------------------------------------------------


def _mixed_job(tmp_path: Path, tasks: list[dict[str, object]], **settings: object) -> Path:
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"name": "mixed", "tasks": tasks, **settings}))
    return path


def test_a_wheel_whose_entry_point_is_missing_fails_naming_package_and_entry_point(tmp_path: Path) -> None:
    from jupyter_taskvalues.jobs.api import run_job

    project = tmp_path / "pkg"
    (project / "src" / "tiny_pkg").mkdir(parents=True)
    (project / "src" / "tiny_pkg" / "__init__.py").write_text("def main():\n    return 0\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "tiny-pkg"\nversion = "1.0"\n[project.scripts]\ntiny = "tiny_pkg:main"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["src/tiny_pkg"]\n'
    )
    bundle = tmp_path / "databricks.yml"
    bundle.write_text(
        "bundle: {name: b}\nartifacts: {pkg: {type: whl, path: ./pkg}}\nresources:\n  jobs:\n    j:\n"
        "      tasks:\n        - task_key: w\n          python_wheel_task: {package_name: tiny_pkg, entry_point: nope}\n"
    )
    document = run_job(bundle, runs_dir=tmp_path / "runs")
    error = document["tasks"]["w"]["error"]
    assert document["tasks"]["w"]["state"] == "FAILED"
    assert "Package 'tiny_pkg' has no entry point 'nope' (its entry points: tiny)" in error


def test_a_stub_file_that_is_not_json_is_a_job_spec_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "values.json").write_text("{rows: 3,")
    path = _mixed_job(
        tmp_path, [{"task_key": "q", "sql_task": {}}], tags={"jupyter_taskvalues_stub_q": "values.json"}
    )
    with pytest.raises(JobSpecError) as info:
        load_job(path)
    assert "tags.jupyter_taskvalues_stub_q: Stub values file" in str(info.value)
    assert "is not JSON" in str(info.value)
    from jupyter_taskvalues.jobs.tasks.stub import parse_stub_option

    with pytest.raises(JobSpecError, match="holds a list; it must be a JSON object"):
        parse_stub_option("q=[1, 2]")


def test_only_naming_an_unknown_task_says_did_you_mean_and_writes_nothing(tmp_path: Path) -> None:
    from jupyter_taskvalues.jobs.api import run_job
    from jupyter_taskvalues.jobs.scheduler import RunOptions

    path = _mixed_job(tmp_path, [{"task_key": "ingest", "sql_task": {}}])
    with pytest.raises(JobSpecError, match=r"no task 'ingset'; did you mean 'ingest'\?"):
        run_job(path, runs_dir=tmp_path / "runs", options=RunOptions(only=("ingset+",)))
    assert not (tmp_path / "runs").exists()


def test_from_run_of_an_unknown_run_is_a_job_spec_error_and_writes_nothing(tmp_path: Path) -> None:
    from jupyter_taskvalues.jobs.api import run_job
    from jupyter_taskvalues.jobs.scheduler import RunOptions

    runs = tmp_path / "runs"
    runs.mkdir()
    path = _mixed_job(tmp_path, [{"task_key": "a", "sql_task": {}}, {"task_key": "b", "sql_task": {}}])
    options = RunOptions(only=("b",), from_run="20990101-000000-000-000000", stubs={"b": {}})
    before = tree(runs)
    with pytest.raises(JobSpecError, match="--from-run '20990101-000000-000-000000': no such run"):
        run_job(path, runs_dir=runs, options=options)
    assert tree(runs) == before


_BUNDLE_JOB = (
    "resources:\n  jobs:\n    j:\n      name: {name}\n      tasks:\n        - task_key: t\n"
    "          notebook_task: {{notebook_path: nb.ipynb}}\n"
)

#: Bundles the CLI refuses before anything runs: (databricks.yml, extra files, CLI arguments, what the error says).
HOSTILE_BUNDLES: dict[str, tuple[str, dict[str, str], list[str], list[str]]] = {
    "reference-loop": (
        "bundle: {name: b}\nvariables:\n  a: {default: '${var.b}'}\n  b: {default: 'x-${var.a}'}\n"
        + _BUNDLE_JOB.format(name="'${var.a}'"),
        {},
        [],
        ["resources.jobs.j.name", "loop: ${var.a} -> ${var.b} -> ${var.a}", "plain value"],
    ),
    "variable-without-value": (
        "bundle: {name: b}\nvariables:\n  catalog: {description: no default}\n"
        + _BUNDLE_JOB.format(name="'${var.catalog}'"),
        {},
        [],
        ["resources.jobs.j.name", "${var.catalog}", "--var catalog=VALUE", "BUNDLE_VAR_catalog"],
    ),
    "unknown-target": (
        "bundle: {name: b}\ntargets: {dev: {default: true}, prod: {}}\n" + _BUNDLE_JOB.format(name="j"),
        {},
        ["--target", "staging"],
        ["targets:", "'staging' is not defined (targets: dev, prod)", "--target NAME"],
    ),
    "python-loader-raises": (
        "bundle: {name: b}\npython:\n  resources: ['hostile_loader:load']\n",
        {"hostile_loader.py": "def load(bundle):\n    raise RuntimeError('no catalog configured')\n"},
        [],
        ["python:", "hostile_loader:load raised RuntimeError: no catalog configured", "Fix the function"],
    ),
    "duplicate-key": (
        "bundle: {name: b}\n" + _BUNDLE_JOB.format(name="j") + "      name: again\n",
        {},
        [],
        ["'name' appears twice", "at lines 5 and 9", "keep one"],
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_BUNDLES))
def test_a_refused_bundle_names_the_file_field_and_fix_and_leaves_the_runs_dir_alone(
    case: str, tmp_path: Path, runs_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, files, arguments, expected = HOSTILE_BUNDLES[case]
    folder = tmp_path / "bundle"
    folder.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), str(folder / "nb.ipynb"))
    for name, content in files.items():
        (folder / name).write_text(content)
    (folder / "databricks.yml").write_text(text)
    runs_dir.mkdir()
    (runs_dir / "earlier-run.json").write_text("{}")
    before = tree(runs_dir)

    code = cli_main(["run", str(folder / "databricks.yml"), *arguments, "--runs-dir", str(runs_dir)])

    out = capsys.readouterr()
    message = out.err + out.out
    assert code != 0
    assert str(folder / "databricks.yml") in message
    for part in expected:
        assert part in message, (part, message)
    assert "Traceback" not in message
    assert tree(runs_dir) == before
