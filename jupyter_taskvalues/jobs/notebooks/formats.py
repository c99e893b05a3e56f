"""Read every notebook format a task may point at, and hand it parameters papermill-style.

:func:`read_notebook` turns a file into an executable :class:`nbformat.NotebookNode` (nbformat 4.5, every cell
with a stable ``id``, valid under :func:`nbformat.validate`). Formats, detected by content before extension:

``.ipynb``
    Read with nbformat. Cells whose source starts with a Databricks magic (see below) are converted as in
    Databricks source, so notebooks exported from Databricks as ``.ipynb`` run too. ``%sql`` counts as
    Databricks SQL only when the notebook carries Databricks metadata (elsewhere it may be ipython-sql's).
Databricks source
    Any file whose first line is ``# Databricks notebook source`` (usually ``.py``). Cells are separated by
    ``# COMMAND ----------`` lines (the single blank line Databricks writes on each side is dropped). A cell
    whose lines are prefixed ``# MAGIC`` starts with its magic:

    - ``%md`` / ``%md-sandbox``: a markdown cell.
    - ``%python``: plain Python.
    - ``%pip ...``: a code cell keeping the ``%pip`` lines: IPython's ``%pip`` installs into the environment
      of the task's kernel (the run's environment), as Databricks installs into the notebook's.
    - ``%sh``: a ``%%sh`` cell. As on Databricks, a non-zero exit fails the cell only with ``%sh -e``.
    - ``%run ./other [$name="value" ...]``: the code cells of ``other`` (resolved against the folder of the
      notebook holding the ``%run``; extension optional, ``.py`` then ``.ipynb`` then ``.md``) are inlined in
      place, recursively, so they run in the same kernel as on Databricks. Arguments become
      ``dbutils.widgets`` values before the inlined cells. A cycle is an error naming it. Inlined cells lose
      their ``parameters`` tag (parameters go to the notebook the task names) and record where they came
      from in ``metadata["jupyter_taskvalues"]``.
    - ``%sql``: a code cell that runs each statement through the local SparkSession
      (:func:`jupyter_taskvalues.runtime.spark.sql_cell`), shows the last result as a table and binds it to
      ``_sqldf``, as Databricks does. Without pyspark the cell fails with a message naming the cell and the
      extra to install.
    - ``%fs ls|head|cp|mv|rm|mkdirs ...``: the matching ``dbutils.fs`` call (``-r`` is ``recurse=True``);
      ``ls`` shows its listing as a table.
    - ``%scala``, ``%r``, ``%conda``: :class:`NotebookFormatError` naming the notebook, the cell (1-based)
      and the magic: only Python cells run locally.
    - any other ``%magic`` (``%load_ext``, ``%matplotlib``, ``%%time``...) is IPython's: kept as written.

    ``# DBTITLE 1,Title`` lines are removed and the title kept in ``metadata["title"]``. SQL, Scala and R
    Databricks sources (``-- ...``, ``// ...`` headers, or the ``#`` header in a ``.r`` file) are rejected.
Everything jupytext reads
    Percent and light ``.py`` scripts, ``.md``, MyST... Only Python notebooks run: a notebook whose kernel or
    jupytext main language is not Python raises :class:`NotebookFormatError`.

:func:`inject_parameters` (:mod:`.parameters`) adds the papermill-style ``injected-parameters`` cell;
:func:`cap_outputs` (:mod:`.outputs`) trims huge outputs of an executed notebook before it is kept. Both are
re-exported here.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...exceptions import NotebookFormatError
from .outputs import cap_outputs
from .parameters import INJECTED_TAG, PARAMETERS_TAG, convert_parameter, inject_parameters

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "DATABRICKS_HEADER",
    "INJECTED_TAG",
    "NOTEBOOK_SUFFIXES",
    "PARAMETERS_TAG",
    "cap_outputs",
    "convert_parameter",
    "inject_parameters",
    "read_notebook",
    "resolve_notebook_path",
]

#: First line of a Python notebook exported by Databricks in SOURCE format.
DATABRICKS_HEADER = "# Databricks notebook source"
#: Suffixes tried, in order, for a notebook path given without one (as Databricks paths and ``%run`` are).
NOTEBOOK_SUFFIXES = (".py", ".ipynb", ".md")

_SEPARATOR = "# COMMAND ----------"
_MAGIC = "# MAGIC"
_DBTITLE = re.compile(r"^# DBTITLE \d+,(.*)$")
_MAGIC_LINE = re.compile(r"^%(?P<name>[A-Za-z][\w-]*)(?:[ \t]+(?P<rest>.*))?$")
_RUN_ARGUMENT = re.compile(r"^\$(?P<name>[^=\s]+)=(?P<value>.*)$", re.DOTALL)
_CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
_OTHER_HEADERS = {"-- Databricks notebook source": "SQL", "// Databricks notebook source": "Scala"}
_DATABRICKS_METADATA = "application/vnd.databricks.v1+notebook"
_DATABRICKS_CELL_METADATA = "application/vnd.databricks.v1+cell"
_META = "jupyter_taskvalues"

# Databricks cell magics that select a language (or a Databricks-only service) this runner cannot execute.
_FOREIGN_MAGICS = {
    "scala": "Scala",
    "r": "R",
    "conda": "conda",
}
_FS_COMMANDS = frozenset({"ls", "head", "cp", "mv", "rm", "mkdirs"})
# Magics converted in .ipynb code cells too: none is an IPython line magic, so converting loses nothing.
_IPYNB_MAGICS = frozenset({"md", "md-sandbox", "sh", "python", "scala", "r", "fs", "conda"})
_LOCAL_ONLY_PYTHON = "SQL, Scala and R need a Databricks cluster"


# -- reading -------------------------------------------------------------------------------------------------


def resolve_notebook_path(path: Path | str) -> Path:
    """Return the notebook file ``path`` names, trying :data:`NOTEBOOK_SUFFIXES` when it does not exist.

    Databricks names notebooks without their extension (``notebook_path: /Repos/me/etl/ingest``,
    ``%run ./helpers``); the file on disk is ``ingest.py`` or ``ingest.ipynb``.

    Raises
    ------
    NotebookFormatError
        No such file (the message lists every name tried), or ``path`` is a directory.
    """
    path = Path(path)
    if path.is_file():
        return path
    tried = [path]
    if not path.is_dir():
        for suffix in NOTEBOOK_SUFFIXES:
            candidate = path.with_name(path.name + suffix)
            tried.append(candidate)
            if candidate.is_file():
                return candidate
    if path.is_dir():
        raise NotebookFormatError(
            f"Notebook path {str(path)!r} is a directory, not a notebook. Point the task at a notebook file.",
            path=str(path),
        )
    others = ", ".join(candidate.name for candidate in tried[1:])
    raise NotebookFormatError(
        f"Notebook {str(path)!r} does not exist (also tried {others}). Check the notebook path.",
        path=str(path),
    )


def read_notebook(path: Path | str) -> NotebookNode:
    """Read the notebook at ``path``, in any supported format, into a notebook ready to execute.

    Parameters
    ----------
    path
        An ``.ipynb`` file, a Databricks source file, or any file jupytext reads. Without an extension, the
        :data:`NOTEBOOK_SUFFIXES` are tried.

    Returns
    -------
    nbformat.NotebookNode
        nbformat 4.5, valid, every cell with a stable ``id``; ``%run`` cells replaced by what they include.

    Raises
    ------
    NotebookFormatError
        The file is missing or unreadable, is not a valid notebook, is not a Python notebook, holds a cell in
        another language (the message names the notebook, the cell and the magic), or a ``%run`` cannot be
        resolved or forms a cycle.
    """
    resolved = resolve_notebook_path(path)
    nb = _Reader(resolved).read(resolved, (resolved,))
    _finish(nb, resolved)
    return nb


class _Reader:
    """Reads one notebook and, through ``%run``, the notebooks it includes."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, path: Path, stack: tuple[Path, ...]) -> NotebookNode:
        text = _read_text(path)
        first_line = text.split("\n", 1)[0].strip()
        if first_line == DATABRICKS_HEADER:
            if path.suffix.lower() == ".r":
                raise _foreign_notebook(path, "R", databricks=True)
            return self._databricks_source(path, text, stack)
        if first_line in _OTHER_HEADERS:
            raise _foreign_notebook(path, _OTHER_HEADERS[first_line], databricks=True)
        nb = _parse_ipynb(path, text) if path.suffix.lower() == ".ipynb" else _parse_jupytext(path, text)
        _check_python(nb, path)
        return self._convert_cells(nb, path, stack)

    # -- Databricks source

    def _databricks_source(self, path: Path, text: str, stack: tuple[Path, ...]) -> NotebookNode:
        nb = _new_notebook()
        nb.metadata.update(_python_metadata())
        nb.metadata[_META] = {"source_format": "databricks"}
        lines = text.splitlines()[1:]
        chunks: list[list[str]] = [[]]
        for line in lines:
            if line.rstrip() == _SEPARATOR:
                chunks.append([])
            else:
                chunks[-1].append(line)
        if len(chunks) > 1 and not any(line.strip() for line in chunks[-1]):
            chunks.pop()  # a trailing separator leaves no cell behind it
        for number, raw in enumerate(chunks, start=1):
            chunk = raw
            # Databricks writes exactly one blank line on each side of a separator.
            if chunk and not chunk[0].strip():
                chunk = chunk[1:]
            if chunk and not chunk[-1].strip():
                chunk = chunk[:-1]
            title = None
            if chunk and (match := _DBTITLE.match(chunk[0])):
                title = match.group(1)
                chunk = chunk[1:]
            if chunk and (chunk[0].rstrip() == _MAGIC or chunk[0].startswith(_MAGIC + " ")):
                body = [_unmagic(line) for line in chunk]
                cells = self._magic_cell(body, path, number, stack, databricks=True)
            else:
                cells = [_code_cell("\n".join(chunk))]
            for cell in cells:
                if not cell.get(_META_ORIGIN):  # a cell of this file, not one a %run included
                    cell["id"] = _slug_id(path, number)
                    if title is not None:
                        cell.metadata["title"] = title
            nb.cells.extend(_strip_marks(cells))
        return nb

    # -- cells of .ipynb and jupytext notebooks

    def _convert_cells(self, nb: NotebookNode, path: Path, stack: tuple[Path, ...]) -> NotebookNode:
        databricks = _DATABRICKS_METADATA in nb.metadata
        converted: list[Any] = []
        for number, cell in enumerate(nb.cells, start=1):
            if cell.cell_type == "code" and cell.source.lstrip().startswith("%"):
                lines = cell.source.strip("\n").split("\n")
                match = _MAGIC_LINE.match(lines[0].strip())
                name = match.group("name") if match else ""
                run_target = self._ipynb_run_target(lines, match, path, databricks)
                if (name in _IPYNB_MAGICS) or (name == "sql" and databricks) or run_target:
                    cells = self._magic_cell(lines, path, number, stack, databricks=databricks)
                    for new in cells:
                        if not new.get(_META_ORIGIN):
                            new["id"] = cell.get("id") or _slug_id(path, number)
                            new.metadata.update(copy.deepcopy(dict(cell.metadata)))
                    converted.extend(_strip_marks(cells))
                    continue
            converted.append(cell)
        nb.cells = converted
        for cell in nb.cells:
            title = cell.metadata.get(_DATABRICKS_CELL_METADATA, {}).get("title")
            if title and "title" not in cell.metadata:
                cell.metadata["title"] = title
        return nb

    def _ipynb_run_target(self, lines: list[str], match: Any, path: Path, databricks: bool) -> bool:
        """Whether an ``.ipynb`` cell is a ``%run`` of a notebook that must be inlined.

        A Jupyter-native ``%run script.py`` stays IPython's (it runs a script); only a cell holding nothing
        but ``%run <notebook>`` is inlined, as Databricks does, when the target is a notebook.
        """
        if match is None or match.group("name") != "run" or any(line.strip() for line in lines[1:]):
            return False
        if databricks:
            return True
        try:
            words = shlex.split(match.group("rest") or "")
        except ValueError:
            return False
        if len(words) != 1:
            return False
        target = path.parent / words[0]
        try:
            resolved = resolve_notebook_path(target)
        except NotebookFormatError:
            return False
        if resolved.suffix.lower() in (".ipynb", ".md") or resolved != target:
            return True
        return _read_text(resolved).split("\n", 1)[0].strip() == DATABRICKS_HEADER

    # -- one magic cell

    def _magic_cell(
        self, lines: list[str], path: Path, number: int, stack: tuple[Path, ...], *, databricks: bool
    ) -> list[Any]:
        match = _MAGIC_LINE.match(lines[0].strip())
        if match is None:  # "# MAGIC" lines that hold no magic: Python, as Databricks would run them
            return [_code_cell("\n".join(lines))]
        name, rest = match.group("name"), (match.group("rest") or "").strip()
        head = [rest] if rest else []
        if name in ("md", "md-sandbox"):
            return [_markdown_cell("\n".join(head + lines[1:]))]
        if name == "python":
            return [_code_cell("\n".join(head + lines[1:]))]
        if name == "sh":
            raise_error = rest == "-e" or rest.startswith(("-e ", "-e\t"))
            if raise_error:
                rest = rest[2:].strip()
            magic = "%%sh" if raise_error else "%%sh --no-raise-error"
            return [_code_cell("\n".join([magic, *([rest] if rest else []), *lines[1:]]))]
        if name == "run":
            return self._run(rest, lines, path, number, stack)
        if name.lower() == "sql" and databricks:
            where = f"cell {number} of notebook {str(path)!r}"
            return [_code_cell(_sql_source("\n".join(head + lines[1:]), where))]
        if name == "fs":
            return [_code_cell(_fs_source(rest, lines, path, number))]
        if name in _FOREIGN_MAGICS or (databricks and name.lower() in _FOREIGN_MAGICS):
            language = _FOREIGN_MAGICS[name.lower()]
            raise NotebookFormatError(
                f"Cell {number} of notebook {str(path)!r} is a %{name} cell ({language}). "
                f"Only Python cells run locally ({_LOCAL_ONLY_PYTHON}): rewrite the cell in Python "
                "or remove it.",
                path=str(path),
                cell_number=number,
                magic=f"%{name}",
            )
        # An IPython magic (%pip, %load_ext, %%time...): IPython runs it as written.
        return [_code_cell("\n".join(lines))]

    def _run(
        self, rest: str, lines: list[str], path: Path, number: int, stack: tuple[Path, ...]
    ) -> list[Any]:
        where = f"Cell {number} of notebook {str(path)!r}"
        if any(line.strip() for line in lines[1:]):
            raise NotebookFormatError(
                f"{where} holds a %run and other lines; %run must be alone in its cell. Move the other lines "
                "to a cell of their own.",
                path=str(path),
                cell_number=number,
                magic="%run",
            )
        try:
            words = shlex.split(rest)
        except ValueError as e:
            raise NotebookFormatError(
                f"{where}: cannot parse '%run {rest}' ({e}). Quote the path like %run \"./my notebook\".",
                path=str(path),
                cell_number=number,
                magic="%run",
            ) from e
        if not words:
            raise NotebookFormatError(
                f"{where} is a %run with no notebook. Write %run ./other_notebook.",
                path=str(path),
                cell_number=number,
                magic="%run",
            )
        arguments: dict[str, str] = {}
        for word in words[1:]:
            argument = _RUN_ARGUMENT.match(word)
            if argument is None:
                raise NotebookFormatError(
                    f'{where}: %run argument {word!r} is not of the form $name="value".',
                    path=str(path),
                    cell_number=number,
                    magic="%run",
                )
            arguments[argument.group("name")] = argument.group("value")
        try:
            target = resolve_notebook_path(path.parent / words[0])
        except NotebookFormatError as e:
            hint = (
                " A workspace path (/Workspace/..., /Repos/...) does not exist here: write the path relative "
                "to this notebook (./helpers, ../common/setup)."
                if words[0].startswith("/")
                else ""
            )
            raise NotebookFormatError(
                f"{where} runs {words[0]!r}, which cannot be read: {e}{hint}",
                path=str(path),
                cell_number=number,
                magic="%run",
            ) from e
        resolved = target.resolve()
        if resolved in (p.resolve() for p in stack):
            chain = " → ".join(self._show(p) for p in (*stack, target))
            raise NotebookFormatError(
                f"%run cycle: {chain} ({where.lower()} runs {words[0]!r} again). "
                "Remove one of these %run cells.",
                path=str(path),
                cell_number=number,
                magic="%run",
                cycle=[str(p) for p in (*stack, target)],
            )
        child = self.read(target, (*stack, target))
        origin = {"run": f"%run {rest}", "notebook": str(target)}
        cells: list[Any] = []
        if arguments:
            setup = _code_cell(_run_arguments_source(rest, arguments))
            setup.metadata[_META] = dict(origin)
            setup["id"] = _slug_id(path, number) + "-args"
            cells.append(setup)
        for cell in child.cells:
            if cell.cell_type != "code":
                continue
            tags = [tag for tag in cell.metadata.get("tags", []) if tag != PARAMETERS_TAG]
            if "tags" in cell.metadata:
                cell.metadata["tags"] = tags
            cell.metadata.setdefault(_META, dict(origin))
            cells.append(cell)
        for cell in cells:
            cell[_META_ORIGIN] = True  # keeps its own id; removed by _strip_marks
        return cells

    def _show(self, path: Path) -> str:
        try:
            return os.path.relpath(path, self.root.parent)
        except ValueError:
            return str(path)


