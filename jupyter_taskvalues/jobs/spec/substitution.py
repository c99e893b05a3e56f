"""Resolve a bundle's ``${...}`` references, as ``databricks bundle validate`` does, before anything runs.

A :class:`Resolver` holds the bundle's reference tree (``var``, ``bundle``, ``workspace``, ``resources``...)
and resolves every ``${path}`` in a value. A value it finds may hold references of its own (a variable whose
default names another, ``workspace.file_path`` built from ``workspace.root_path``): they are resolved in turn,
and a chain that comes back to where it started is a loop, reported with its whole chain. A string that is
exactly one reference keeps the referenced value's type (a complex variable stays a mapping); inside longer
text the value is written as JSON for lists and maps, ``true``/``false`` for booleans.

A reference that cannot be resolved is never left as literal text: it is a problem naming the field, the
reference and the fix, collected by the caller (:mod:`.bundle`) and raised at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["REFERENCE_RE", "Resolver", "Unresolved"]

#: One ``${...}`` reference: dotted names, each optionally indexed (``${var.list[0]}``).
REFERENCE_RE: Final = re.compile(r"\$\{([A-Za-z][\w-]*(?:\[\d+\])*(?:\.[A-Za-z_][\w-]*(?:\[\d+\])*)*)\}")
_STEP_RE: Final = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_VARIABLES: Final = ("var", "variables")


class Unresolved(Exception):
    """A reference that cannot be resolved; ``str()`` is the reason and the fix."""


class _Loop(Unresolved):
    """References that lead back to themselves; the message already holds the whole chain."""


#: Computes a value on first use (``bundle.git.commit`` runs ``git``): returns it or raises :class:`Unresolved`.
Lazy = Callable[[], Any]


class Resolver:
    """Resolve ``${...}`` references against a tree of plain values.

    Parameters
    ----------
    tree
        ``{"var": {...}, "bundle": {...}, "workspace": {...}, "resources": {...}}``; a leaf may be a
        zero-argument callable (see :data:`Lazy`), called once when first referenced.
    explain
        Extra text for a reference under a top-level name, e.g. how to give a variable a value.
    keep
        ``keep(field, text)`` true leaves ``text`` as written: a reference a later stage reads itself (a
        ``run_job_task``'s ``${resources.jobs.<key>.id}`` names the bundle job to start).
    """

    def __init__(
        self,
        tree: dict[str, Any],
        explain: Mapping[str, Callable[[str], str]] | None = None,
        keep: Callable[[str, str], bool] | None = None,
    ) -> None:
        self._tree = tree
        self._explain = dict(explain or {})
        self._keep = keep
        self._done: dict[str, Any] = {}
        self._stack: list[str] = []

    def resolve(self, node: Any, field: str, problems: list[str]) -> Any:
        """Return ``node`` with every reference resolved; each failure appends ``"<field>: <why>"``."""
        if isinstance(node, dict):
            return {
                k: self.resolve(v, f"{field}.{k}" if field else str(k), problems) for k, v in node.items()
            }
        if isinstance(node, list):
            return [self.resolve(v, f"{field}[{i}]", problems) for i, v in enumerate(node)]
        if not isinstance(node, str) or "${" not in node:
            return node
        if self._keep is not None and self._keep(field, node):
            return node
        try:
            return self._text(node)
        except Unresolved as e:
            problems.append(f"{field}: {e}")
            return node

    def lookup(self, path: str) -> Any:
        """Return the fully resolved value at ``path`` (``var.x``, ``workspace.file_path``).

        Raises
        ------
        Unresolved
            ``path`` names nothing, has no value, or its value's references loop or fail.
        """
        if path in self._done:
            return self._done[path]
        if path in self._stack:
            chain = " -> ".join(f"${{{p}}}" for p in [*self._stack[self._stack.index(path) :], path])
            raise _Loop(f"the references form a loop: {chain}. Break the loop by giving one a plain value.")
        self._stack.append(path)
        try:
            value = self._resolve_value(self._walk(path))
        finally:
            self._stack.pop()
        self._done[path] = value
        return value

    def _resolve_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._text(value) if "${" in value else value
        if isinstance(value, dict):
            return {k: self._resolve_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve_value(v) for v in value]
        return value

    def _text(self, text: str) -> Any:
        whole = REFERENCE_RE.fullmatch(text)
        if whole is not None:
            return self._reference(whole.group(1))
        return REFERENCE_RE.sub(lambda m: render_value(self._reference(m.group(1))), text)

    def _reference(self, path: str) -> Any:
        try:
            return self.lookup(path)
        except _Loop:
            raise
        except Unresolved as e:
            why = str(e)
            raise Unresolved(
                f"${{{path}}} -> {why}" if why.startswith("${") else f"${{{path}}}: {why}"
            ) from None

    def _walk(self, path: str) -> Any:
        steps = [(m.group(1), m.group(2)) for m in _STEP_RE.finditer(path)]
        node: Any = self._tree
        done: list[str] = []
        for name, index in steps:
            if index is not None:
                if not isinstance(node, list) or int(index) >= len(node):
                    raise Unresolved(f"{'.'.join(done)} has no item [{index}].")
                node = node[int(index)]
                done[-1] += f"[{index}]"
                continue
            if callable(node):
                node = node()
            if not isinstance(node, Mapping) or name not in node:
                raise Unresolved(self._missing(path, done, name, node))
            node = node[name]
            done.append(name)
        if callable(node):
            node = node()
        if node is _NO_VALUE:
            extra = self._explain.get(done[0])
            what = f"bundle variable {done[1]!r}" if done[0] in _VARIABLES else ".".join(done)
            raise Unresolved(
                f"{what} has no default and no value was given.{f' {extra(path)}' if extra else ''}"
            )
        return node

    def _missing(self, path: str, done: list[str], name: str, node: Any) -> str:
        top = (done or [name])[0]
        where = ".".join(done) or "the bundle"
        known = sorted(str(k) for k in node) if isinstance(node, Mapping) else []
        extra = self._explain.get(top)
        fix = f" {extra(path)}" if extra is not None else ""
        if len(done) == 1 and top in _VARIABLES:
            return f"bundle variable {name!r} is not declared (variables: {', '.join(known) or 'none'}).{fix}"
        hint = f" ({where} has: {', '.join(known)})" if known and len(known) <= 20 else ""
        return f"{where} has no {name!r}{hint}.{fix}"


class _NoValue:
    def __repr__(self) -> str:
        return "NO_VALUE"


#: A declared name with no value (a variable without a default): referencing it is a problem.
_NO_VALUE: Final = _NoValue()
NO_VALUE: Final = _NO_VALUE


def render_value(value: Any) -> str:
    """Write a resolved value into surrounding text: JSON for lists and maps, ``true``/``false``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":")) if isinstance(value, (list, dict)) else str(value)
