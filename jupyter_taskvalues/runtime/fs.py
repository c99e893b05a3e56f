"""``dbutils.fs`` (ls, head, put, cp, mv, rm, mkdirs) over a local DBFS root, local folders and fsspec URLs.

Paths are read as on Databricks, then mapped:

``dbfs:/a/b``, ``/a/b``, ``a/b`` (no scheme: a DBFS path, as in ``dbutils.fs``), ``/Volumes/<catalog>/<schema>/<volume>/...``
    Under the **DBFS root**: ``$JUPYTER_TASKVALUES_DBFS_ROOT`` (a folder or an fsspec URL), else the folder
    ``dbfs`` beside the runs directory (``<jupyter data dir>/taskvalues/dbfs`` by default). So
    ``/Volumes/main/sales/raw/orders.csv`` is ``<root>/Volumes/main/sales/raw/orders.csv``.
``file:/tmp/x`` and fsspec URLs (``s3://bucket/key``, ``memory://...``)
    Used as they are, but only inside a folder listed in ``$JUPYTER_TASKVALUES_FS_ROOTS`` (comma-separated
    folders or URLs).

Any other path, and any ``..`` that climbs out of a root, is refused with :class:`FsPathError`, which names
the path and the roots. Listings name entries the way the caller did (``dbfs:/Volumes/...``), directories with
a trailing ``/``, as Databricks' ``FileInfo`` does.

Like :mod:`.secrets`, this module reads its two variables from ``os.environ`` itself, on every call.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Any, NamedTuple

from ..exceptions import TaskValuesError

__all__ = ["DBFS_ROOT_ENV", "FS_ROOTS_ENV", "FileInfo", "FsPathError", "FsUtils"]

DBFS_ROOT_ENV = "JUPYTER_TASKVALUES_DBFS_ROOT"
FS_ROOTS_ENV = "JUPYTER_TASKVALUES_FS_ROOTS"
_HEAD_BYTES = 65536


class FsPathError(TaskValuesError, PermissionError):
    """A ``dbutils.fs`` path is outside the roots it may use here."""


class FileInfo(NamedTuple):
    """One entry of ``dbutils.fs.ls``, as on Databricks."""

    path: str
    name: str
    size: int
    modificationTime: int


class _Location(NamedTuple):
    fs: Any  # an fsspec AbstractFileSystem
    path: str  # the path inside ``fs``
    shown: str  # how the caller names it (dbfs:/..., file:/..., s3://...)


def _dbfs_root() -> str:
    explicit = os.environ.get(DBFS_ROOT_ENV)
    if explicit:
        return explicit
    from ..context import default_runs_dir

    return str(Path(default_runs_dir()).parent / "dbfs")


def _extra_roots() -> list[str]:
    return [root.strip() for root in os.environ.get(FS_ROOTS_ENV, "").split(",") if root.strip()]


def _url_to_fs(url: str) -> tuple[Any, str]:
    from fsspec.core import url_to_fs  # fsspec is a dependency; imported when dbutils.fs is first used

    fs, path = url_to_fs(url)
    return fs, str(path)


def _inside(path: str, root: str) -> bool:
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root if root.endswith("/") else root + "/")


def _refuse(path: str) -> FsPathError:
    roots = ", ".join(_extra_roots()) or "none"
    return FsPathError(
        f"dbutils.fs path {path!r} is outside the roots it may use here: the DBFS root {_dbfs_root()!r} "
        f"(dbfs:/, /Volumes/..., paths without a scheme) and {FS_ROOTS_ENV} ({roots}). Use a dbfs:/ or /Volumes/ "
        f"path, or add the folder to {FS_ROOTS_ENV}.",
        path=path,
    )


def _is_local(fs: Any) -> bool:
    protocol = fs.protocol
    return "file" in (protocol if isinstance(protocol, (tuple, list)) else (protocol,))


def _climbs_out(path: str) -> bool:
    """Whether the ``..`` parts of ``path`` go above where it starts (``/a/../../b``)."""
    depth = 0
    for part in path.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _locate(path: str) -> _Location:
    if not isinstance(path, str) or not path:
        raise ValueError(f"A dbutils.fs path must be a non-empty string, not {path!r}.")
    if path.startswith("dbfs:") or ("://" not in path and not path.startswith("file:")):
        inner = path[len("dbfs:") :] if path.startswith("dbfs:") else path
        if _climbs_out(inner):
            raise _refuse(path)
        normal = posixpath.normpath("/" + inner.lstrip("/"))
        fs, root = _url_to_fs(_dbfs_root())
        root = root.rstrip("/")
        inner_path = root + (normal if normal != "/" else "")
        if _is_local(fs) and not _inside(os.path.realpath(inner_path), os.path.realpath(root or "/")):
            raise _refuse(path)  # a symbolic link under the root that leads out of it
        return _Location(fs, inner_path, "dbfs:" + normal)
    if path.startswith("file:") and "://" not in path:
        local = os.path.realpath(path[len("file:") :])
        for root in _extra_roots():
            root_path = root[len("file:") :] if root.startswith("file:") else root
            if "://" not in root_path and _inside(local, os.path.realpath(root_path)):
                fs, inner = _url_to_fs(local)
                return _Location(fs, inner, "file:" + local)
        raise _refuse(path)
    fs, inner = _url_to_fs(path)
    if _climbs_out(inner):
        raise _refuse(path)
    normal = posixpath.normpath(inner) if inner else inner
    for root in _extra_roots():
        if "://" not in root:
            continue
        root_fs, root_inner = _url_to_fs(root)
        if type(root_fs) is type(fs) and _inside(normal, posixpath.normpath(root_inner)):
            scheme = path.split("://", 1)[0]
            return _Location(fs, normal, f"{scheme}://{normal.lstrip('/')}")
    raise _refuse(path)


def _child(location: _Location, inner: str) -> str:
    """How the caller would name ``inner``, an entry of the filesystem of ``location``."""
    relative = posixpath.relpath(inner, location.path) if inner != location.path else ""
    return posixpath.join(location.shown, relative) if relative else location.shown


def _info(location: _Location, entry: dict[str, Any]) -> FileInfo:
    name = str(entry["name"])
    is_dir = entry.get("type") == "directory"
    shown = _child(location, name.rstrip("/")) + ("/" if is_dir else "")
    mtime = entry.get("mtime") or entry.get("LastModified") or entry.get("created") or 0
    if hasattr(mtime, "timestamp"):
        mtime = mtime.timestamp()
    return FileInfo(
        shown,
        posixpath.basename(name.rstrip("/")) + ("/" if is_dir else ""),
        0 if is_dir else int(entry.get("size") or 0),
        int(float(mtime) * 1000),
    )


class FsUtils:
    """``dbutils.fs``: files under the DBFS root (``dbfs:/``, ``/Volumes/``) and the configured roots."""

    def ls(self, dir: str) -> list[FileInfo]:
        """List the directory ``dir`` (or the one file it names), sorted by name.

        Raises
        ------
        FileNotFoundError
            ``dir`` does not exist.
        FsPathError
            ``dir`` is outside the configured roots.
        """
        location = _locate(dir)
        if not location.fs.exists(location.path):
            raise FileNotFoundError(f"File {dir} does not exist (it is {location.path} here).")
        if not location.fs.isdir(location.path):
            return [_info(location, location.fs.info(location.path))]
        entries = location.fs.ls(location.path, detail=True)
        infos = [_info(location, entry) for entry in entries if entry["name"].rstrip("/") != location.path]
        return sorted(infos, key=lambda info: info.name)

    def head(self, file: str, maxBytes: int = _HEAD_BYTES) -> str:
        """Return up to ``maxBytes`` bytes of ``file`` as text (UTF-8, undecodable bytes replaced)."""
        location = _locate(file)
        if not location.fs.isfile(location.path):
            raise FileNotFoundError(
                f"File {file} does not exist or is a directory (it is {location.path} here)."
            )
        with location.fs.open(location.path, "rb") as handle:
            data: bytes = handle.read(maxBytes)
        return data.decode("utf-8", "replace")

    def put(self, file: str, contents: str, overwrite: bool = False) -> bool:
        """Write the string ``contents`` to ``file`` (UTF-8), making its folders; return True.

        Raises
        ------
        FileExistsError
            ``file`` exists and ``overwrite`` is False.
        """
        location = _locate(file)
        if location.fs.exists(location.path) and not overwrite:
            raise FileExistsError(f"File {file} already exists. Pass overwrite=True to replace it.")
        location.fs.makedirs(posixpath.dirname(location.path), exist_ok=True)
        with location.fs.open(location.path, "wb") as handle:
            handle.write(str(contents).encode("utf-8"))
        return True

    def mkdirs(self, dir: str) -> bool:
        """Make the directory ``dir`` and its parents; return True (also when it exists)."""
        location = _locate(dir)
        location.fs.makedirs(location.path, exist_ok=True)
        return True

    def rm(self, dir: str, recurse: bool = False) -> bool:
        """Remove the file or directory ``dir``; return whether anything was removed.

        Raises
        ------
        OSError
            ``dir`` is a non-empty directory and ``recurse`` is False.
        """
        location = _locate(dir)
        if not location.fs.exists(location.path):
            return False
        if location.fs.isdir(location.path):
            if location.fs.ls(location.path) and not recurse:
                raise OSError(
                    f"Directory {dir} is not empty. Pass recurse=True to remove it and what it holds."
                )
            location.fs.rm(location.path, recursive=True)
        else:
            location.fs.rm(location.path)
        return True

    def cp(self, from_: str, to: str, recurse: bool = False) -> bool:
        """Copy the file ``from_`` to ``to`` (a directory too with ``recurse=True``); return True."""
        self._copy(from_, to, recurse, "cp")
        return True

    def mv(self, from_: str, to: str, recurse: bool = False) -> bool:
        """Move the file ``from_`` to ``to`` (a directory too with ``recurse=True``); return True."""
        source = self._copy(from_, to, recurse, "mv")
        source.fs.rm(source.path, recursive=True)
        return True

    def help(self, method: str | None = None) -> None:
        """Print what ``dbutils.fs`` offers."""
        print(__doc__ if method is None else getattr(self, method).__doc__)

    def __repr__(self) -> str:
        return "Package 'dbutils.fs' (jupyter-taskvalues). For more information, type 'dbutils.fs.help()'."

    def _copy(self, from_: str, to: str, recurse: bool, verb: str) -> _Location:
        source, target = _locate(from_), _locate(to)
        if not source.fs.exists(source.path):
            raise FileNotFoundError(f"File {from_} does not exist (it is {source.path} here).")
        if source.fs.isdir(source.path):
            if not recurse:
                raise OSError(f"{from_} is a directory. Pass recurse=True to {verb} it with what it holds.")
            for name in source.fs.find(source.path):
                relative = posixpath.relpath(name, source.path)
                _copy_file(source.fs, name, target.fs, posixpath.join(target.path, relative))
        else:
            destination = target.path
            if target.fs.isdir(destination):
                destination = posixpath.join(destination, posixpath.basename(source.path))
            _copy_file(source.fs, source.path, target.fs, destination)
        return source


def _copy_file(source_fs: Any, source: str, target_fs: Any, target: str) -> None:
    target_fs.makedirs(posixpath.dirname(target), exist_ok=True)
    with source_fs.open(source, "rb") as reader, target_fs.open(target, "wb") as writer:
        while chunk := reader.read(1 << 20):
            writer.write(chunk)