_META_ORIGIN = "_jupyter_taskvalues_included"


# nbformat's constructors are untyped; these give them types (and keep its import lazy: it is slow).
def _new_notebook() -> NotebookNode:
    from nbformat import v4

    nb: NotebookNode = v4.new_notebook()  # type: ignore[no-untyped-call]
    return nb


def _code_cell(source: str) -> Any:
    from nbformat import v4

    return v4.new_code_cell(source)  # type: ignore[no-untyped-call]


def _markdown_cell(source: str) -> Any:
    from nbformat import v4

    return v4.new_markdown_cell(source)  # type: ignore[no-untyped-call]


def _strip_marks(cells: list[Any]) -> list[Any]:
    for cell in cells:
        cell.pop(_META_ORIGIN, None)
    return cells


def _run_arguments_source(rest: str, arguments: Mapping[str, str]) -> str:
    return (
        f"# Arguments of `%run {rest}`: the included notebook reads them with dbutils.widgets.get.\n"
        f"for _name, _value in {dict(arguments)!r}.items():\n"
        "    try:\n"
        "        dbutils.widgets.remove(_name)\n"
        "    except ValueError:\n"
        "        pass\n"
        "    dbutils.widgets.text(_name, _value)\n"
        "del _name, _value"
    )


def _sql_source(query: str, where: str) -> str:
    return (
        f"# %sql ({where}), run through the local SparkSession\n"
        "from jupyter_taskvalues.runtime.spark import sql_cell as _jtv_sql_cell\n"
        f"_sqldf = _jtv_sql_cell({query!r}, {where!r})\n"
        "del _jtv_sql_cell"
    )


