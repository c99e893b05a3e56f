"""Every broad ``except`` or ``contextlib.suppress`` in the package says, on its line, what it expects."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import jupyter_taskvalues

PACKAGE = Path(jupyter_taskvalues.__file__).parent
BROAD = {"Exception", "BaseException"}


def _is_broad(node: ast.expr | None) -> bool:
    if node is None:
        return True  # a bare except
    if isinstance(node, ast.Tuple):
        return any(_is_broad(element) for element in node.elts)
    return isinstance(node, ast.Name) and node.id in BROAD


def _uncommented(source: str) -> list[int]:
    """Lines of ``source`` with a broad ``except`` or ``suppress(...)`` and no comment on the same line."""
    commented = {
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    lines = {
        node.lineno
        for node in ast.walk(ast.parse(source))
        if (isinstance(node, ast.ExceptHandler) and _is_broad(node.type)) or _is_broad_suppress(node)
    }
    return sorted(lines - commented)


def _is_broad_suppress(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    return name == "suppress" and any(_is_broad(arg) for arg in node.args)


def test_the_check_flags_a_broad_suppress_without_a_comment() -> None:
    source = (
        '"""except Exception in a docstring is prose."""\n'
        "import contextlib\n"
        "with contextlib.suppress(Exception):\n    pass\n"
        "try:\n    pass\nexcept Exception:  # why\n    pass\n"
        "try:\n    pass\nexcept:\n    pass\n"
        "try:\n    pass\nexcept (OSError, BaseException):\n    pass\n"
    )
    assert _uncommented(source) == [3, 11, 15]


def test_every_broad_except_in_the_package_has_a_comment() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number in _uncommented(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "Broad excepts without a comment saying what is expected:\n" + "\n".join(found)
