"""Optional dependencies: which extra of ``jupyter-taskvalues`` brings an importable module.

A feature that needs an optional module checks for it before anything starts, and fails with one line that
names the extra to install, instead of a traceback per task::

    >>> require(["distributed"], feature="--executor dask")   # doctest: +SKIP
    UsageError: --executor dask needs the Python module 'distributed', which is not installed here.
    Install it with: pip install 'jupyter-taskvalues[dask]'
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable

from .errors import UsageError

__all__ = ["EXTRAS", "MissingDependencyError", "install_hint", "missing", "require"]

#: Import name -> the extra of jupyter-taskvalues that installs it (a test keeps these extras real).
EXTRAS: dict[str, str] = {
    "dask": "dask",
    "distributed": "dask",
    "s3fs": "dask",
    "sklearn": "examples",
    "argcomplete": "completion",
    "jupytext": "jupytext",
    "pyspark": "spark",
}

#: Distribution names of modules that no extra installs (a URL scheme's fsspec implementation).
_DISTRIBUTIONS: dict[str, str] = {"gcsfs": "gcsfs", "adlfs": "adlfs", "sklearn": "scikit-learn"}


class MissingDependencyError(UsageError):
    """An optional module a feature needs is not installed."""

    def __init__(self, module: str, feature: str) -> None:
        self.module = module
        self.feature = feature
        super().__init__(
            f"{feature} needs the Python module {module!r}, which is not installed here. "
            f"Install it with: {install_hint(module)}"
        )


def install_hint(module: str) -> str:
    """Return the pip command that installs ``module``: through its extra when one brings it."""
    extra = EXTRAS.get(module)
    if extra is not None:
        return f"pip install 'jupyter-taskvalues[{extra}]'"
    return f"pip install {_DISTRIBUTIONS.get(module, module)}"


def missing(modules: Iterable[str]) -> list[str]:
    """Return the modules of ``modules`` that cannot be imported (found without importing them)."""
    absent = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a parent package is missing, or a broken __spec__
            found = False
        if not found:
            absent.append(module)
    return absent


def require(modules: Iterable[str], *, feature: str) -> None:
    """Raise :class:`MissingDependencyError` for the first of ``modules`` that is not installed."""
    for module in missing(modules):
        raise MissingDependencyError(module, feature)
