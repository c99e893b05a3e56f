"""The typed records (``jupyter_taskvalues.records``) name every key a run writes, each with its meaning."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from jupyter_taskvalues import records
from jupyter_taskvalues.jobs.api import open_store, repair_run, run_job
from jupyter_taskvalues.jobs.scheduler import RunOptions
from jupyter_taskvalues.records import (
    AttemptRecord,
    CancelRequest,
    IterationRecord,
    RunRecord,
    TaskInfo,
    TaskRecord,
)
from tests.jobhelpers import job, nb_task, notebook

RECORD_CLASSES = [
    name
    for name, node in vars(records).items()
    if isinstance(node, type) and issubclass(node, dict) and node.__module__ == records.__name__
]


def _declared(cls: type) -> set[str]:
    return set(cls.__annotations__)  # a TypedDict's annotations include its bases'


def test_every_key_of_every_record_is_documented() -> None:
    tree = ast.parse(Path(records.__file__).read_text(encoding="utf-8"))
    undocumented = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or node.name not in RECORD_CLASSES:
            continue
        body = node.body
        for index, statement in enumerate(body):
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                after = body[index + 1] if index + 1 < len(body) else None
                documented = isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                if not documented and node.name != "TaskLogs":  # stdout/stderr say what they are
                    undocumented.append(f"{node.name}.{statement.target.id}")
    assert len(RECORD_CLASSES) >= 8
    assert undocumented == []


def test_the_builders_give_the_keys_of_their_types_and_dumps_round_trips() -> None:
    blank = records.blank_task_record("for_each")
    assert set(blank) <= _declared(TaskRecord) and blank["iterations"] == []
    assert records.blank_task_record("notebook")["iterations"] is None
    assert set(records.new_attempt(2, "2026-12-07T10:00:00.000Z")) == _declared(AttemptRecord)
    iteration = records.new_iteration(3, {"name": "é"})
    assert set(iteration) <= _declared(IterationRecord) and iteration["input"] == {"name": "é"}
    request = records.new_cancel_request(
        "r1", None, repair_count=0, requested_at="t", requested_by="ada", via="cli", host="h", pid=1
    )
    assert set(request) == _declared(CancelRequest) and request["op"] == "cancel"
    text = records.dumps(blank | {"error": "naïve"})
    assert "naïve" in text  # UTF-8 as is, not \\u escapes
    assert json.loads(text) == blank | {"error": "naïve"}


def _undeclared(record: Any, cls: type, where: str) -> list[str]:
    """The keys of ``record`` (and of its attempts, iterations and history) that ``cls`` does not declare."""
    found = [f"{where}.{key}" for key in record if key not in _declared(cls)]
    for attempt in record.get("attempts") or []:
        found += _undeclared(attempt, AttemptRecord, f"{where}.attempts[]")
    if cls is TaskRecord:
        for iteration in record.get("iterations") or []:
            found += _undeclared(iteration, IterationRecord, f"{where}.iterations[]")
        for earlier in record.get("history") or []:
            found += _undeclared(earlier, TaskRecord, f"{where}.history[]")
    return found


def test_the_records_a_run_and_its_repair_write_hold_only_keys_their_types_declare(tmp_path: Path) -> None:
    notebook(tmp_path / "ingest.ipynb", "rows = 3")  # stubbed: no kernel starts
    path = job(
        tmp_path / "job.json",
        [
            nb_task("ingest", "ingest"),
            {
                "task_key": "check",
                "depends_on": [{"task_key": "ingest"}],
                "condition_task": {"op": "EQUAL_TO", "left": "{{tasks.ingest.values.rows}}", "right": "4"},
            },
            {
                "task_key": "each",
                "for_each_task": {
                    "inputs": "[1, 2]",
                    "task": {
                        "task_key": "each_item",
                        "condition_task": {"op": "GREATER_THAN", "left": "{{input}}", "right": "1"},
                    },
                },
            },
            nb_task("off", "ingest", disabled=True),
        ],
    )
    runs = tmp_path / "runs"
    options = RunOptions(stubs={"ingest": {"rows": 3}})
    first = run_job(path, runs_dir=runs, options=options)
    repair_run(first["run_id"], tasks=["check"], runs_dir=runs, options=options)
    store = open_store(runs)
    run = store.read_run(first["run_id"])
    found = _undeclared(run, RunRecord, "run")
    for key, info in run["tasks"].items():
        found += _undeclared(info, TaskInfo, f"run.tasks.{key}")
        record = store.read_task(first["run_id"], key)
        assert record is not None
        found += _undeclared(record, TaskRecord, key)
    assert found == []
    check = store.read_task(first["run_id"], "check")
    assert check is not None and check["outcome"] == "false" and len(check["history"]) == 1
    each = store.read_task(first["run_id"], "each")
    assert each is not None and [it["outcome"] for it in each["iterations"] or []] == ["false", "true"]
    ingest = store.read_task(first["run_id"], "ingest")
    assert ingest is not None and ingest["stubbed"] is True
