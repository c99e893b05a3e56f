"""Papermill-style parameters: the ``injected-parameters`` cell, typed from the notebook's ``parameters`` cell.

:func:`inject_parameters` adds the cell after the one tagged ``parameters``; :func:`convert_parameter` turns a
job's string into the type of the default that cell assigns (read with :mod:`ast`, never executed).
"""

from __future__ import annotations

import ast
import copy
import json
import keyword
import math
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...exceptions import ParameterTypeError

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = ["INJECTED_TAG", "PARAMETERS_TAG", "convert_parameter", "inject_parameters"]

#: The papermill tag of the cell holding parameter defaults.
PARAMETERS_TAG = "parameters"
#: The papermill tag of the cell :func:`inject_parameters` adds.
INJECTED_TAG = "injected-parameters"


def _code_cell(source: str) -> Any:
    from nbformat import v4  # lazy: nbformat is slow to import

    return v4.new_code_cell(source)  # type: ignore[no-untyped-call]


def inject_parameters(nb: NotebookNode, parameters: Mapping[str, str]) -> NotebookNode:
    """Return a copy of ``nb`` with a cell tagged ``injected-parameters`` after its ``parameters`` cell.

    Papermill's convention: the first code cell tagged ``parameters`` holds defaults; the injected cell after
    it assigns the job's values, so they win. An earlier injected cell is replaced.

    Type rule: a Databricks job passes every parameter as a string. When the ``parameters`` cell assigns the
    same name a literal of another type (read with :mod:`ast`, never executed), the string is converted to
    that type by :func:`convert_parameter`; a type annotation (``n: int = 0``, ``x: float | None = None``)
    wins over the literal. A name the cell does not assign (or assigns something other than a literal) gets
    the string. Names that are not Python identifiers (``run-date``), or that Python would read as another name
    (``𝐱``, which Python folds to ``x``), get no assignment; they still reach the notebook through
    ``dbutils.widgets.get``.

    A notebook with no ``parameters`` cell gets no injected cell: Databricks-style notebooks read their
    parameters with ``dbutils.widgets``. The input notebook is never modified.

    Raises
    ------
    ParameterTypeError
        A value does not convert to its default's type; the message names the parameter, the value and the
        type.
    """
    new = copy.deepcopy(nb)
    index = next(
        (
            i
            for i, cell in enumerate(new.cells)
            if cell.cell_type == "code" and PARAMETERS_TAG in cell.metadata.get("tags", [])
        ),
        None,
    )
    names = [name for name in parameters if _assignable(name)]
    if index is None or not names:
        return new
    defaults = _parameter_types(new.cells[index].source)
    lines = ["# Parameters"]
    for name in names:
        expected, nullable = defaults.get(name, (str, False))
        value = convert_parameter(name, parameters[name], expected, nullable=nullable)
        lines.append(f"{name} = {_python_literal(value)}")

    injected = _code_cell("\n".join(lines))
    injected.metadata["tags"] = [INJECTED_TAG]
    before = new.cells[: index + 1]
    after = [cell for cell in new.cells[index + 1 :] if INJECTED_TAG not in cell.metadata.get("tags", [])]
    used = {cell.get("id") for cell in before + after}
    injected["id"], n = INJECTED_TAG, 1
    while injected["id"] in used:
        n += 1
        injected["id"] = f"{INJECTED_TAG}-{n}"
    new.cells = [*before, injected, *after]
    return new


def _assignable(name: str) -> bool:
    """Whether ``name`` can be assigned in the injected cell as itself.

    Python folds identifiers with NFKC, so a name such as ``𝐝𝐛𝐮𝐭𝐢𝐥𝐬`` (bold letters) would assign ``dbutils``:
    such names, like those that are not identifiers, reach the notebook through ``dbutils.widgets`` only.
    """
    return name.isidentifier() and not keyword.iskeyword(name) and unicodedata.normalize("NFKC", name) == name


_TYPE_NAMES = {
    "int": int,
    "float": float,
    "bool": bool,
    "str": str,
    "list": list,
    "dict": dict,
    "tuple": tuple,
}
_DESCRIPTIONS: dict[type, str] = {
    bool: '"true" or "false"',
    int: 'a whole number such as "3"',
    float: 'a number such as "0.5"',
    list: 'a JSON array such as "[1, 2]"',
    tuple: 'a JSON array such as "[1, 2]"',
    dict: "a JSON object such as '{\"a\": 1}'",
}


