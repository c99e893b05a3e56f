"""The layers of DESIGN.md: what each part of the package may import, and no import cycle anywhere.

In fresh interpreters: the core and ``dbutils`` load no Jupyter front end (a task process, a Dask worker or a
script that only sets task values must not pay for IPython, ipywidgets, tornado or nbclient, and must not break
when they are missing). From the source (an import graph built from every module's AST, function-level imports
included): core (the package root modules and ``store/``) imports nothing of ``jobs/``, ``runtime/`` or the
adapters; the adapters (``cli``, ``ipython``, ``widget``, ``server``) never import each other; ``runtime/``
imports no adapter; and no module imports itself through others. And only ``store/`` names the files and folders
of a run (``store/_layout.py``): every other module asks the store for paths.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import jupyter_taskvalues
from jupyter_taskvalues.store import _layout
from jupyter_taskvalues.store._log import LOG_NAME

FRONT_ENDS = ("IPython", "ipywidgets", "tornado", "nbclient")
CORE = (
    "jupyter_taskvalues",
    "jupyter_taskvalues.context",
    "jupyter_taskvalues.document",
    "jupyter_taskvalues.exceptions",
    "jupyter_taskvalues.references",
    "jupyter_taskvalues.store",
    "jupyter_taskvalues.values",
)


def _loaded_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; return the front-end packages it left in ``sys.modules``."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({FRONT_ENDS!r}))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("module", CORE)
def test_importing_core_loads_no_front_end(module: str) -> None:
    assert _loaded_after(f"import {module}") == []


@pytest.mark.parametrize(
    "code",
    [
        "import jupyter_taskvalues.runtime.dbutils",
        "import jupyter_taskvalues.runtime.session",
        "from jupyter_taskvalues import dbutils\n"
        "dbutils.jobs.taskValues.set('k', 1)\n"
        "dbutils.widgets.text('w', 'x')",
    ],
)
def test_dbutils_loads_no_front_end(code: str) -> None:
    assert _loaded_after(code) == []


def test_loading_the_ipython_extension_does_not_import_ipywidgets() -> None:
    # The panel (ipywidgets) is imported by `%taskvalue show` only.
    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'jupyter_taskvalues')\n"
        "assert 'dbutils' in ip.user_ns"
    )
    assert "ipywidgets" not in _loaded_after(code)


# -- the import graph, from the source -----------------------------------------------------------------------

PACKAGE = Path(jupyter_taskvalues.__file__).parent
ADAPTERS = ("cli", "ipython", "widget", "server")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports, at module level or inside functions (not under TYPE_CHECKING).

    ``from . import x`` where ``x`` is a submodule depends on ``x``; an import of the importer's own parent
    package is left out, because that package is already being imported whenever the importer runs.
    """
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.orelse:
                    visit(statement)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                submodules = {f"{target}.{alias.name}" for alias in child.names} & modules
                found.update(submodules)
                if len(submodules) < len(child.names) or target not in ancestors:
                    found.add(target)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return {module for module in found if module in modules and module != name and module not in ancestors}


def _import_graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(path) for path in files}
    return {_module_name(path): _imports(path, modules) for path in files}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that returns to its start) for every strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(module: str) -> None:  # Tarjan's algorithm
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph[module]):
            if other not in index:
                connect(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(group)

    for module in sorted(graph):
        if module not in index:
            connect(module)
    cycles = []
    for group in groups:
        start = min(group)
        path, seen = [start], {start}
        while True:  # walk inside the group until a module repeats
            step = min(other for other in graph[path[-1]] if other in group)
            if step in seen:
                cycles.append([*path[path.index(step) :], step])
                break
            path.append(step)
            seen.add(step)
    return cycles


def _area(module: str) -> str:
    """The layer of a module: ``"core"``, a subpackage's name, or ``"entry points"`` for the package itself."""
    parts = module.split(".")
    if len(parts) == 1:  # the hooks Jupyter finds on the package (%load_ext, server extension) live here
        return "entry points"
    if len(parts) == 2 and not (PACKAGE / parts[1]).is_dir():
        return "core"
    return "core" if parts[1] == "store" else parts[1]


def _crossings(allowed: Callable[[str, str], bool]) -> list[str]:
    return sorted(
        f"{module} imports {other}"
        for module, others in _import_graph().items()
        for other in others
        if not allowed(_area(module), _area(other))
    )


def test_the_import_graph_sees_function_level_and_relative_imports() -> None:
    graph = _import_graph()
    assert "jupyter_taskvalues.store._base" in graph["jupyter_taskvalues.store._local"]
    assert "jupyter_taskvalues.store._registry" in graph["jupyter_taskvalues.store._base"]
    # The registry imports the base only for type checking: no edge back.
    assert "jupyter_taskvalues.store._base" not in graph["jupyter_taskvalues.store._registry"]


def test_a_cycle_is_named_module_by_module() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]


