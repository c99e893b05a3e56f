"""The runtime seam after ``%load_ext``: every way Databricks code reaches for the runtime gives ours.

In-process on IPython's test shell (the SDK is installed in the test environment), and in fresh interpreters
for what needs a clean ``sys.modules``: the SDK or pyspark not installed (a site-packages without them, see
:mod:`tests.runtime.hiding`), and the SDK's runtime imported before ``%load_ext``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from IPython.testing import globalipapp

from jupyter_taskvalues.runtime import seam
from jupyter_taskvalues.runtime.dbutils import dbutils
from jupyter_taskvalues.runtime.namespace import RUNTIME_NAMES, runtime_namespace
from tests.runtime.hiding import SDK, SPARK, site_without

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell


@pytest.fixture
def ip() -> Iterator[InteractiveShell]:
    shell: InteractiveShell = globalipapp.get_ipython()  # type: ignore[no-untyped-call]
    for name in RUNTIME_NAMES:
        shell.user_ns.pop(name, None)
    shell.run_line_magic("load_ext", "jupyter_taskvalues")
    yield shell
    shell.run_line_magic("unload_ext", "jupyter_taskvalues")
    for name in ("DBUtils", "WorkspaceClient", "Config", "runtime", "w", "x"):
        shell.user_ns.pop(name, None)


def _cell(shell: InteractiveShell, code: str) -> None:
    result = shell.run_cell(code)  # type: ignore[no-untyped-call]
    assert result.success, result.error_in_exec or result.error_before_exec


def test_load_ext_binds_every_runtime_name_to_ours(ip: InteractiveShell) -> None:
    namespace = runtime_namespace()
    assert set(namespace) == set(RUNTIME_NAMES)
    for name in RUNTIME_NAMES:
        assert ip.user_ns[name] is namespace[name], name
    assert ip.user_ns["dbutils"] is dbutils


def test_from_databricks_sdk_runtime_import_dbutils_gives_ours(ip: InteractiveShell) -> None:
    _cell(ip, "from databricks.sdk.runtime import dbutils, display, spark, getArgument")

    assert ip.user_ns["dbutils"] is dbutils
    assert ip.user_ns["display"] is runtime_namespace()["display"]
    assert ip.user_ns["spark"] is runtime_namespace()["spark"]


def test_from_databricks_sdk_runtime_import_star_gives_ours(ip: InteractiveShell) -> None:
    _cell(ip, "from databricks.sdk.runtime import *")

    for name in RUNTIME_NAMES:
        assert ip.user_ns[name] is runtime_namespace()[name], name


def test_workspace_client_dbutils_is_ours(ip: InteractiveShell) -> None:
    # The client's own constructor probes the host; a short retry budget keeps an unreachable host quick.
    _cell(
        ip,
        "from databricks.sdk import WorkspaceClient\n"
        "from databricks.sdk.core import Config\n"
        "w = WorkspaceClient(config=Config(host='http://127.0.0.1:9', token='x', retry_timeout_seconds=1))\n"
        "x = w.dbutils",
    )

    assert ip.user_ns["x"] is dbutils


def test_pyspark_dbutils_of_spark_is_ours(ip: InteractiveShell) -> None:
    _cell(ip, "from pyspark.dbutils import DBUtils\nx = DBUtils(spark)")

    assert ip.user_ns["x"] is dbutils


def test_get_argument_reads_the_widget(ip: InteractiveShell) -> None:
    dbutils.widgets.text("colour", "blue")
    try:
        _cell(ip, "x = getArgument('colour'), getArgument('missing', 'fallback')")
    finally:
        dbutils.widgets.remove("colour")

    assert ip.user_ns["x"] == ("blue", "fallback")


def test_unload_removes_the_seam_and_our_names(ip: InteractiveShell) -> None:
    ip.run_line_magic("unload_ext", "jupyter_taskvalues")
    try:
        assert not seam.installed()
        assert "dbruntime" not in sys.modules
        assert not any(name in ip.user_ns for name in RUNTIME_NAMES)
        with pytest.raises(ImportError):
            __import__("dbruntime")
    finally:
        ip.run_line_magic("load_ext", "jupyter_taskvalues")


def test_dbruntime_offers_nothing_but_the_initializer(ip: InteractiveShell) -> None:
    import dbruntime  # type: ignore[import-not-found]

    assert dbruntime.UserNamespaceInitializer.getOrCreate().get_namespace_globals()["dbutils"] is dbutils
    with pytest.raises(ImportError):
        __import__("dbruntime.sdk_credential_provider")


def _fresh(code: str, *, site: Path | None = None, env: dict[str, str] | None = None) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter with an IPython shell ``ip``; return the JSON it prints last.

    With ``site`` (a copy of site-packages from :func:`.hiding.site_without`), the interpreter starts without
    its own site-packages (``-S``) and uses that copy instead: what it leaves out is not installed.
    """
    setup = "from IPython.core.interactiveshell import InteractiveShell\nip = InteractiveShell.instance()\n"
    prelude = f"import site\nsite.addsitedir({str(site)!r})\n" if site is not None else ""
    result = subprocess.run(
        [
            sys.executable,
            *(["-S"] if site is not None else []),
            "-c",
            prelude + setup + textwrap.dedent(code),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    ("hidden", "placeholder_databricks"),
    [(SDK, False), (("databricks", "databricks_*"), True)],
    ids=["sdk-absent-bundles-present", "no-databricks-package"],
)
def test_without_the_sdk_from_databricks_sdk_runtime_import_still_gives_ours(
    tmp_path: Path, hidden: tuple[str, ...], placeholder_databricks: bool
) -> None:
    loaded = _fresh(
        """
        import importlib.util, json
        try:
            absent = importlib.util.find_spec("databricks.sdk") is None
        except ModuleNotFoundError:  # no databricks package at all
            absent = True
        ip.run_line_magic("load_ext", "jupyter_taskvalues")
        ip.run_cell("from databricks.sdk.runtime import dbutils as a\\nfrom databricks.sdk.runtime import *")
        from jupyter_taskvalues import dbutils
        import databricks.sdk
        try:
            from databricks.sdk import WorkspaceClient
            client = "importable"
        except ImportError:
            client = "missing"
        print(json.dumps({
            "absent": absent,
            "a": ip.user_ns["a"] is dbutils,
            "star": ip.user_ns["dbutils"] is dbutils and callable(ip.user_ns["displayHTML"]),
            "placeholder": getattr(databricks.sdk, "__jupyter_taskvalues_placeholder__", False),
            "databricks": getattr(databricks, "__jupyter_taskvalues_placeholder__", False),
            "client": client,
        }))
        """,
        site=site_without(tmp_path, hidden),
    )

    assert loaded == {
        "absent": True,
        "a": True,
        "star": True,
        "placeholder": True,
        "databricks": placeholder_databricks,
        "client": "missing",
    }


def test_without_the_sdk_the_import_fails_as_before_outside_our_kernels(tmp_path: Path) -> None:
    loaded = _fresh(
        """
        import json
        try:
            import databricks.sdk.runtime
            outcome = "imported"
        except ModuleNotFoundError:
            outcome = "ModuleNotFoundError"
        print(json.dumps({"outcome": outcome}))
        """,
        site=site_without(tmp_path, SDK),
    )

    assert loaded == {"outcome": "ModuleNotFoundError"}


def _credentials(tmp_path: Path) -> dict[str, str]:
    """Databricks credentials for an unreachable host, with the SDK's retry budget cut to one second.

    The budget only bounds the SDK's own work where it runs without the seam (its constructor probes the host).
    """
    config = tmp_path / "databrickscfg"
    config.write_text("[DEFAULT]\nhost = http://127.0.0.1:9\ntoken = dapi-test\nretry_timeout_seconds = 1\n")
    return {**os.environ, "DATABRICKS_CONFIG_FILE": str(config)}


def test_sdk_runtime_imported_before_load_ext_is_run_again_and_remote_names_replaced(tmp_path: Path) -> None:
    loaded = _fresh(
        """
        import json
        ip.run_cell("from databricks.sdk.runtime import *")
        before = type(ip.user_ns["dbutils"]).__module__
        ip.run_line_magic("load_ext", "jupyter_taskvalues")
        from jupyter_taskvalues import dbutils
        replaced = ip.user_ns["dbutils"] is dbutils
        ip.run_cell("from databricks.sdk.runtime import dbutils as again")
        print(json.dumps({"before": before, "replaced": replaced, "again": ip.user_ns["again"] is dbutils}))
        """,
        env=_credentials(tmp_path),
    )

    assert loaded == {"before": "databricks.sdk.dbutils", "replaced": True, "again": True}


def test_without_pyspark_dbutils_of_pyspark_is_ours_and_pyspark_sql_still_missing(tmp_path: Path) -> None:
    loaded = _fresh(
        """
        import json
        ip.run_line_magic("load_ext", "jupyter_taskvalues")
        from pyspark.dbutils import DBUtils
        from jupyter_taskvalues import dbutils
        try:
            import pyspark.sql
            sql = "importable"
        except ModuleNotFoundError:
            sql = "missing"
        print(json.dumps({"ours": DBUtils(None) is dbutils, "sql": sql}))
        """,
        site=site_without(tmp_path, SPARK),
    )

    assert loaded == {"ours": True, "sql": "missing"}


def test_the_readme_table_names_every_runtime_name_and_dbutils_utility() -> None:
    from jupyter_taskvalues.runtime.dbutils import _UNSUPPORTED

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Databricks notebooks, unchanged", 1)[1].split(
        "**How the runtime seam works.**"
    )[0]
    first_column = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    named = {
        part
        for cell in first_column
        for code in cell.split("`")[1::2]
        for part in code.replace("(", ".").split(".")
    }

    utilities = {name for name in dir(dbutils) if not name.startswith("_") and name != "help"}
    assert set(RUNTIME_NAMES) - named == set()
    assert {"fs", "jobs", "notebook", "secrets", "widgets"} <= utilities
    assert utilities - named == set()
    assert set(_UNSUPPORTED) - named == set()