def _fs_source(rest: str, lines: list[str], path: Path, number: int) -> str:
    where = f"Cell {number} of notebook {str(path)!r}"
    try:
        words = shlex.split(rest)
    except ValueError as e:
        raise NotebookFormatError(
            f"{where}: cannot parse '%fs {rest}' ({e}).", path=str(path), cell_number=number, magic="%fs"
        ) from e
    if not words or words[0] not in _FS_COMMANDS or any(line.strip() for line in lines[1:]):
        raise NotebookFormatError(
            f"{where} is a %fs cell that jupyter-taskvalues cannot run ('%fs {rest}'). Supported: one line of "
            f"%fs {'|'.join(sorted(_FS_COMMANDS))} with its paths; or call dbutils.fs in Python.",
            path=str(path),
            cell_number=number,
            magic="%fs",
        )
    command, arguments = words[0], words[1:]
    recurse = "-r" in arguments
    arguments = [argument for argument in arguments if argument != "-r"]
    call = (
        f"dbutils.fs.{command}({', '.join(repr(a) for a in arguments)}{', recurse=True' if recurse else ''})"
    )
    return f"display({call})" if command == "ls" else call


def _unmagic(line: str) -> str:
    if line.startswith(_MAGIC + " "):
        return line[len(_MAGIC) + 1 :]
    if line.rstrip() == _MAGIC:
        return ""
    return line


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise NotebookFormatError(
            f"Cannot read notebook {str(path)!r}: {e.strerror or e}.", path=str(path)
        ) from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NotebookFormatError(
            f"Notebook {str(path)!r} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}). "
            "Save it as UTF-8.",
            path=str(path),
        ) from e
    return text.removeprefix("\ufeff")


