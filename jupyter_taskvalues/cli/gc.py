"""``gc``: remove old runs from the runs directory (run retention).

A thin edge over :func:`~jupyter_taskvalues.jobs.retention.collect_garbage`, which decides what goes and keeps
running and attached runs; ``--dry-run`` prints the same list and removes nothing. Exit code 1 when a run chosen
for removal could not be removed (the others still are).
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import EXIT_OK, EXIT_RUN_FAILED, UsageError

__all__ = ["add_gc_arguments", "gc"]


def add_gc_arguments(sub: argparse.ArgumentParser) -> None:
    """Arguments of ``gc``."""
    from .jobs import add_runs_dir

    add_runs_dir(sub)
    sub.add_argument("--keep", type=int, metavar="N", help="keep the N newest runs, remove the others")
    sub.add_argument(
        "--older-than",
        type=float,
        metavar="DAYS",
        help="remove runs that ended more than DAYS days ago (with --keep: only those past both rules)",
    )
    sub.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")
    sub.add_argument("--json", action="store_true", help="print what was done as JSON")


def gc(args: argparse.Namespace) -> int:
    """``gc``: remove the runs ``--keep`` and ``--older-than`` select, never a running or attached one."""
    from ..jobs.retention import collect_garbage
    from ..store import open_store

    if args.keep is None and args.older_than is None:
        raise UsageError("gc needs --keep N, --older-than DAYS, or both (with neither every run would go).")
    if args.keep is not None and args.keep < 0:
        raise UsageError(f"--keep must be 0 or more, not {args.keep}.")
    if args.older_than is not None and args.older_than < 0:
        raise UsageError(f"--older-than must be 0 or more days, not {args.older_than}.")
    store = open_store(args.runs_dir)
    result = collect_garbage(store, keep=args.keep, older_than_days=args.older_than, dry_run=args.dry_run)
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        verb = "would remove" if args.dry_run else "removed"
        for run_id in result.removed:
            print(f"{verb} {run_id}")
        for label, ids in (
            ("still running", result.running),
            ("attached by a session", result.attached),
            ("unreadable", result.unreadable),
        ):
            for run_id in ids:
                print(f"kept {run_id} ({label})")
        for run_id, reason in result.failed.items():
            print(f"cannot remove {run_id}: {reason}", file=sys.stderr)
        summary = "would be removed" if args.dry_run else "removed"
        print(f"{len(result.removed)} run(s) {summary}, {result.kept} kept in {store.root}.")
    return EXIT_RUN_FAILED if result.failed else EXIT_OK
