"""``dbutils.fs`` over the local DBFS root, configured folders and fsspec URLs; paths outside are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_taskvalues.runtime.fs import DBFS_ROOT_ENV, FS_ROOTS_ENV, FileInfo, FsPathError, FsUtils


@pytest.fixture
def fs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FsUtils:
    monkeypatch.setenv(DBFS_ROOT_ENV, str(tmp_path / "dbfs"))
    return FsUtils()


def test_dbfs_volume_and_schemeless_paths_share_the_dbfs_root(fs: FsUtils, tmp_path: Path) -> None:
    assert fs.put("dbfs:/Volumes/main/raw/files/a.txt", "alpha") is True
    fs.put("/Volumes/main/raw/files/b.txt", "beta")

    assert (tmp_path / "dbfs/Volumes/main/raw/files/a.txt").read_text() == "alpha"
    assert [info.name for info in fs.ls("/Volumes/main/raw/files")] == ["a.txt", "b.txt"]
    assert fs.head("Volumes/main/raw/files/b.txt") == "beta"


def test_ls_names_entries_as_databricks_does(fs: FsUtils) -> None:
    fs.mkdirs("/Volumes/c/s/v/sub")
    fs.put("/Volumes/c/s/v/data.csv", "x,y\n")

    listing = fs.ls("dbfs:/Volumes/c/s/v")

    assert [(i.path, i.name, i.size) for i in listing] == [
        ("dbfs:/Volumes/c/s/v/data.csv", "data.csv", 4),
        ("dbfs:/Volumes/c/s/v/sub/", "sub/", 0),
    ]
    assert all(isinstance(info, FileInfo) and info.modificationTime > 0 for info in listing)
    assert fs.ls("/Volumes/c/s/v/data.csv")[0].path == "dbfs:/Volumes/c/s/v/data.csv"


def test_put_refuses_to_overwrite_unless_asked(fs: FsUtils) -> None:
    fs.put("/tmp/a.txt", "one")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        fs.put("/tmp/a.txt", "two")
    fs.put("/tmp/a.txt", "two", overwrite=True)
    assert fs.head("/tmp/a.txt") == "two"


def test_cp_mv_and_rm_need_recurse_for_directories(fs: FsUtils) -> None:
    fs.put("/in/x/1.txt", "1")
    fs.put("/in/x/2.txt", "2")
    with pytest.raises(OSError, match="recurse=True"):
        fs.cp("/in/x", "/out/x")
    fs.cp("/in/x", "/out/x", recurse=True)
    fs.mv("/out/x/1.txt", "/moved.txt")

    assert fs.head("/moved.txt") == "1"
    assert [i.name for i in fs.ls("/out/x")] == ["2.txt"]
    with pytest.raises(OSError, match="not empty"):
        fs.rm("/in")
    assert fs.rm("/in", recurse=True) is True
    assert fs.rm("/in") is False
    with pytest.raises(FileNotFoundError, match="/in does not exist"):
        fs.ls("/in")


@pytest.mark.parametrize(
    "path", ["file:/etc", "dbfs:/../../etc/passwd", "/../outside", "memory://elsewhere/x"]
)
def test_paths_outside_the_configured_roots_are_refused(fs: FsUtils, path: str) -> None:
    with pytest.raises(FsPathError, match="outside the roots") as info:
        fs.ls(path)
    assert isinstance(info.value, PermissionError)
    assert info.value.fields["path"] == path


def test_configured_local_folders_and_fsspec_urls_are_usable(
    fs: FsUtils, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = tmp_path / "shared"
    local.mkdir()
    monkeypatch.setenv(FS_ROOTS_ENV, f"{local}, memory://bucket/data")

    fs.put(f"file:{local}/notes.txt", "local")
    fs.put("memory://bucket/data/run/values.json", "{}")
    fs.cp(f"file:{local}/notes.txt", "/Volumes/c/s/v/notes.txt")

    assert (local / "notes.txt").read_text() == "local"
    assert [i.path for i in fs.ls("memory://bucket/data/run")] == ["memory://bucket/data/run/values.json"]
    assert fs.head("/Volumes/c/s/v/notes.txt") == "local"
    with pytest.raises(FsPathError):
        fs.ls(f"file:{tmp_path}")


def test_a_symbolic_link_under_the_dbfs_root_cannot_lead_out_of_it(fs: FsUtils, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.txt").write_text("not yours")
    (tmp_path / "dbfs").mkdir()
    (tmp_path / "dbfs" / "escape").symlink_to(outside)

    with pytest.raises(FsPathError):
        fs.head("dbfs:/escape/private.txt")