def _parse_ipynb(path: Path, text: str) -> NotebookNode:
    import nbformat  # lazy: nbformat is slow to import

    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:  # RecursionError: nested deeper than Python can follow
        raise NotebookFormatError(
            f"Notebook {str(path)!r} is not valid JSON ({e}). Re-save it from Jupyter or fix the file.",
            path=str(path),
        ) from e
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        raise NotebookFormatError(
            f"Notebook {str(path)!r} is JSON but not a Jupyter notebook (no 'nbformat' version field).",
            path=str(path),
        )
    if data["nbformat"] == 4:
        _stable_ids(data, path)
        text = json.dumps(data)
    try:
        with warnings.catch_warnings():
            # Ids are made stable above and the result validated in _finish; nbformat's warnings add nothing.
            warnings.simplefilter("ignore")
            nb: NotebookNode = nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
    except Exception as e:  # nbformat raises many kinds: all mean unreadable
        raise NotebookFormatError(
            f"Notebook {str(path)!r} cannot be read as a Jupyter notebook: {e}", path=str(path)
        ) from e
    _finish(nb, path)
    return nb


def _stable_ids(data: dict[str, Any], path: Path) -> None:
    """Give each cell of a v4 notebook dict a unique id: its own, else one derived from its position.

    nbformat would repair missing or repeated ids with random ones; ours are the same on every read.
    """
    if not isinstance(data.get("cells"), list):
        return  # the validation reports it
    minor = data.get("nbformat_minor")
    data["nbformat_minor"] = max(5, minor) if isinstance(minor, int) else 5
    seen: set[str] = set()
    for number, cell in enumerate(data["cells"], start=1):
        if not isinstance(cell, dict):
            continue
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not _CELL_ID.match(cell_id) or cell_id in seen:
            cell_id = base = _slug_id(path, number)
            suffix = 1
            while cell_id in seen:
                suffix += 1
                cell_id = f"{base}-{suffix}"
            cell["id"] = cell_id
        seen.add(cell_id)


