"""Run retention: remove old runs from a runs directory, never one that is running or attached.

One function, :func:`collect_garbage`, serves ``jupyter-taskvalues gc`` and the server's setting
(``c.RunnerManager.retention_keep`` / ``retention_older_than_days``). Which runs it removes:

- ``keep=N``: every run but the ``N`` newest (by run id, which starts with its creation time);
- ``older_than_days=D``: every run that ended (or, not ended, was last heard from) more than ``D`` days ago;
- both: only runs that both rules would remove (the ``N`` newest are kept, and so is anything younger than ``D``).

Whatever the rules say, a run is **kept** when

- it is still going: ``PENDING`` or ``RUNNING`` as the store reads it (its runner's process is alive on this host,
  or its heartbeat is fresh elsewhere; a run whose runner died reads ``INTERRUPTED`` and may go);
- a live process is attached to it (``%taskvalue attach``; :meth:`RunStore.attachments
  <jupyter_taskvalues.store.RunStore.attachments>`);
- its record cannot be read (a run is never removed on a guess).

Each run is checked again just before it is removed, so a run that a repair started meanwhile stays. A run
removed is removed whole; one that cannot be removed is reported, and the others still go. The removal is
:meth:`RunStore.delete_run <jupyter_taskvalues.store.RunStore.delete_run>`'s: a local store takes the run out of
the listing in one step first, so a gc killed half-way leaves no half-removed run, only debris that the next
pass deletes (:meth:`~jupyter_taskvalues.store.RunStore.sweep_removed`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import RunNotFoundError, TaskValuesError
from ..records import RunRecord
from ..states import ACTIVE_STATES
from ..store import RunStore
from ..timestamps import parse_time

__all__ = ["GcResult", "collect_garbage"]


@dataclass
class GcResult:
    """What a retention pass did (or, with ``dry_run``, would do)."""

    removed: list[str] = field(default_factory=list)
    """The run ids removed (or that would be), newest first."""
    running: list[str] = field(default_factory=list)
    """Runs the rules chose but that are still going: kept."""
    attached: list[str] = field(default_factory=list)
    """Runs the rules chose but that a live session is attached to: kept."""
    unreadable: list[str] = field(default_factory=list)
    """Runs whose record cannot be read: kept."""
    failed: dict[str, str] = field(default_factory=dict)
    """Runs whose removal failed, with the reason."""
    kept: int = 0
    """How many runs the rules keep."""
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data (``jupyter-taskvalues gc --json``, the server's log)."""
        return {
            "dry_run": self.dry_run,
            "removed": self.removed,
            "kept": self.kept,
            "kept_running": self.running,
            "kept_attached": self.attached,
            "kept_unreadable": self.unreadable,
            "failed": self.failed,
        }


def _parse(stamp: Any) -> dt.datetime | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        return parse_time(stamp)
    except ValueError:
        return None


def last_activity(run: RunRecord) -> dt.datetime | None:
    """When the run was last active: its end, else its start, else its creation (``None``: no time recorded)."""
    for name in ("end_time", "start_time", "created"):
        stamp = _parse(run.get(name))
        if stamp is not None:
            return stamp
    return None


def _protected(store: RunStore, run_id: str) -> str | None:
    """Why ``run_id`` must stay (``"running"``, ``"attached"``, ``"unreadable"``), or ``None``."""
    try:
        run = store.read_run(run_id)
    except RunNotFoundError:
        return "gone"
    except (TaskValuesError, OSError, ValueError):
        return "unreadable"
    if run.get("state") in ACTIVE_STATES:
        return "running"
    try:
        if store.attachments(run_id):
            return "attached"
    except OSError:
        return "unreadable"
    return None


def collect_garbage(
    store: RunStore,
    *,
    keep: int | None = None,
    older_than_days: float | None = None,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> GcResult:
    """Remove the runs of ``store`` that ``keep`` and ``older_than_days`` select; return what was done.

    Parameters
    ----------
    store
        The run store (a local runs directory or a URL).
    keep
        Keep the ``keep`` newest runs (``0`` keeps none).
    older_than_days
        Remove only runs last active more than this many days ago.
    dry_run
        Decide, and report, but remove nothing.
    now
        The current time (tests); default: now, in UTC.

    Raises
    ------
    ValueError
        Neither rule is given, or one is negative.
    """
    if keep is None and older_than_days is None:
        raise ValueError("Give keep=N, older_than_days=D, or both: with neither, every run would be removed.")
    if keep is not None and keep < 0:
        raise ValueError(f"keep must be 0 or more, not {keep}.")
    if older_than_days is not None and older_than_days < 0:
        raise ValueError(f"older_than_days must be 0 or more, not {older_than_days}.")
    now = now or dt.datetime.now(dt.timezone.utc)
    if not dry_run:
        store.sweep_removed()  # finish removals an earlier pass was killed in
    ids = store.run_ids()  # newest first
    chosen = ids[keep:] if keep is not None else list(ids)
    result = GcResult(dry_run=dry_run)
    if older_than_days is not None:
        cutoff = now - dt.timedelta(days=older_than_days)
        old = []
        for run_id in chosen:
            try:
                activity = last_activity(store.read_run(run_id))
            except RunNotFoundError:
                continue
            except (TaskValuesError, OSError, ValueError):
                result.unreadable.append(run_id)
                continue
            if activity is not None and activity < cutoff:
                old.append(run_id)
        chosen = old
    for run_id in chosen:
        reason = _protected(store, run_id)  # checked again right before the removal, not once up front
        if reason == "gone":
            continue
        if reason is not None:
            {"running": result.running, "attached": result.attached, "unreadable": result.unreadable}[
                reason
            ].append(run_id)
            continue
        if not dry_run:
            try:
                store.delete_run(run_id)
            except RunNotFoundError:  # another gc removed it meanwhile
                continue
            except (TaskValuesError, OSError) as e:
                result.failed[run_id] = str(e)
                continue
        result.removed.append(run_id)
    result.kept = len(ids) - len(result.removed) - len(result.failed)
    return result