def test_no_import_cycle_in_the_package() -> None:
    cycles = [" -> ".join(cycle) for cycle in _cycles(_import_graph())]
    assert cycles == [], "Import cycles:\n" + "\n".join(cycles)


def test_core_imports_nothing_of_jobs_runtime_or_the_adapters() -> None:
    assert _crossings(lambda area, other: area != "core" or other == "core") == []


def test_adapters_never_import_each_other() -> None:
    assert (
        _crossings(lambda area, other: not (area in ADAPTERS and other in ADAPTERS and area != other)) == []
    )


def test_runtime_imports_no_adapter() -> None:
    assert _crossings(lambda area, other: not (area == "runtime" and other in ADAPTERS)) == []


# -- the run folder's layout, named by the store only ---------------------------------------------------------

#: File names and name parts of a run's folder that nothing but the store may spell (in code: docs may).
LAYOUT_FILES = (
    _layout.RUN_RECORD_NAME,
    _layout.TASK_RECORD_NAME,
    LOG_NAME,
    _layout.output_log_name("t", None).removeprefix("t"),  # ".output.log"
    _layout.TRASH_PREFIX,
)
#: Folder and file names of a run that are ordinary words elsewhere: flagged only as a path's part.
LAYOUT_PARTS = (
    _layout.TASKS_DIR,
    _layout.NOTEBOOKS_DIR,
    _layout.REQUESTS_DIR,
    _layout.LOGS_DIR,
    _layout.HEARTBEAT_NAME,
)


def _layout_uses(source: str) -> list[str]:
    """The places in ``source`` that spell the run folder's layout: a string (not a docstring) holding one of
    :data:`LAYOUT_FILES`, or one of :data:`LAYOUT_PARTS` as a path's part (``path / "logs"``, ``"logs/x"``,
    ``os.path.join(..., "logs")``, ``.joinpath``/``.with_name`` of it)."""
    found = []
    tree = ast.parse(source)
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    path_parts: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            path_parts.update((id(node.left), id(node.right)))
        elif isinstance(node, ast.Call):
            func = node.func
            name = getattr(func, "attr", None) or getattr(func, "id", "")
            if name in ("join", "joinpath", "with_name", "_path"):
                path_parts.update(id(arg) for arg in node.args)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in docstrings:
            continue
        text = node.value
        if "(?P<" in text:  # a REST route's pattern (``/runs/(?P<run_id>...)/tasks/``), not a file's path
            continue
        spelled = [name for name in LAYOUT_FILES if name in text]
        spelled += [
            name
            for name in LAYOUT_PARTS
            if (text == name and id(node) in path_parts) or text.startswith(f"{name}/") or f"/{name}/" in text
        ]
        found += [f"line {node.lineno}: {text!r}" for _ in spelled[:1]]
    return found


def test_the_layout_check_finds_paths_built_by_hand_and_not_words_or_docs() -> None:
    source = (
        '"""Reads notebooks/<task>.ipynb and run.json."""\n'
        "def f(run_dir, run):\n"
        '    """The run.json of a run."""\n'
        '    a = run_dir / "run.json"\n'
        '    b = run_dir / "logs"\n'
        '    c = os.path.join(run_dir, "notebooks", "x.ipynb")\n'
        '    d = run.get("tasks"), r"/runs/(?P<run_id>[^/]+)/tasks/"\n'
        '    e = f"{run_dir}/requests/cancel.json"\n'
        '    return run_dir.with_name(".gc-" + run["run_id"]), "logs"\n'
    )
    assert _layout_uses(source) == [
        "line 4: 'run.json'",
        "line 5: 'logs'",
        "line 6: 'notebooks'",
        "line 8: '/requests/cancel.json'",
        "line 9: '.gc-'",
    ]


def test_only_the_store_names_the_files_of_a_run_folder() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}: {use}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if "store" not in path.relative_to(PACKAGE).parts[:1]
        for use in _layout_uses(path.read_text(encoding="utf-8"))
    ]
    message = "Ask the store for these paths (RunStore methods), not build them:\n" + "\n".join(found)
    assert found == [], message
