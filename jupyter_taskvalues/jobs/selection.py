"""``--only``: run a part of a job. ``T`` is the task, ``+T`` adds its upstream, ``T+`` its downstream.

Items may be comma-separated (``--only ingest,train``) and combined (``--only +train+``). The tasks left out
are taken from an earlier run (``from_run``), state and values, so ``{{tasks.X.values.k}}`` and
``taskValues.get`` work in the selected ones; without ``from_run`` they are recorded ``EXCLUDED``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..exceptions import JobSpecError
from ..suggestions import did_you_mean
from .model import JobSpec

__all__ = ["select_tasks", "upstream_of"]


def upstream_of(spec: JobSpec, roots: set[str]) -> set[str]:
    """Return ``roots`` and every task they depend on, directly or not."""
    result = set(roots)
    stack = list(roots)
    while stack:
        task = spec.task(stack.pop())
        for dep in task.depends_on:
            if dep.task_key not in result:
                result.add(dep.task_key)
                stack.append(dep.task_key)
    return result


def select_tasks(spec: JobSpec, items: Sequence[str]) -> set[str]:
    """Return the task keys ``items`` select (see the module docstring).

    Raises
    ------
    JobSpecError
        An item names no task of the job (with the closest task key), or is empty.
    """
    from .scheduler import downstream_of  # the scheduler imports nothing of this module

    keys = set(spec.task_keys)
    selected: set[str] = set()
    problems = []
    for item in (part.strip() for entry in items for part in entry.split(",")):
        up, down = item.startswith("+"), item.endswith("+") and len(item) > 1
        key = item.removeprefix("+").removesuffix("+") if item else ""
        if key not in keys:
            problems.append(
                f"--only {item!r}: job {spec.name!r} has no task {key!r}{did_you_mean(key, keys)}"
                f" (tasks: {', '.join(spec.task_keys)})."
                if key
                else "--only names an empty task; write --only TASK, +TASK (with upstream) or TASK+ (downstream)."
            )
            continue
        chosen = {key}
        if up:
            chosen |= upstream_of(spec, {key})
        if down:
            chosen |= downstream_of(spec, {key})
        selected |= chosen
    if problems:
        raise JobSpecError(" ".join(problems), problems=problems, path=spec.source)
    return selected