def _parse_jupytext(path: Path, text: str) -> NotebookNode:
    # lazy: jupytext takes about half a second to import on top of nbformat (see the benchmarks notes)
    try:
        import jupytext
    except ImportError:  # an optional dependency: it turns on its own contents manager in every JupyterLab
        raise NotebookFormatError(
            f"Notebook {str(path)!r} is a {path.suffix or 'script'} text notebook, which needs jupytext: "
            "pip install 'jupyter-taskvalues[jupytext]' (.ipynb and Databricks source files need nothing more).",
            path=str(path),
        ) from None

    try:
        nb: NotebookNode = jupytext.reads(text, fmt=path.suffix or ".py")
    except Exception as e:  # jupytext's readers raise many kinds: all mean "unreadable in this format"
        raise NotebookFormatError(
            f"Notebook {str(path)!r} cannot be read (as {path.suffix or 'a script'}): {e}. Supported formats "
            "are .ipynb, Databricks source and the text formats jupytext reads (.py, .md...).",
            path=str(path),
        ) from e
    for number, cell in enumerate(nb.cells, start=1):
        cell["id"] = _slug_id(path, number)  # jupytext's ids are random; ours are the same on every read
    return nb


def _check_python(nb: NotebookNode, path: Path) -> None:
    metadata = nb.metadata
    language = (
        (metadata.get("kernelspec") or {}).get("language")
        or (metadata.get("language_info") or {}).get("name")
        or (metadata.get("jupytext") or {}).get("main_language")
        or (metadata.get(_DATABRICKS_METADATA) or {}).get("language")
    )
    if language and str(language).lower() not in ("python", "python3", "ipython", "ipython3"):
        raise _foreign_notebook(path, str(language), databricks=False)
    for name, value in _python_metadata().items():
        if not metadata.get(name):
            metadata[name] = value


