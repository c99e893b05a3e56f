"""How each task of a job will run here: the plan ``validate`` prints, and the check a run makes first.

:func:`plan_job` returns one :class:`PlanLine` per task, with a status:

``runs``
    a notebook, script, wheel, condition, for-each task, or a ``run_job_task`` of a job of the same bundle;
``stubbed``
    a stub (``RunOptions(stubs=...)`` / ``--stub`` or the job tag ``jupyter_taskvalues_stub_<task_key>``) makes
    it succeed with given task values;
``stub needed``
    it needs a Databricks workspace (``sql_task``, ``dbt_task``, ``run_job_task`` of an outside job, any
    type this package does not know): a run refuses to start until it is stubbed or left out;
``needs a workspace``
    such a task, left out by ``--only``: it is not run, nothing needs doing;
``disabled``
    ``disabled: true``: skipped as Databricks skips it (``EXCLUDED``, termination code ``DISABLED``);
``not selected``
    left out by ``--only`` (taken from ``--from-run`` when given).

:func:`render_plan` is the plain-text form, :meth:`PlanLine.to_json` the JSON one; :func:`plan_bundle` plans
every job of a bundle at once; :func:`refusal` is the error a run raises before it writes anything.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..exceptions import JobSpecError
from .model import JobSpec, Task

__all__ = ["PLAN_STATUSES", "PlanLine", "plan_bundle", "plan_job", "plan_problems", "refusal", "render_plan"]

PLAN_STATUSES = ("runs", "stubbed", "stub needed", "needs a workspace", "disabled", "not selected")

_HOW = {
    "notebook": "notebook in a fresh kernel",
    "script": "script in a fresh Python process",
    "wheel": "package entry point in a fresh Python process",
    "condition": "condition, evaluated by the runner",
    "for_each": "for-each, one run of the nested task per input",
}


@dataclass(frozen=True)
class PlanLine:
    """One task of the plan: its ``job``, ``task_key``, ``type`` (as the job file spells it), ``status``
    (one of :data:`PLAN_STATUSES`) and ``detail`` (how it runs, or the fix)."""

    job: str
    task_key: str
    type: str
    status: str
    detail: str

    def to_json(self) -> dict[str, str]:
        """Return the line as a JSON object."""
        return asdict(self)


def _line(spec: JobSpec, task: Task, stubs: Mapping[str, Any], selected: Collection[str] | None) -> PlanLine:
    key = task.task_key

    def line(status: str, detail: str) -> PlanLine:
        return PlanLine(spec.name, key, task.type_name, status, detail)

    needs_workspace = task.kind == "workspace" or (
        task.run_job is not None
        and (task.run_job.job_key or spec.bundle_jobs.get(task.run_job.job_id)) is None
    )
    if task.disabled:
        return line("disabled", "disabled: true; skipped (EXCLUDED), as Databricks skips it")
    if selected is not None and key not in selected:
        if needs_workspace:
            return line("needs a workspace", "left out by --only")
        return line("not selected", "left out by --only; taken from --from-run when given")
    if key in stubs or task.stub is not None:
        source = "--stub" if key in stubs else "job tag jupyter_taskvalues_stub_" + key
        values = stubs.get(key, task.stub) or {}
        shown = ", ".join(map(str, values)) or "no values"
        return line("stubbed", f"succeeds with task values {shown} ({source})")
    if needs_workspace:
        what = (
            f"runs job {task.run_job.job_id!r}, not in this bundle"
            if task.run_job is not None
            else "needs a Databricks workspace"
        )
        return line(
            "stub needed",
            f"{what}: --stub {key}=VALUES.json, the job tag jupyter_taskvalues_stub_{key}, or --only without it",
        )
    if task.run_job is not None:
        child = task.run_job.job_key or spec.bundle_jobs.get(task.run_job.job_id)
        return line("runs", f"child run of job {child!r} of this bundle")
    return line("runs", _HOW.get(task.kind, task.kind))


def plan_job(
    spec: JobSpec,
    *,
    stubs: Mapping[str, Any] | None = None,
    selected: Collection[str] | None = None,
) -> list[PlanLine]:
    """Return how each task of ``spec`` will run here, in definition order.

    ``stubs`` are the run's stubs (task key -> values); ``selected`` the tasks ``--only`` keeps (all: ``None``).
    A task that Databricks disables for the run because of a disabled parent (``ALL_SUCCESS`` or
    ``ALL_FAILED`` on it, or every parent disabled) is ``disabled`` too.
    """
    lines: list[PlanLine] = []
    disabled: set[str] = set()
    for task in spec.tasks:
        parents = [d.task_key for d in task.depends_on]
        off = [p for p in parents if p in disabled]
        cascades = bool(off) and (
            task.run_if in ("ALL_SUCCESS", "ALL_FAILED")
            or (task.run_if != "ALL_DONE" and len(off) == len(parents))
        )
        if task.disabled or cascades:
            disabled.add(task.task_key)
        if cascades and not task.disabled:
            lines.append(
                PlanLine(spec.name, task.task_key, task.type_name, "disabled",
                         f"skipped: its parent {off[0]!r} is disabled and run_if is {task.run_if}")
            )  # fmt: skip
            continue
        lines.append(_line(spec, task, stubs or {}, selected))
    return lines


def plan_bundle(
    path: str | Path,
    *,
    job: str | None = None,
    target: str | None = None,
    variables: Mapping[str, Any] | None = None,
    stubs: Mapping[str, Any] | None = None,
) -> list[PlanLine]:
    """Plan every job of the file at ``path`` (or only ``job``); invalid jobs raise as :func:`load_job` does."""
    from .spec.loader import list_jobs, load_job

    keys = [job] if job is not None else list_jobs(path, target=target)
    lines: list[PlanLine] = []
    for key in keys:
        spec = load_job(path, job=key, target=target, variables=variables)
        lines.extend(plan_job(spec, stubs=stubs))
    return lines


def plan_problems(lines: Sequence[PlanLine]) -> list[str]:
    """Return what keeps the plan from running: one sentence per ``stub needed`` task."""
    return [f"task {ln.task_key!r} ({ln.type}): {ln.detail}." for ln in lines if ln.status == "stub needed"]


def refusal(spec: JobSpec, lines: Sequence[PlanLine]) -> JobSpecError | None:
    """Return the error a run raises before it starts when tasks need a workspace, or ``None``."""
    problems = plan_problems(lines)
    if not problems:
        return None
    count = "this problem" if len(problems) == 1 else f"these {len(problems)} problems"
    listed = "\n".join(f"  - {p}" for p in problems)
    return JobSpecError(
        f"Job {spec.name!r} cannot run here as it is; fix {count} (nothing was run or written):\n{listed}",
        problems=problems,
        path=spec.source,
    )


def render_plan(lines: Sequence[PlanLine]) -> str:
    """Return the plan as aligned plain text, one job after another, with a closing count of problems."""
    out: list[str] = []
    width_key = max((len(ln.task_key) for ln in lines), default=4)
    width_type = max((len(ln.type) for ln in lines), default=4)
    width_status = max((len(ln.status) for ln in lines), default=6)
    job = None
    for ln in lines:
        if ln.job != job:
            job = ln.job
            out.append(f"job {job!r}:")
        out.append(
            f"  {ln.task_key:<{width_key}}  {ln.type:<{width_type}}  {ln.status:<{width_status}}  {ln.detail}"
        )
    problems = plan_problems(lines)
    if problems:
        out.append(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''}: stub or leave out the tasks marked 'stub needed'."
        )
    else:
        out.append("No problems: every task runs here, is stubbed, disabled or left out.")
    return "\n".join(out)
