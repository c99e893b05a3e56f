"""Which processes are attached to a run (``%taskvalue attach``), recorded in the run's folder.

An attachment lives in the attaching process's memory (:mod:`jupyter_taskvalues.runtime.session`); run
retention (``jupyter-taskvalues gc``, the server's setting) runs in another process and must not remove a run a
notebook is reading. So :func:`record_attachment` also writes one small file per attaching process::

    <runs dir>/<run id>/attached/<host>-<pid>.json     {"host", "pid", "started", "attached_at"}

and :func:`live_attachments` returns the records whose process is still alive (the same check as a run's
runner: pid and process start time, on this host). A record of another host cannot be checked from here and
counts as live, so that retention errs on keeping. The record is removed on detach, and a dead process's record
is ignored (and swept by :func:`live_attachments`). Only a local runs directory records attachments: on a URL
store they are kept in memory only (see the README's "Run retention").
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["ATTACHED_DIR", "live_attachments", "record_attachment", "release_attachment"]

#: The folder of a run that holds one record per attached process.
ATTACHED_DIR = "attached"


def _record_path(run_dir: Path, host: str, pid: int) -> Path:
    safe_host = "".join(c if c.isalnum() or c in "-_." else "_" for c in host)[:64] or "host"
    return run_dir / ATTACHED_DIR / f"{safe_host}-{pid}.json"


def record_attachment(run_dir: Path, identity: Mapping[str, Any], attached_at: str) -> Path:
    """Record that the process ``identity`` (host, pid, start) is attached to the run in ``run_dir``."""
    path = _record_path(run_dir, str(identity["host"]), int(identity["pid"]))
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_text(json.dumps({**identity, "attached_at": attached_at}), encoding="utf-8")
    os.replace(tmp, path)
    return path


def release_attachment(run_dir: Path, identity: Mapping[str, Any]) -> None:
    """Remove the record of the process ``identity``, if there is one."""
    path = _record_path(run_dir, str(identity["host"]), int(identity["pid"]))
    with contextlib.suppress(FileNotFoundError):  # never recorded, or already swept
        path.unlink()


def live_attachments(run_dir: Path, alive: Any) -> list[dict[str, Any]]:
    """Return the attachment records of ``run_dir`` whose process ``alive(record)`` does not deny is alive.

    ``alive`` returns ``True``, ``False`` or ``None`` (cannot tell: another host); a record it says is dead is
    removed. An unreadable record counts as live (retention keeps the run rather than guess).
    """
    folder = run_dir / ATTACHED_DIR
    try:
        entries = sorted(folder.iterdir())
    except FileNotFoundError:
        return []
    live = []
    for entry in entries:
        if entry.name.startswith(".tmp-") or entry.suffix != ".json":
            continue
        try:
            record = json.loads(entry.read_text(encoding="utf-8"))
        except FileNotFoundError:  # detached while we looked
            continue
        except (OSError, ValueError):
            live.append({"path": str(entry), "unreadable": True})
            continue
        if not isinstance(record, dict):
            live.append({"path": str(entry), "unreadable": True})
            continue
        state = alive(record)
        if state is False or (state is None and record.get("host") == socket.gethostname()):  # dead, or bogus
            with contextlib.suppress(FileNotFoundError):  # another reader swept it first
                entry.unlink()
            continue
        live.append(record)
    return live