def _foreign_notebook(path: Path, language: str, *, databricks: bool) -> NotebookFormatError:
    kind = "a Databricks notebook" if databricks else "a notebook"
    return NotebookFormatError(
        f"Notebook {str(path)!r} is {kind} in {language}. Only Python notebooks run locally "
        f"({_LOCAL_ONLY_PYTHON}); rewrite it in Python.",
        path=str(path),
        language=language,
    )


def _python_metadata() -> dict[str, Any]:
    return {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }


def _slug_id(path: Path, number: int) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", path.stem).strip("-")[:40] or "cell"
    return f"{stem}-{number}"


def _finish(nb: NotebookNode, path: Path) -> None:
    """Make every cell id present, valid and unique (inlined notebooks may repeat one), then validate."""
    nb.nbformat, nb.nbformat_minor = 4, max(5, int(nb.get("nbformat_minor", 5)))
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells, start=1):
        base = cell.get("id")
        if not isinstance(base, str) or not _CELL_ID.match(base):
            base = f"cell-{index}"
        candidate, suffix = base, 1
        while candidate in seen:
            suffix += 1
            candidate = f"{base[:58]}-{suffix}"
        seen.add(candidate)
        cell["id"] = candidate
    _validate(nb, path)


def _validate(nb: NotebookNode, path: Path) -> None:
    import nbformat  # lazy: nbformat is slow to import

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ids are fixed in _finish; only errors matter here
            nbformat.validate(nb)
    except nbformat.ValidationError as e:
        where = "/".join(str(part) for part in e.absolute_path) or "the top level"
        raise NotebookFormatError(
            f"Notebook {str(path)!r} is not a valid notebook: {e.message} (at {where}). "
            "Open and re-save it in Jupyter, or fix that field.",
            path=str(path),
        ) from e
