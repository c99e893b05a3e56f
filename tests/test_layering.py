"""The layers of DESIGN.md, checked in fresh interpreters: the core and ``dbutils`` load no Jupyter front end.

A task process, a Dask worker or a script that only sets task values must not pay for IPython, ipywidgets,
tornado or nbclient, and must not break when they are missing.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