def convert_parameter(name: str, value: str, expected: type, *, nullable: bool = False) -> Any:
    """Convert the string ``value`` of parameter ``name`` to ``expected``, the type of its default.

    ``bool`` takes ``"true"``/``"false"`` (any case); ``int`` and ``float`` take Python's number syntax;
    ``list``, ``tuple`` and ``dict`` take JSON, or a Python literal. ``"None"`` and ``"null"`` give ``None``
    when the default is ``None`` or the annotation is optional; any other value with a ``None`` default stays
    a string. ``str`` (and an unknown type) leaves the value as it is.

    Raises
    ------
    ParameterTypeError
        ``value`` does not convert.
    """
    text = value.strip()
    if (nullable or expected is type(None)) and text in ("None", "null"):
        return None
    if expected is bool:
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
    elif expected is int:
        try:
            return int(text)
        except ValueError:
            pass
    elif expected is float:
        try:
            return float(text)
        except ValueError:
            pass
    elif expected in (list, tuple, dict):
        parsed = _parse_literal(text)
        if expected is dict and isinstance(parsed, dict):
            return parsed
        if expected is list and isinstance(parsed, (list, tuple)):
            return list(parsed)
        if expected is tuple and isinstance(parsed, (list, tuple)):
            return tuple(parsed)
    else:
        return value
    raise ParameterTypeError(
        f"Parameter {name!r} is {value!r}, which does not convert to {expected.__name__} (the type of its "
        f"default in the notebook's parameters cell). Pass {_DESCRIPTIONS[expected]}, or change the default.",
        parameter=name,
        value=value,
        expected=expected.__name__,
    )


def _parse_literal(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _UNPARSED


_UNPARSED = object()


def _parameter_types(source: str) -> dict[str, tuple[type, bool]]:
    """Map each name the parameters cell assigns a literal to (its type, whether ``None`` is allowed)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        # IPython syntax (%magic, !command) is not Python; ignore those lines, the assignments still count.
        cleaned = "\n".join(
            "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
        )
        try:
            tree = ast.parse(cleaned)
        except SyntaxError:
            return {}
    types: dict[str, tuple[type, bool]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                _record(types, target, node.value, None)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            _record(types, node.target, node.value, node.annotation)
    return types


def _record(
    types: dict[str, tuple[type, bool]], target: ast.expr, value: ast.expr, annotation: ast.expr | None
) -> None:
    if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)):
        if len(target.elts) == len(value.elts):
            for sub_target, sub_value in zip(target.elts, value.elts, strict=True):
                _record(types, sub_target, sub_value, None)
        return
    if not isinstance(target, ast.Name):
        return
    if annotation is not None and (hint := _annotation_type(annotation)) is not None:
        types[target.id] = hint
        return
    try:
        default = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        types.pop(target.id, None)  # not a literal: the value stays a string
        return
    kind = type(default)
    if default is None:
        types[target.id] = (type(None), True)
    elif kind in (bool, int, float, list, tuple, dict):
        types[target.id] = (kind, False)
    else:
        types[target.id] = (str, False)


def _annotation_type(node: ast.expr) -> tuple[type, bool] | None:
    """``int`` → (int, False); ``float | None`` and ``Optional[float]`` → (float, True); else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # "int" (a string annotation)
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(node, ast.Name) and node.id in _TYPE_NAMES:
        return _TYPE_NAMES[node.id], False
    if isinstance(node, ast.Subscript):
        base = node.value
        base_name = (
            base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else ""
        )
        if base_name == "Optional":
            inner = _annotation_type(node.slice)
            return (inner[0], True) if inner else None
        if base_name.lower() in ("list", "dict", "tuple"):
            return _TYPE_NAMES[base_name.lower()], False
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        sides = [node.left, node.right]
        others = [side for side in sides if not (isinstance(side, ast.Constant) and side.value is None)]
        if len(others) == 1:
            inner = _annotation_type(others[0])
            return (inner[0], True) if inner else None
    return None


def _python_literal(value: Any) -> str:
    """Python source for ``value`` (a JSON-like value); ``float("nan")`` where ``repr`` would give ``nan``."""
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if isinstance(value, list):
        return "[" + ", ".join(_python_literal(item) for item in value) + "]"
    if isinstance(value, tuple):
        items = [_python_literal(item) for item in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_python_literal(k)}: {_python_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)
