"""The distribution: an sdist from the work tree, and a wheel built from that sdist with no npm at hand."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PREBUILT = ROOT / "jupyter_taskvalues" / "labextension" / "static" / "style.js"


def _build(source: Path, kind: str, out: Path, fake_bin: Path) -> Path:
    # No isolation: the backend and its hooks come from this environment, so nothing is downloaded.
    env = {**os.environ, "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", f"--{kind}", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (built,) = out.glob("*.tar.gz" if kind == "sdist" else "*.whl")
    return built


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    assert PREBUILT.exists(), (
        "The lab extension is not built: run `make install` (or `jlpm --cwd labextension build:prod`) first."
    )
    tmp = tmp_path_factory.mktemp("dist")
    fake_bin = tmp / "bin"
    fake_bin.mkdir()
    for tool in ("jlpm", "npm", "node", "yarn"):  # any call to them fails the build
        script = fake_bin / tool
        script.write_text("#!/bin/sh\necho 'the build must not need npm' >&2\nexit 97\n")
        script.chmod(0o755)
    sdist = _build(ROOT, "sdist", tmp / "sdist", fake_bin)
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp / "unpacked", filter="data")
    (unpacked,) = (tmp / "unpacked").iterdir()
    return sdist, _build(unpacked, "wheel", tmp / "wheel", fake_bin)


@pytest.mark.slow
def test_the_sdist_ships_the_license_changelog_and_prebuilt_lab_assets(dists: tuple[Path, Path]) -> None:
    with tarfile.open(dists[0]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "install.json"} <= names
    assert "jupyter_taskvalues/labextension/static/style.js" in names
    assert not any("node_modules" in name for name in names)


@pytest.mark.slow
def test_the_wheel_built_from_the_sdist_holds_license_lab_extension_and_server_config(
    dists: tuple[Path, Path],
) -> None:
    with zipfile.ZipFile(dists[1]) as wheel:
        names = set(wheel.namelist())
        metadata = email.message_from_bytes(wheel.read("jupyter_taskvalues-0.1.0.dist-info/METADATA"))
    data = "jupyter_taskvalues-0.1.0.data/data/"
    lab = data + "share/jupyter/labextensions/jupyter-taskvalues/"
    assert "jupyter_taskvalues-0.1.0.dist-info/licenses/LICENSE" in names
    assert {lab + "package.json", lab + "install.json", lab + "static/style.js"} <= names
    assert any(name.startswith(lab + "static/remoteEntry.") for name in names)
    assert data + "etc/jupyter/jupyter_server_config.d/jupyter_taskvalues.json" in names
    assert "jupyter_taskvalues/cli/progress.py" in names and "jupyter_taskvalues/py.typed" in names
    classifiers = metadata.get_all("Classifier") or []
    assert "Framework :: Jupyter :: JupyterLab :: 4" in classifiers
    assert "Framework :: Jupyter :: JupyterLab :: Extensions :: Prebuilt" in classifiers
    assert {f"Programming Language :: Python :: 3.{minor}" for minor in range(10, 14)} <= set(classifiers)
    assert metadata["License-Expression"] == "BSD-3-Clause"
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Source", "Issues", "Changelog"} <= set(urls)
    assert "rich>=13.7" in (metadata.get_all("Requires-Dist") or [])
