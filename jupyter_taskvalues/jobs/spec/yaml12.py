"""Parse YAML as the Databricks CLI reads job files: YAML 1.2 core schema, safe, duplicate keys refused.

Built on ruamel.yaml's safe loader (plain data only: a tag that would construct a Python object is refused),
with the YAML 1.2 core schema's scalars rather than YAML 1.1's:

- booleans are only ``true``/``false`` (``True``, ``TRUE``...): ``on``, ``off``, ``yes``, ``no``, ``y`` stay
  strings;
- integers are decimal (``0755`` is 755), ``0o17`` or ``0x1f``; ``1_000`` and ``1:30`` are strings;
- floats are ``1.5``, ``1e3``, ``.inf``, ``.nan``; ``null``, ``~`` and an empty value are null;
- dates and times stay strings (the core schema has no timestamps);
- anchors, aliases and merge keys (``<<: *base``) work.

A duplicate key is an error naming both lines. Errors carry the line and column where YAML reports them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from ruamel.yaml import YAML
from ruamel.yaml.constructor import ConstructorError, DuplicateKeyError, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.resolver import BaseResolver

__all__ = ["YamlError", "field_lines", "line_of", "parse_yaml"]

_INT: Final = "tag:yaml.org,2002:int"
_FLOAT: Final = "tag:yaml.org,2002:float"


class YamlError(ValueError):
    """The text is not YAML this reader accepts; ``line`` is 1-based where known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class _CoreResolver(BaseResolver):
    """The YAML 1.2 core schema's implicit tags, and nothing else."""

    def __init__(self, version: Any = None, loader: Any = None) -> None:
        super().__init__(loadumper=loader)

    @property
    def processing_version(self) -> tuple[int, int]:
        return (1, 2)


for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    (_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        _FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", "<"),
):
    _CoreResolver.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
_CoreResolver.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])


class _CoreConstructor(SafeConstructor):
    """Integers and floats as the core schema spells them; no timestamps."""

    def construct_core_int(self, node: Any) -> int:
        text = str(self.construct_scalar(node))
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-")
        if digits.startswith("0o"):
            return sign * int(digits[2:], 8)
        if digits.startswith("0x"):
            return sign * int(digits[2:], 16)
        if not digits.isdigit():
            raise ValueError(f"{text!r} is not an integer")
        return sign * int(digits, 10)

    def construct_core_float(self, node: Any) -> float:
        text = str(self.construct_scalar(node))
        lowered = text.lower()
        if lowered.lstrip("+-") == ".inf":
            return float("-inf") if text.startswith("-") else float("inf")
        if lowered == ".nan":
            return float("nan")
        return float(text)


_CoreConstructor.add_constructor(_INT, _CoreConstructor.construct_core_int)
_CoreConstructor.add_constructor(_FLOAT, _CoreConstructor.construct_core_float)


def _reader() -> YAML:
    reader = YAML(typ="safe", pure=True)
    reader.Resolver = _CoreResolver
    reader.Constructor = _CoreConstructor
    reader.allow_duplicate_keys = False
    return reader


def _duplicate_lines(text: str, key: str) -> tuple[int, int] | None:
    """The lines (1-based) of the first and second use of ``key`` in one mapping of ``text``."""
    try:
        root = _reader().compose(text)
    except YAMLError:
        return None
    stack: list[Node] = [root] if root is not None else []
    seen_nodes: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            lines: dict[str, int] = {}
            for key_node, value_node in node.value:
                name = str(key_node.value)
                if name == key and name in lines:
                    return lines[name], key_node.start_mark.line + 1
                lines.setdefault(name, key_node.start_mark.line + 1)
                stack.append(value_node)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return None


_STEP_RE: Final = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def line_of(text: str, field: str) -> int | None:
    """The line (1-based) where ``field`` (``resources.jobs.j.tasks[0].name``) is written in ``text``, if it is."""
    return field_lines(text)(field)


def field_lines(text: str) -> Callable[[str], int | None]:
    """Return what finds the line (1-based) of a field of ``text``, as :func:`line_of`, reading ``text`` once."""
    try:
        root: Node | None = _reader().compose(text)
    except YAMLError:
        root = None

    def find(field: str) -> int | None:
        node, line = root, None
        if node is None:
            return None
        for match in _STEP_RE.finditer(field):
            name, index = match.group(1), match.group(2)
            if index is not None and isinstance(node, SequenceNode) and int(index) < len(node.value):
                node = node.value[int(index)]
            elif name is not None and isinstance(node, MappingNode):
                found = [(k, v) for k, v in node.value if str(k.value) == name]
                if not found:
                    return None
                key_node, node = found[-1]
                line = key_node.start_mark.line + 1
            else:
                return None
            if node is not None and index is not None:
                line = node.start_mark.line + 1
        return line

    return find


def parse_yaml(text: str) -> Any:
    """Return the plain data (dicts, lists, str, int, float, bool, None) ``text`` holds.

    Raises
    ------
    YamlError
        The text is not valid YAML, holds a duplicate key (both lines named) or a tag that is not plain data.
    ValueError, TypeError, OverflowError
        A scalar its explicit tag cannot build (``!!int x``).
    """
    try:
        return _reader().load(text)
    except DuplicateKeyError as e:
        match = re.search(r'found duplicate key "(.*?)"', str(e))
        key = match.group(1) if match else "?"
        lines = _duplicate_lines(text, key)
        where = f"at lines {lines[0]} and {lines[1]}" if lines else _where(e)
        raise YamlError(
            f"the key {key!r} appears twice in one mapping {where}; keep one (YAML does not allow both).",
            lines[1] if lines else _line(e),
        ) from None
    except ConstructorError as e:
        raise YamlError(
            f"it uses a YAML tag that is not plain data {_where(e)} ({e.problem}). Job files hold only "
            "mappings, lists, strings, numbers and booleans; remove the tag.",
            _line(e),
        ) from None
    except MarkedYAMLError as e:
        raise YamlError(f"it is not valid YAML {_where(e)}: {e.problem}.", _line(e)) from None
    except YAMLError as e:
        raise YamlError(f"it is not valid YAML: {str(e).splitlines()[0]}.") from None


def _line(e: MarkedYAMLError) -> int | None:
    mark = e.problem_mark
    return None if mark is None else int(mark.line) + 1


def _where(e: MarkedYAMLError) -> str:
    mark = e.problem_mark
    return "" if mark is None else f"at line {mark.line + 1}, column {mark.column + 1}"
