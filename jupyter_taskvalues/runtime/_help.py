"""The ``help()`` and ``repr`` of each ``dbutils`` utility, shared by the modules that define them."""

from __future__ import annotations

__all__ = ["REPR", "print_help"]

REPR = "Package '{name}' (jupyter-taskvalues). For more information, type '{name}.help()' in a cell."


def print_help(text: str, owner: object, method: str | None) -> None:
    """Print ``text``, or the documentation of ``owner``'s ``method``."""
    if method is None:
        print(text)
        return
    target = getattr(owner, method, None)
    if target is None or method.startswith("_") or not callable(target):
        raise ValueError(f"{type(owner).__name__} has no method {method!r}.")
    print(f"{method}: {target.__doc__}")
